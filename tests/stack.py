"""The local stack (`make up`) for tests: free ports, a temporary var dir, its REST API and its processes.

Used by the smoke test (``tests/integration/test_local_stack.py``) and the browser tests
(``tests/browser/``): each starts its own stack with ``running_stack`` and talks to it over HTTP only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

REPO = Path(__file__).resolve().parents[1]
COMPONENTS = ("simulator", "api-server", "scheduler", "dag-processor", "triggerer")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def processes_of(var_dir: Path) -> list[int]:
    """Every process whose environment names this var dir: whatever the stack started, children too."""
    marker = f"VBOTFLOW_VAR_DIR={var_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:  # gone meanwhile, or another user's
            continue
    return found


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 2.0) -> T:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Stack:
    var_dir: Path
    env: dict[str, str]
    ports: dict[str, int]
    up_output: str = ""
    up_seconds: float = 0.0
    _token: str | None = field(default=None, repr=False)

    def make(self, target: str, timeout: float = 420) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "-s", target], cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def pids(self) -> dict[str, int]:
        """The pid files: component → pid (also its process group id)."""
        run = self.var_dir / "run"
        return {p.stem: int(p.read_text().split()[0]) for p in run.glob("*.pid")} if run.exists() else {}

    @property
    def airflow(self) -> str:
        return f"http://127.0.0.1:{self.ports['AIRFLOW']}"

    @property
    def simulator(self) -> str:
        return f"http://127.0.0.1:{self.ports['SIMULATOR']}"

    @property
    def admin_password(self) -> str:
        password_file = self.var_dir / "airflow" / "simple_auth_manager_passwords.json.generated"
        return json.loads(password_file.read_text())["admin"]

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """``/api/v2/<path>`` as the admin; fails the test on any answer but 2xx."""
        answer = self.api_answer(method, path, **kwargs)
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text[:500]}"
        return answer.json() if answer.content else None

    def api_answer(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self._token is None:
            answer = requests.post(f"{self.airflow}/auth/token", json={"username": "admin",
                                                                       "password": self.admin_password}, timeout=30)
            assert answer.status_code in (200, 201), answer.text
            self._token = answer.json()["access_token"]
        return requests.request(method, f"{self.airflow}/api/v2/{path}", timeout=60,
                                headers={"Authorization": f"Bearer {self._token}"}, **kwargs)

    def sim(self, path: str) -> Any:
        return requests.get(f"{self.simulator}/_sim/{path}", timeout=10).json()

    def wait_for_dags(self, dag_ids: set[str], timeout: float = 180) -> None:
        def listed() -> bool:
            return dag_ids <= {d["dag_id"] for d in self.api("GET", "dags", params={"limit": 100})["dags"]}

        wait_for(listed, timeout, f"the API to list {sorted(dag_ids)}")

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> str:
        """The run's final state (success or failed)."""
        def finished() -> str | None:
            state = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")["state"]
            return state if state in ("success", "failed") else None

        return wait_for(finished, timeout, f"dag run {dag_id} {run_id}", interval=3)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        instances = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {t["task_id"] if t["map_index"] < 0 else f"{t['task_id']}[{t['map_index']}]": t["state"]
                for t in instances}

    def log_tails(self, lines: int = 15) -> str:
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                         for log in sorted((self.var_dir / "log").glob("*.log")))


@contextmanager
def running_stack(var_dir: Path, **settings: str) -> Iterator[Stack]:
    """``make up`` on free ports in ``var_dir``; stops it (by force if need be) when the block ends.

    ``settings`` are extra environment variables (e.g. ``AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE``).
    """
    ports = {name: free_port() for name in ("AIRFLOW", "RECEIVER", "SIMULATOR")}
    # The stack must not inherit this test session's Airflow settings (its home, a test DAG bundle).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VBOTFLOW_"))}
    env.update({f"VBOTFLOW_{name}_PORT": str(port) for name, port in ports.items()})
    env.update(VBOTFLOW_VAR_DIR=str(var_dir), VBOTFLOW_CRM_ROWS="300", **settings)
    stack = Stack(var_dir, env, ports)
    started = time.monotonic()
    result = stack.make("up")
    stack.up_seconds = time.monotonic() - started
    stack.up_output = result.stdout + result.stderr
    try:
        assert result.returncode == 0, f"make up failed:\n{stack.up_output}\n{stack.log_tails()}"
        yield stack
    finally:
        leftover = stack.pids()
        if leftover:  # still up (a test failed, or the caller does not stop it itself): stop it
            stack.make("down", timeout=180)
            for pgid in leftover.values():
                if group_alive(pgid):
                    os.killpg(pgid, signal.SIGKILL)
