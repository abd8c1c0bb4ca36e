"""The UI's default time zone: one script in the page's head, and nothing else touched."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.testclient import TestClient

from vbot_provider.ui_timezone import ENV_VAR, DefaultUITimezone, configured_timezone, default_script

PAGE = "<!doctype html><html><head><title>Airflow</title></head><body><div id=root></div></body></html>"


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()

    @app.get("/api/v2/version")
    def version() -> JSONResponse:
        return JSONResponse({"version": "3.3.2", "html": "<head>"})

    @app.get("/{path:path}")
    def page(path: str) -> HTMLResponse:
        return HTMLResponse(PAGE)

    app.add_middleware(DefaultUITimezone, timezone="Asia/Ho_Chi_Minh")
    return TestClient(app)


def test_the_page_gets_the_script_first_in_its_head(client) -> None:
    for path in ("/", "/dags/vbot_preview", "/connections"):
        answer = client.get(path)
        script = default_script("Asia/Ho_Chi_Minh").decode()
        assert answer.text == PAGE.replace("<head>", "<head>" + script)
        assert int(answer.headers["content-length"]) == len(answer.content)


def test_the_script_only_fills_an_empty_choice() -> None:
    script = default_script("Asia/Ho_Chi_Minh").decode()
    # The UI stores its choice JSON-encoded under "timezone"; a stored choice is never overwritten.
    assert 'if(!localStorage.getItem("timezone"))' in script
    assert f'localStorage.setItem("timezone",{json.dumps(json.dumps("Asia/Ho_Chi_Minh"))})' in script


def test_api_answers_are_left_alone(client) -> None:
    answer = client.get("/api/v2/version")
    assert answer.json() == {"version": "3.3.2", "html": "<head>"}


def test_the_zone_must_be_a_real_one(monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, "Asia/Saigon_City")
    with pytest.raises(ValueError, match="VBOTFLOW_UI_TIMEZONE='Asia/Saigon_City' is not an IANA time zone"):
        configured_timezone()
    monkeypatch.setenv(ENV_VAR, "")
    assert configured_timezone() is None
    monkeypatch.setenv(ENV_VAR, "Asia/Ho_Chi_Minh")
    assert configured_timezone() == "Asia/Ho_Chi_Minh"


def test_airflow_loads_the_plugin_from_the_installed_package() -> None:
    from importlib.metadata import entry_points

    (plugin,) = [ep for ep in entry_points(group="airflow.plugins") if ep.name == "vbotflow_ui"]
    assert plugin.load().name == "vbotflow_ui"
