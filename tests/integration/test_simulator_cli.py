"""``vbotflow simulator`` as a process, run as the demo runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from pytest_httpserver import HTTPServer

from tests.integration.sim_http import GROUP_CODE, VBOT_ID, VIETTEL, VINAPHONE, create_body, sim_get, wait_idle

VBOTFLOW = str(Path(sys.executable).with_name("vbotflow"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(base_url: str, process: subprocess.Popen) -> None:
    for _ in range(200):  # readiness, not a timing assertion: the process imports Flask first
        if process.poll() is not None:
            raise AssertionError(f"the simulator exited: {process.communicate()[1]}")
        try:
            requests.get(f"{base_url}/_sim/idle", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("the simulator did not start")


def test_the_cli_serves_vbot_delivers_to_the_webhook_and_stops_cleanly(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [VBOTFLOW, "simulator", "--port", str(port), "--webhook-url", httpserver.url_for("/hook?token=url-secret"),
         "--seed", "3", "--time-scale", "1000000", "--webhook-header", "X-Webhook-Token: hdr-secret",
         "--log-level", "DEBUG"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _wait_until_up(base_url, process)
        grant = requests.post(f"{base_url}/token", timeout=5,
                              data={"grant_type": "password", "username": "demo", "password": "demo-password"}).json()
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        created = requests.post(f"{base_url}/api/campaign/create", json=create_body([VIETTEL, VINAPHONE]),
                                headers=headers, timeout=5).json()
        wait_idle(base_url)
        history = requests.get(f"{base_url}/api/crm/historycall/getAll", headers=headers, timeout=5,
                               params={"vbot_id": VBOT_ID, "project_code": GROUP_CODE, "phone": VIETTEL}).json()
        totals = sim_get(base_url, "totals")
    finally:
        process.send_signal(signal.SIGTERM)
        _out, logs = process.communicate(timeout=20)

    assert process.returncode == 0, logs
    assert created["status"] == 1 and totals[str(created["data"])]["attempts"] == 2
    deliveries = [json.loads(r.get_data()) for r, _ in httpserver.log]
    assert sorted(d["phone"] for d in deliveries) == sorted([VIETTEL, VINAPHONE])
    assert {r.headers["X-Webhook-Token"] for r, _ in httpserver.log} == {"hdr-secret"}
    assert history["total"] == 1 and history["data"][0]["callee"] == VIETTEL
    assert "VBot simulator at" in logs and "09******78" in logs  # the logs were captured, phones masked
    for secret in (VIETTEL, VINAPHONE, "demo-password", grant["access_token"], grant["refresh_token"], "hdr-secret",
                   "url-secret"):
        assert secret not in logs
