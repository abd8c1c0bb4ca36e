"""The connection forms Airflow's UI draws for ``vbot`` and ``sqlalchemy_url``: every extra the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import vbot_provider.hooks.sql
from vbot_provider.conn_fields import VBOT_EXTRAS, default_extras, extras_problems

REPO = Path(__file__).resolve().parents[2]
EXTRA_READ = re.compile(r"""(?:extra|extra_dejson)\.get\("([a-z_]+)"|option\("([a-z_]+)\"""")


@pytest.fixture(scope="module")
def forms() -> dict[str, dict]:
    """What the UI receives from /ui/connections/hook_meta, per connection type."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    return {meta.connection_type: meta.model_dump() for meta in HookMetaService.hook_meta_data()}


def _extras_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in [*(REPO / "plugins").rglob("*.py"), *(REPO / "dags").glob("*.py")]:
        if path.name == "notifiers.py":  # the alert channels read their own (http) connections' extras
            continue
        for match in EXTRA_READ.finditer(path.read_text(encoding="utf-8")):
            names.add(match.group(1) or match.group(2))
    return names - {"sqlalchemy_url"}  # the database connections' one extra, declared by their own type


def test_every_extra_the_code_reads_is_a_declared_form_field(forms) -> None:
    read = _extras_read_by_the_code()
    assert read >= {"vbot_id", "group_code", "max_retries", "history_backfill"}  # the scan finds them
    fields = forms["vbot"]["extra_fields"]
    assert read - set(fields) == set()
    assert [f.name for f in VBOT_EXTRAS] == list(fields)


def test_each_field_has_a_label_a_help_text_and_its_default(forms) -> None:
    fields = forms["vbot"]["extra_fields"]
    for extra in VBOT_EXTRAS:
        field = fields[extra.name]
        assert field["schema"]["title"] == extra.label
        assert field["description"] and len(field["description"]) > 30, extra.name
        if extra.default is not None:
            assert field["value"] == field["schema"]["default"] == extra.default
            assert f"Default {'off' if extra.default is False else extra.default}" in field["description"]


def test_the_hook_reads_the_defaults_the_form_shows() -> None:
    from vbot_provider.hooks import vbot

    shown = {f.name: f.default for f in VBOT_EXTRAS}
    assert (vbot.DEFAULT_MAX_RETRIES, vbot.DEFAULT_BACKOFF_SECONDS, vbot.DEFAULT_BACKOFF_MAX_SECONDS,
            vbot.DEFAULT_TIMEOUT_SECONDS, vbot.DEFAULT_CONNECT_TIMEOUT_SECONDS, vbot.DEFAULT_TOKEN_MARGIN_SECONDS) == (
        shown["max_retries"], shown["backoff_seconds"], shown["backoff_max_seconds"], shown["timeout_seconds"],
        shown["connect_timeout_seconds"], shown["renew_margin_seconds"])


def test_the_database_type_has_a_url_field_and_a_test(forms) -> None:
    form = forms["sqlalchemy_url"]
    assert form["hook_class_name"] == "vbot_provider.hooks.sql.SqlAlchemyUrlHook"
    assert form["extra_fields"]["sqlalchemy_url"]["schema"]["title"] == "SQLAlchemy URL"
    assert form["standard_fields"]["host"]["hidden"] and not form["standard_fields"]["password"]["hidden"]
    assert "test_connection" in vars(vbot_provider.hooks.sql.SqlAlchemyUrlHook)


@pytest.mark.parametrize(("extra", "problems"), [
    ({"vbot_id": "1", "group_code": "G"}, []),
    (default_extras() | {"vbot_id": "1", "group_code": "G"}, []),
    ({}, ["extra 'vbot_id' (VBot ID) is missing", "extra 'group_code' (Group code) is missing"]),
    ({"vbot_id": "1", "group_code": "G", "max_retries": 2.5},
     ["extra 'max_retries' (Retries of transient errors) must be a whole number, not 2.5"]),
    ({"vbot_id": "1", "group_code": "G", "timeout_seconds": "soon"},
     ["extra 'timeout_seconds' (Read timeout (seconds)) must be a number, not 'soon'"]),
    ({"vbot_id": "1", "group_code": "G", "backoff_seconds": -1},
     ["extra 'backoff_seconds' (First retry wait (seconds)) must be at least 0, not -1"]),
    ({"vbot_id": "1", "group_code": "G", "history_backfill": "yes"},
     ["extra 'history_backfill' (Backfill from call history) must be true or false, not 'yes'"]),
])
def test_extras_are_checked_against_the_form(extra, problems) -> None:
    assert extras_problems(extra) == problems


def test_no_extra_is_masked_as_a_secret_in_the_form(forms) -> None:
    # Airflow shows "***" for any extra whose name looks secret ("token", "password", ...): none may.
    assert [name for name, field in forms["vbot"]["extra_fields"].items() if field["value"] == "***"] == []
