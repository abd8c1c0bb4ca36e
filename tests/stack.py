"""The `make up` stack for tests: started on free ports in a temporary var dir, driven over HTTP only.

Shared by the smoke test of the stack itself (``tests/integration/test_local_stack.py``), the
console's API tests and the browser tests (``tests/browser/``); each module (or package) starts one
stack and its tests share it (a start costs a minute or more).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
import sqlalchemy as sa
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPONENTS = ("simulator", "api-server", "scheduler", "dag-processor", "triggerer")


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


T = TypeVar("T")


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


def all_day_configs(target: Path, **changes: Any) -> Path:
    """The shipped campaign configs with the calling window open all day (explicitly relaxed), as the demo does."""
    from vbotflow.campaigns.config import CAMPAIGNS_DIR

    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(CAMPAIGNS_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc.update({"calling_window": {"start": "00:00", "end": "23:59:59"}, "relax_legal_limits": True, **changes})
        (target / path.name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return target


@dataclass
class Stack:
    var_dir: Path
    env: dict[str, str]
    ports: dict[str, int]
    up_output: str = ""
    up_seconds: float = 0.0
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

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
    def db_url(self) -> str:
        """The integration DB of the stack (what its ``vbotflow_db`` connection points at)."""
        return f"sqlite:///{self.var_dir / 'vbotflow.db'}"

    def engine(self) -> sa.engine.Engine:
        from vbotflow.store.db import make_engine

        return make_engine(self.db_url)

    @property
    def admin_password(self) -> str:
        return self.password("admin")

    def password(self, user: str = "admin") -> str:
        password_file = self.var_dir / "airflow" / "simple_auth_manager_passwords.json.generated"
        return json.loads(password_file.read_text())[user]

    def token(self, user: str = "admin") -> str:
        """A JWT from ``POST /auth/token`` (the simple auth manager's login), cached per user."""
        if user not in self._tokens:
            answer = requests.post(f"{self.airflow}/auth/token", timeout=30,
                                   json={"username": user, "password": self.password(user)})
            assert answer.status_code in (200, 201), answer.text
            self._tokens[user] = answer.json()["access_token"]
        return self._tokens[user]

    def request(self, method: str, path: str, user: str | None = "admin", **kwargs: Any) -> requests.Response:
        """``path`` on the API server (e.g. ``/vbot-console/api/campaigns``), as ``user`` (None: anonymous)."""
        headers = dict(kwargs.pop("headers", {}))
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return requests.request(method, f"{self.airflow}{path}", headers=headers, timeout=60, **kwargs)

    def api_answer(self, method: str, path: str, user: str = "admin", **kwargs: Any) -> requests.Response:
        """Airflow's REST API (``/api/v2/<path>``), whatever it answers."""
        return self.request(method, f"/api/v2/{path}", user=user, **kwargs)

    def api(self, method: str, path: str, user: str = "admin", **kwargs: Any) -> Any:
        """Airflow's REST API (``/api/v2/<path>``); the answer must be a success."""
        answer = self.api_answer(method, path, user=user, **kwargs)
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text[:500]}"
        return answer.json() if answer.content else None

    def sim(self, path: str) -> Any:
        return requests.get(f"{self.simulator}/_sim/{path}", timeout=10).json()

    def wait_for_dags(self, dag_ids: set[str], timeout: float = 180) -> None:
        def listed() -> bool:
            return dag_ids <= {d["dag_id"] for d in self.api("GET", "dags", params={"limit": 100})["dags"]}

        wait_for(listed, timeout, f"the API to list {sorted(dag_ids)}")

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        """The run's final state (success or failed)."""
        def finished() -> str | None:
            state = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")["state"]
            return state if state in ("success", "failed") else None

        return wait_for(finished, timeout, f"dag run {run_id} of {dag_id}", interval=3)

    def run_dag(self, dag_id: str, conf: Mapping[str, Any], timeout: float = 300) -> tuple[str, str]:
        """Unpause and trigger ``dag_id``; wait for the run to end. Returns (run id, final state)."""
        wait_for(lambda: any(d["dag_id"] == dag_id for d in self.api("GET", "dags", params={"limit": 100})["dags"]),
                 180, f"{dag_id} to be listed")
        self.api("PATCH", f"dags/{dag_id}", json={"is_paused": False})
        run_id = self.api("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf)})[
            "dag_run_id"]
        return run_id, self.wait_for_run(dag_id, run_id, timeout)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """State per task instance: ``task_id``, or ``task_id[map_index]`` for a mapped one."""
        instances = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                             params={"limit": 100})["task_instances"]
        return {t["task_id"] if t["map_index"] < 0 else f"{t['task_id']}[{t['map_index']}]": t["state"]
                for t in instances}

    def log_tails(self, lines: int = 15) -> str:
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                         for log in sorted((self.var_dir / "log").glob("*.log")))


def new_stack(var_dir: Path, **env: str) -> Stack:
    """A stack's settings: free ports, ``var_dir``, a small CRM, no scheduled runs; ``env`` on top."""
    ports = {name: free_port() for name in ("AIRFLOW", "RECEIVER", "SIMULATOR")}
    # The stack must not inherit this test session's Airflow settings (its home, a test DAG bundle).
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VBOTFLOW_"))}
    base.update({f"VBOTFLOW_{name}_PORT": str(port) for name, port in ports.items()})
    base.update(VBOTFLOW_VAR_DIR=str(var_dir), VBOTFLOW_CRM_ROWS="300",
                # No scheduled run: unpausing a campaign DAG would otherwise start today's run, which
                # (max_active_runs=1) could keep a triggered run queued while it waits or retries.
                AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False")
    base.update(env)
    return Stack(var_dir, base, ports)


def start(stack: Stack) -> Stack:
    started = time.monotonic()
    result = stack.make("up")
    stack.up_seconds = time.monotonic() - started
    stack.up_output = result.stdout + result.stderr
    assert result.returncode == 0, f"make up failed:\n{stack.up_output}\n{stack.log_tails()}"
    return stack


def stop(stack: Stack) -> None:
    """``make down``, then SIGKILL to any process group it left (only if a test failed before it ran)."""
    leftover = stack.pids()
    if leftover:
        stack.make("down", timeout=180)
        for pgid in leftover.values():
            if group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)


@contextmanager
def running_stack(var_dir: Path, **env: str) -> Iterator[Stack]:
    """``make up`` on free ports in ``var_dir``; ``make down`` at the end, whatever happened."""
    stack = new_stack(var_dir, **env)
    try:
        yield start(stack)
    finally:
        stop(stack)
