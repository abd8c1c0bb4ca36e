"""The whole loop on the distributed stack (`make up EXECUTOR=celery`): docker-compose's topology as processes.

Airflow on PostgreSQL with the CeleryExecutor (Redis broker with a password, results in PostgreSQL)
and two Celery workers; the integration DB on PostgreSQL; two receivers behind nginx; the CRM on
MariaDB; the simulator as VBot. The tests of this module share one stack and run in file order:
preview, a real send of both demo configs, the deliveries, reconciliation; then faults — the
calling window deferred to the triggerer and back, a worker killed (``kill -9``) during a create,
a receiver stopped while that campaign's deliveries come in, the killed create's retry on the
other worker (it sends nothing: the outbox row says the POST may have reached VBot) and the
person's verdict that resolves it.

Needs PostgreSQL (127.0.0.1:5432), MariaDB (127.0.0.1:3306), ``redis-server``, ``nginx`` and ``psql``.
Without one of them the module skips, except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import yaml

from tests.conftest import IN_CI, MARIADB_ADMIN_URL, PG_ADMIN_URL, _reachable
from tests.stack import Stack, all_day_configs, free_port, group_alive, new_stack, start, stop, wait_for
from vbotflow.store.db import make_engine
from vbotflow.store.tables import call_attempt, campaign_run, contact_outcome, kpi_daily, webhook_event
from vbotflow.vbot.timestamps import VIETNAM

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # per test; the kill waits for a retry

CONFIGS = ("payment_reminder", "appointment_confirmation")
DRILL = "drill"  # a third config, written during the test: the faults' campaign
WORKERS = {"worker-1", "worker-2"}
CHUNK = 20  # phones per campaign: several chunks per config over 300 demo customers
CREATE_LATENCY = 3  # seconds the simulator takes to answer a create: room for a kill during the POST
COMPONENTS = ("redis", "simulator", "receiver-proxy", "receiver-1", "receiver-2", "api-server", "scheduler",
              "dag-processor", "triggerer", "worker-1", "worker-2")

state: dict[str, Any] = {}  # what a later test of this module needs from an earlier one


def _missing_prerequisites() -> list[str]:
    missing = [tool for tool in ("psql", "redis-server") if shutil.which(tool) is None]
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        missing.append("nginx (apt-get install -y nginx-light)")
    for name, url in (("PostgreSQL", PG_ADMIN_URL), ("MariaDB", MARIADB_ADMIN_URL)):
        if problem := _reachable(url):
            missing.append(f"{name} at {url}: {problem}")
    return missing


def _drop_databases(prefix: str, crm_url: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for suffix in ("airflow", "vbotflow"):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{prefix}_{suffix}" WITH (FORCE)'))
        conn.execute(sa.text(f'DROP ROLE IF EXISTS "{prefix}_vbotflow"'))
    admin.dispose()
    mariadb = sa.create_engine(MARIADB_ADMIN_URL)
    with mariadb.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{sa.engine.make_url(crm_url).database}`"))
    mariadb.dispose()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if missing := _missing_prerequisites():
        message = "the distributed stack needs " + "; ".join(missing)
        if IN_CI:
            pytest.fail(message + " (CI=true: the distributed test must run, not skip)", pytrace=False)
        pytest.skip(message)
    var_dir = tmp_path_factory.mktemp("distributed-var")
    prefix = f"distributed_{uuid.uuid4().hex[:8]}"
    pg = sa.engine.make_url(PG_ADMIN_URL)
    crm_url = sa.engine.make_url(MARIADB_ADMIN_URL).set(database=f"{prefix}_crm", query={"charset": "utf8mb4"})
    campaigns_dir = all_day_configs(var_dir.parent / f"{var_dir.name}-campaigns", max_phones_per_campaign=CHUNK)
    up = new_stack(
        var_dir, EXECUTOR="celery", VBOTFLOW_DB_PREFIX=prefix,
        VBOTFLOW_PG_HOST=pg.host or "127.0.0.1", VBOTFLOW_PG_PORT=str(pg.port or 5432),
        VBOTFLOW_PG_USER=pg.username or "postgres",
        VBOTFLOW_CRM_URL=crm_url.render_as_string(hide_password=False),
        VBOTFLOW_REDIS_PORT=str(free_port()), VBOTFLOW_RECEIVER_PORTS=f"{free_port()} {free_port()}",
        VBOTFLOW_CAMPAIGNS_DIR=str(campaigns_dir),
        VBOTFLOW_SIMULATOR_ARGS=f"--latency-seconds {CREATE_LATENCY}",
        # A killed worker's task is found without a heartbeat after 20 s instead of 5 minutes.
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="20",
        # The drill's config, written mid-test, is listed within seconds.
        AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="5",
    )
    state.update(prefix=prefix, campaigns_dir=campaigns_dir)
    try:
        yield start(up)
    finally:
        try:
            stop(up)
        finally:
            _drop_databases(prefix, crm_url.render_as_string(hide_password=False))


@pytest.fixture(scope="module")
def db(stack: Stack) -> Iterator[sa.engine.Engine]:
    """The integration database, as the receivers and tasks reach it (the stack's own role)."""
    password = (stack.var_dir / "secrets" / "vbotflow_db_password").read_text().strip()
    pg = sa.engine.make_url(PG_ADMIN_URL)
    url = pg.set(username=f"{state['prefix']}_vbotflow", password=password, database=f"{state['prefix']}_vbotflow")
    engine = make_engine(url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()


def _today() -> str:
    return datetime.now(VIETNAM).date().isoformat()


def _trigger(stack: Stack, dag_id: str, conf: dict[str, Any]) -> str:
    stack.wait_for_dags({dag_id}, timeout=120)
    stack.api("PATCH", f"dags/{dag_id}", json={"is_paused": False})
    return stack.api("POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})["dag_run_id"]


def _instances(stack: Stack, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    return stack.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})["task_instances"]


def _tries(stack: Stack, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
    path = f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
    path += f"/{map_index}/tries" if map_index >= 0 else "/tries"
    return sorted(stack.api("GET", path)["task_instances"], key=lambda t: t["try_number"])


def _creates_by_name(stack: Stack) -> Counter[str]:
    """The simulator's record of create requests it acted on (a campaign made), by campaign name."""
    return Counter(c["body"]["name"] for c in stack.sim("creates")
                   if isinstance(c.get("answer"), dict) and c["answer"].get("error") == 0)


def _deliveries_received(stack: Stack, receiver: str) -> int:
    """Webhook POSTs a receiver answered, from its access log."""
    log = stack.var_dir / "log" / f"{receiver}.log"
    return sum(1 for line in log.read_text(errors="replace").splitlines() if '"POST /webhooks/vbot' in line)


def _sim_idle(stack: Stack) -> None:
    assert requests.get(f"{stack.simulator}/_sim/idle", params={"wait": 240}, timeout=250).json()["idle"], \
        stack.log_tails()


def _landed_everything(stack: Stack, db: sa.engine.Engine) -> int:
    """Every delivery the simulator saw acknowledged is one stored event (spooled ones once drained)."""
    deliveries = stack.sim("deliveries")
    assert {d["state"] for d in deliveries} == {"delivered"}, Counter(d["state"] for d in deliveries)

    def stored() -> int:
        with db.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(webhook_event)
                                .where(webhook_event.c.kind == "autocall")).scalar_one()

    wait_for(lambda: stored() >= len(deliveries), 60, f"{len(deliveries)} stored events", 1)
    assert stored() == len(deliveries) > 0  # once each: the simulator sent no duplicates
    return len(deliveries)


def _rss_by_component(stack: Stack) -> dict[str, int]:
    """Resident memory (MiB) of each component: every process of its group (workers, task runners)."""
    groups = {pgid: name for name, pgid in stack.pids().items()}
    rss: Counter[str] = Counter()
    for proc in Path("/proc").iterdir():
        try:
            fields = (proc / "stat").read_text().rsplit(") ", 1)[1].split()
            name = groups.get(int(fields[2]))  # the process group id
            if name is not None:
                rss[name] += int(next(line.split()[1] for line in (proc / "status").read_text().splitlines()
                                      if line.startswith("VmRSS:")))
        except (OSError, ValueError, IndexError, StopIteration):  # gone meanwhile, a kernel thread, not a pid
            continue
    return {name: kib // 1024 for name, kib in sorted(rss.items())}


def test_make_up_celery_starts_the_compose_topology(stack: Stack) -> None:
    assert set(COMPONENTS) <= set(stack.pids()), stack.up_output
    assert "CeleryExecutor: worker-1 worker-2" in stack.up_output
    health = stack.api("GET", "monitor/health")
    assert {health[p]["status"] for p in ("metadatabase", "scheduler", "dag_processor", "triggerer")} == {"healthy"}
    conns = {c["connection_id"]: c for c in stack.api("GET", "connections")["connections"]}
    assert f"postgresql+psycopg://{state['prefix']}_vbotflow@" in conns["vbotflow_db"]["extra"]
    assert f"mysql+pymysql://root@127.0.0.1:3306/{state['prefix']}_crm" in conns["crm_db"]["extra"]
    # Secrets stay in the var dir: not in make up's output (which prints the admin's login, as
    # `make up` does), not in any process's log.
    assert f"user admin, password {(stack.var_dir / 'secrets' / 'admin_password').read_text().strip()}" \
        in stack.up_output
    for secret_file in ("redis_password", "vbotflow_db_password", "admin_password", "fernet_key"):
        secret = (stack.var_dir / "secrets" / secret_file).read_text().strip()
        assert secret_file == "admin_password" or secret not in stack.up_output
        for log in (stack.var_dir / "log").glob("*.log"):
            assert secret not in log.read_text(errors="replace"), f"{secret_file} leaked into {log.name}"


def test_preview_runs_on_a_celery_worker_and_sends_nothing(stack: Stack) -> None:
    state["loop_started"] = time.monotonic()
    run_id = _trigger(stack, "vbot_preview", {"config": "payment_reminder"})
    assert stack.wait_for_run("vbot_preview", run_id) == "success", stack.log_tails()
    [ti] = _instances(stack, "vbot_preview", run_id)
    assert ti["hostname"] in WORKERS
    assert stack.sim("creates") == []


def test_both_configs_send_each_chunk_once_over_both_workers(stack: Stack, db: sa.engine.Engine) -> None:
    runs = {config: _trigger(stack, f"vbot_campaign__{config}", {}) for config in CONFIGS}
    for config, run_id in runs.items():
        assert stack.wait_for_run(f"vbot_campaign__{config}", run_id) == "success", stack.log_tails()
    with db.connect() as conn:
        rows = conn.execute(sa.select(campaign_run)).mappings().all()
    assert {r["config_name"] for r in rows} == set(CONFIGS)
    assert all(r["state"] == "created" for r in rows), [(r["run_key"], r["state"]) for r in rows]
    creates = _creates_by_name(stack)
    assert creates == Counter({r["campaign_name"]: 1 for r in rows})  # exactly one create per chunk
    hosts = Counter(ti["hostname"] for config, run_id in runs.items()
                    for ti in _instances(stack, f"vbot_campaign__{config}", run_id)
                    if ti["task_id"] == "create_campaign")
    assert set(hosts) == WORKERS, hosts  # the chunks were spread over both workers
    state["chunks"] = len(rows)


def test_deliveries_are_split_over_both_receivers_and_land_once(stack: Stack, db: sa.engine.Engine) -> None:
    _sim_idle(stack)
    delivered = _landed_everything(stack, db)
    received = {name: _deliveries_received(stack, name) for name in ("receiver-1", "receiver-2")}
    assert all(received.values()), received
    tries = sum(len(d["tries"]) for d in stack.sim("deliveries"))
    assert sum(received.values()) == tries  # every try reached one receiver, through nginx
    state["attempts"] = delivered


def test_reconciliation_matches_what_the_simulator_did(stack: Stack, db: sa.engine.Engine) -> None:
    conf = {"date_from": _today(), "date_to": _today(), "settle_seconds": 0, "missing_after_hours": 0,
            "max_reject_rate": 1, "max_missing_rate": 1}
    run_id = _trigger(stack, "vbot_reconcile", conf)
    assert stack.wait_for_run("vbot_reconcile", run_id) == "success", stack.log_tails()
    totals = stack.sim("totals")
    with db.connect() as conn:
        attempts = conn.execute(sa.select(sa.func.count()).select_from(call_attempt)).scalar_one()
        kpi = conn.execute(sa.select(sa.func.sum(kpi_daily.c.contacts), sa.func.sum(kpi_daily.c.answered))).one()
        outcomes = dict(conn.execute(sa.select(contact_outcome.c.outcome, sa.func.count())
                                     .group_by(contact_outcome.c.outcome)).all())
    assert attempts == sum(t["attempts"] for t in totals.values())
    assert tuple(kpi) == (sum(t["contacts"] for t in totals.values()),
                          sum(t["contacts_reached"] for t in totals.values()))
    assert outcomes.get("missing", 0) == 0 and outcomes.get("pending", 0) == 0, outcomes
    # Figures for the README's sizing notes (printed, never asserted).
    state["loop_seconds"] = time.monotonic() - state["loop_started"]
    rss = _rss_by_component(stack)
    print(f"\ndistributed loop: make up {stack.up_seconds:.0f} s; preview, send of {state['chunks']} chunks, "
          f"{state['attempts']} deliveries, reconciliation {state['loop_seconds']:.0f} s; "
          f"RSS MiB {rss} (total {sum(rss.values())}); load {Path('/proc/loadavg').read_text().strip()}")


def test_calling_window_defers_to_the_triggerer_and_back(stack: Stack, db: sa.engine.Engine) -> None:
    # A third config whose window opens in a minute: the sensor must wait in the triggerer, not a worker.
    opens = datetime.now(VIETNAM) + timedelta(seconds=75)
    if opens.date() != datetime.now(VIETNAM).date() or opens.time() > datetime.strptime("23:50", "%H:%M").time():
        pytest.fail("the drill's window would cross midnight in Vietnam; run the test at another time")
    doc = yaml.safe_load((state["campaigns_dir"] / "payment_reminder.yaml").read_text(encoding="utf-8"))
    doc.update(name=DRILL, calling_window={"start": opens.strftime("%H:%M:%S"), "end": "23:59:59"},
               suppression={**doc.get("suppression", {}), "frequency_cap_hours": 0},
               recycling={"max_attempts": 10, "retry_after_hours": 0}, max_phones_per_campaign=100,
               task_retries={"count": 2, "delay_seconds": 10})  # the killed create's retry comes 10 s later
    (state["campaigns_dir"] / f"{DRILL}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    dag_id = f"vbot_campaign__{DRILL}"
    run_id = _trigger(stack, dag_id, {"limit": 30})
    state["drill_run"] = run_id

    def sensor() -> dict[str, Any]:
        return next(t for t in _instances(stack, dag_id, run_id) if t["task_id"] == "calling_window")

    # Deferred, and its trigger taken by the triggerer process (the worker's slot is free meanwhile).
    deferred = wait_for(lambda: (ti := sensor())["state"] == "deferred" and ti["triggerer_job"] and ti, 60,
                        "the sensor to defer to the triggerer", 0.5)
    assert datetime.now(VIETNAM) < opens, "the window opened before the sensor ran: no deferral was shown"
    assert deferred["trigger"]["classpath"].endswith("DateTimeTrigger"), deferred["trigger"]
    assert deferred["triggerer_job"]["job_type"] == "TriggererJob", deferred["triggerer_job"]
    done = wait_for(lambda: (ti := sensor())["state"] in ("success", "failed") and ti, 180, "the sensor to end", 2)
    assert done["state"] == "success" and done["hostname"] in WORKERS, done  # resumed on a worker


def test_a_worker_killed_during_a_create_creates_at_most_once(stack: Stack, db: sa.engine.Engine) -> None:
    dag_id, run_id = f"vbot_campaign__{DRILL}", state["drill_run"]

    def drill_state() -> str | None:
        with db.connect() as conn:
            return conn.execute(sa.select(campaign_run.c.state).where(campaign_run.c.config_name == DRILL)).scalar()

    # The outbox row turns `sending` right before the POST; the simulator answers after CREATE_LATENCY s.
    wait_for(lambda: drill_state() == "sending", 120, "the drill's create to be sent", 0.2)
    time.sleep(CREATE_LATENCY / 3)
    [first] = [t for t in _instances(stack, dag_id, run_id) if t["task_id"] == "create_campaign"]
    victim = first["hostname"]
    assert victim in WORKERS and first["state"] == "running", first
    state["receiver_2_before"] = _deliveries_received(stack, "receiver-2")  # the earlier ones all landed
    os.killpg(stack.pids()[victim], signal.SIGKILL)  # the worker, its pool and the task's processes
    state["victim"] = victim

    # The create the POST carried still happens at VBot (the deliveries of its calls start).
    drill_names = wait_for(lambda: [n for n in _creates_by_name(stack) if n.startswith(f"{DRILL}_")], 30,
                           "the simulator to create the drill's campaign", 0.2)
    assert len(drill_names) == 1
    state["drill_name"] = drill_names[0]


def test_a_receiver_stopped_mid_stream_loses_nothing_it_acknowledged(stack: Stack, db: sa.engine.Engine) -> None:
    # The drill campaign's deliveries are coming in: once receiver-2 has acknowledged one of them,
    # stop it (SIGTERM: gunicorn finishes the requests it holds).
    wait_for(lambda: _deliveries_received(stack, "receiver-2") > state["receiver_2_before"], 60,
             "receiver-2 to land one of the drill's deliveries", 0.05)
    pgid = stack.pids()["receiver-2"]
    os.killpg(pgid, signal.SIGTERM)  # it stops listening at once; nginx passes new requests to receiver-1
    at_stop = _deliveries_received(stack, "receiver-1")
    wait_for(lambda: not group_alive(pgid), 60, "receiver-2 to stop", 0.2)
    _sim_idle(stack)
    _landed_everything(stack, db)  # what either receiver acknowledged is stored, once
    assert _deliveries_received(stack, "receiver-1") > at_stop  # the other kept landing


def test_the_killed_create_is_retried_elsewhere_and_never_sent_twice(stack: Stack, db: sa.engine.Engine) -> None:
    dag_id, run_id, victim = f"vbot_campaign__{DRILL}", state["drill_run"], state["victim"]
    # Found without a heartbeat (20 s here), then retried after the drill config's retry delay (10 s).
    assert stack.wait_for_run(dag_id, run_id, timeout=400) in ("success", "failed")
    tries = _tries(stack, dag_id, run_id, "create_campaign", 0)
    assert tries[0]["hostname"] == victim and len(tries) >= 2, tries
    assert tries[-1]["hostname"] in WORKERS - {victim}, tries  # retried on the worker still alive
    with db.connect() as conn:
        row = conn.execute(sa.select(campaign_run).where(campaign_run.c.config_name == DRILL)).mappings().one()
    assert _creates_by_name(stack)[row["campaign_name"]] == 1  # VBot got exactly one create for the chunk
    # The retry found the row `sending` (the POST may have reached VBot) and sent nothing: as designed,
    # the run is left for a person to resolve rather than risk a second campaign.
    assert row["state"] in ("sending", "ambiguous") and tries[-1]["state"] == "failed", (row["state"], tries)

    # The person's verdict: the campaign exists (the simulator's id); the outbox now holds it.
    [campaign] = [c for c in stack.sim("campaigns") if c["name"] == state["drill_name"]]
    env = {**os.environ, "VBOTFLOW_DB_URL": db.url.render_as_string(hide_password=False)}
    subprocess.run([str(Path(sys.executable).parent / "vbotflow"), "campaign", "resolve", row["run_key"],
                    "--created", str(campaign["campaign_id"]), "--by", "test"], env=env, check=True, timeout=60)
    with db.connect() as conn:
        resolved = conn.execute(sa.select(campaign_run)
                                .where(campaign_run.c.run_key == row["run_key"])).mappings().one()
    assert (resolved["state"], resolved["vbot_campaign_id"]) == ("created", campaign["campaign_id"])
    assert _creates_by_name(stack)[state["drill_name"]] == 1
