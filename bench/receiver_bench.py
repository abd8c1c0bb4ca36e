"""Benchmark of the webhook receiver: deliveries landed per second on PostgreSQL under gunicorn.

Measured against two baselines served with the same gunicorn config in the same run: a
hand-written landing (``landing_app.py``: one autocommit INSERT of the raw body into a one-column
table), which the targets are set against, and a bare Flask handler (``bare_app.py``: no database
at all), for context. Load comes from wrk (``apt-get install wrk``) with ``autocall.lua``: every
request a distinct auto-call result, so every one is a real INSERT. Two phases per app:

* saturation: ``--connections`` keep-alive connections as fast as they go (rate, p50, p99);
* paced: about ``--paced-rate`` requests/s (each connection pauses between requests), for the
  latency at a steady production-like load.

Targets (issue 17), each printed as met or not met: the receiver's rate at saturation is at least
80 % of the landing's (median of the alternating rounds), and at about 1,000 requests/s its p99 is
under 50 ms — with the default gunicorn configuration (``--workers``/``--threads`` unset).

Loopback only. Prints a Markdown table and writes ``var/bench/receiver.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
TOKEN = "bench-token"
TARGET_SHARE_OF_LANDING = 0.80
TARGET_P99_MS = 50.0
# The paced phase counts only if it came within 5 % of the rate it was paced to, either side.
PACED_RATE_TOLERANCE = 0.05


def near_the_rate(rate: float, target: float) -> bool:
    return abs(rate / target - 1) <= PACED_RATE_TOLERANCE
BARE, LANDING, RECEIVER = "bare Flask handler", "hand-written landing", "receiver"
APPS = {BARE: "bare_app:app", LANDING: "landing_app:app", RECEIVER: "vbotflow.receiver.wsgi:app"}
# The table each app lands in (the bare handler lands nothing).
TABLES = {LANDING: "landing", RECEIVER: "webhook_event"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(app: str, db_url: str, spool: Path, workers: int | None,
                   threads: int | None) -> tuple[subprocess.Popen, str]:
    """``workers``/``threads`` None: gunicorn_conf's defaults, exactly as deployed."""
    port = free_port()
    env = {**os.environ, "VBOTFLOW_DB_URL": db_url, "VBOTFLOW_WEBHOOK_TOKEN": TOKEN,
           "VBOTFLOW_SPOOL_DIR": str(spool), "VBOTFLOW_RECEIVER_BIND": f"127.0.0.1:{port}",
           "PYTHONPATH": str(BENCH)}
    for name in ("VBOTFLOW_RECEIVER_WORKERS", "VBOTFLOW_RECEIVER_THREADS"):
        env.pop(name, None)
    if workers is not None:
        env["VBOTFLOW_RECEIVER_WORKERS"] = str(workers)
    if threads is not None:
        env["VBOTFLOW_RECEIVER_THREADS"] = str(threads)
    process = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", "python:vbotflow.receiver.gunicorn_conf", app],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/healthz", timeout=5)
            return process, url
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"gunicorn for {app} did not come up")


def wrk(url: str, *, run_id: int, seconds: int, connections: int, threads: int, delay_ms: int = 0) -> dict:
    env = {**os.environ, "WRK_TOKEN": TOKEN, "WRK_RUN": str(run_id), "WRK_DELAY_MS": str(delay_ms)}
    done = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                           "-s", str(BENCH / "autocall.lua"), url], capture_output=True, text=True, env=env,
                          check=True)
    match = re.search(r"WRK_JSON (\{.*\})", done.stdout)
    if not match:
        raise RuntimeError(f"no summary from wrk:\n{done.stdout}\n{done.stderr}")
    result = json.loads(match.group(1))
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


class CpuMeter:
    """CPU seconds spent by one app's gunicorn processes and by the PostgreSQL backends serving the bench DB.

    Unlike requests/s, CPU per request hardly moves when other jobs share the machine, so it is the
    steadier measure of what a delivery costs.
    """

    def __init__(self, server: subprocess.Popen, db_name: str, admin: sa.engine.Engine) -> None:
        self.root = psutil.Process(server.pid)
        self.db_name = db_name
        self.admin = admin

    def _processes(self) -> list[psutil.Process]:
        processes = [self.root, *self.root.children(recursive=True)]
        return processes + self.db_processes()

    def db_processes(self) -> list[psutil.Process]:
        processes = []
        with self.admin.connect() as conn:
            pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                {"d": self.db_name}).scalars().all()
        for pid in pids:
            try:
                processes.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                continue
        return processes

    def snapshot(self, db_only: bool = False) -> dict[int, float]:
        times = {}
        for process in self.db_processes() if db_only else self._processes():
            try:
                cpu = process.cpu_times()
                times[process.pid] = cpu.user + cpu.system
            except psutil.NoSuchProcess:
                continue
        return times

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def connections_per_worker(server: subprocess.Popen, url: str) -> list[int]:
    """wrk's connections each gunicorn worker holds, most first. A gthread worker keeps every keep-alive
    connection it accepted: when one worker took most of them, that round measured about one process
    (as before 2026-11-28 night, when ``receiver/worker.py`` began sharing them out)."""
    port = int(url.rsplit(":", 1)[1])
    return sorted((sum(1 for c in worker.net_connections(kind="tcp")
                       if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)
                   for worker in psutil.Process(server.pid).children()), reverse=True)


def count_rows(db_url: str, label: str) -> int | None:
    """Rows in the table ``label`` lands in (None for the bare handler, which lands nothing)."""
    if label not in TABLES:
        return None
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        count = conn.execute(sa.text(f"SELECT count(*) FROM {TABLES[label]}")).scalar_one()
    engine.dispose()
    return count


def _worker_class() -> str:
    from vbotflow.receiver import gunicorn_conf

    return gunicorn_conf.worker_class


WORKER_CLASS = _worker_class()


def default_config() -> tuple[int, int]:
    """gunicorn_conf's workers and threads when no ``VBOTFLOW_RECEIVER_*`` variable overrides them."""
    saved = {name: os.environ.pop(name, None) for name in ("VBOTFLOW_RECEIVER_WORKERS", "VBOTFLOW_RECEIVER_THREADS")}
    try:
        import importlib

        from vbotflow.receiver import gunicorn_conf

        conf = importlib.reload(gunicorn_conf)
        return conf.workers, conf.threads
    finally:
        os.environ.update({name: value for name, value in saved.items() if value is not None})


def verdict(met: bool) -> str:
    return "met" if met else "not met"


def machine() -> dict:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = found.group(1).strip() if found else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"MemTotal:\s*(\d+) kB", meminfo.read_text())
        memory = f"{int(found.group(1)) / 1024 / 1024:.1f} GiB" if found else memory
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory": memory, "os": platform.platform(),
            "python": platform.python_version()}


def paced(url: str, run_id: int, args: argparse.Namespace) -> dict:
    """About ``--paced-rate`` requests/s: wrk has no rate option, so each connection pauses between
    requests; a short calibration run measures the latency the pause must leave room for."""
    connections = args.paced_connections
    delay_ms = round(connections * 1000 / args.paced_rate)

    def repaced(delay_ms: int, rate: float) -> int:
        """The pause that leaves room for the latency a run at ``rate`` showed."""
        latency_ms = max(0.0, connections * 1000 / rate - delay_ms)
        return max(0, round(connections * 1000 / args.paced_rate - latency_ms))

    for _ in range(5):  # short probes until one comes near the rate: the latency depends on the load itself
        probe = wrk(url, run_id=run_id, seconds=3, connections=connections, threads=args.wrk_threads,
                    delay_ms=delay_ms)
        if abs(probe["rate"] / args.paced_rate - 1) <= 0.02:
            break
        delay_ms = repaced(delay_ms, probe["rate"])
    for attempt in range(3):  # a measured run off the rate is paced again from its own figures
        result = wrk(url, run_id=run_id + 1 + attempt, seconds=args.seconds, connections=connections,
                     threads=args.wrk_threads, delay_ms=delay_ms)
        result.update(delay_ms=delay_ms, measured_runs=attempt + 1)
        if near_the_rate(result["rate"], args.paced_rate) or (delay_ms == 0 and result["rate"] < args.paced_rate):
            break
        delay_ms = repaced(delay_ms, result["rate"])
    return result


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("VBOTFLOW_BENCH_PG_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured wrk run")
    parser.add_argument("--rounds", type=int, default=5,
                        help="saturation runs per app, the apps alternating (which worker gets which "
                             "connection is luck: see connections_per_worker)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (every app; default: gunicorn_conf's default)")
    parser.add_argument("--threads", type=int, default=None,
                        help="gunicorn threads per worker (every app; default: gunicorn_conf's default)")
    parser.add_argument("--paced-rate", type=int, default=1000, help="target requests/s of the paced phase")
    parser.add_argument("--paced-connections", type=int, default=40)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2

    from vbotflow.store import db

    name = f"{os.environ.get('VBOTFLOW_BENCH_DB_PREFIX', 'vbotflow_bench')}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        pg_version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        sync_commit = conn.execute(sa.text("SHOW synchronous_commit")).scalar_one()
    db_url = sa.engine.make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    apps = APPS
    default_workers, default_threads = default_config()
    workers = args.workers if args.workers is not None else default_workers
    threads = args.threads if args.threads is not None else default_threads
    is_default = (workers, threads) == (default_workers, default_threads)
    results: dict = {"machine": machine(), "postgresql": pg_version, "synchronous_commit": sync_commit,
                     "loadavg_before": Path("/proc/loadavg").read_text().strip(),
                     "gunicorn": {"workers": workers, "threads": threads, "worker_class": WORKER_CLASS,
                                  "default_config": is_default},
                     "wrk": {"threads": args.wrk_threads, "connections": args.connections, "seconds": args.seconds},
                     "saturation": {label: [] for label in apps}, "paced": {}}
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    try:
        db.upgrade(db_url)
        landing = sa.create_engine(db_url)
        with landing.begin() as conn:
            conn.execute(sa.text("CREATE TABLE landing (body jsonb NOT NULL)"))
        landing.dispose()
        with tempfile.TemporaryDirectory() as spool:
            for label, app in apps.items():
                servers[label] = start_gunicorn(app, db_url, Path(spool), args.workers, args.threads)
            run_id = 0
            for _, url in servers.values():  # warm up: imports, pools, prepared statements
                run_id += 1
                wrk(url, run_id=run_id, seconds=3, connections=args.connections, threads=args.wrk_threads)
            # Alternate the apps, so a noisy neighbour on the machine weighs on both alike.
            meters = {label: CpuMeter(process, name, admin) for label, (process, _) in servers.items()}
            for _ in range(args.rounds):
                for label, (process, url) in servers.items():
                    run_id += 1
                    before = count_rows(db_url, label)
                    cpu_before, db_before = meters[label].snapshot(), meters[label].snapshot(db_only=True)
                    spread: list[list[int]] = []
                    look = threading.Timer(args.seconds / 2, lambda found=spread, p=process, u=url: found.append(
                        connections_per_worker(p, u)))  # half-way through the run
                    look.start()
                    run = wrk(url, run_id=run_id, seconds=args.seconds, connections=args.connections,
                              threads=args.wrk_threads)
                    look.join()
                    run["connections_per_worker"] = spread[0] if spread else None
                    cpu = CpuMeter.spent(cpu_before, meters[label].snapshot())
                    db_cpu = CpuMeter.spent(db_before, meters[label].snapshot(db_only=True))
                    run["cpu_ms_per_request"] = cpu * 1000 / max(1, run["requests"])
                    run["db_cpu_ms_per_request"] = db_cpu * 1000 / max(1, run["requests"])
                    after = count_rows(db_url, label)
                    run["rows_stored"] = None if after is None else after - before
                    results["saturation"][label].append(run)
            for label, (_, url) in servers.items():
                run_id += 4  # the probes' run, then up to three measured ones
                before = count_rows(db_url, label)
                results["paced"][label] = paced(url, run_id, args)
                after = count_rows(db_url, label)
                results["paced"][label]["rows_stored_incl_probes"] = None if after is None else after - before
            results["spool_left"] = len(list(Path(spool).glob("*.json")))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    results["loadavg_after"] = Path("/proc/loadavg").read_text().strip()
    receiver_runs = results["saturation"][RECEIVER]
    for baseline in (LANDING, BARE):
        pairs = list(zip(results["saturation"][baseline], receiver_runs, strict=True))
        shares = [receiver["rate"] / base["rate"] for base, receiver in pairs]
        cpu_shares = [base["cpu_ms_per_request"] / receiver["cpu_ms_per_request"] for base, receiver in pairs]
        results[f"receiver_share_of_{TABLES.get(baseline, 'bare')}"] = {
            "per_round": shares, "median": median(shares), "by_cpu_per_request": cpu_shares,
            "by_cpu_median": median(cpu_shares)}
    share = results["receiver_share_of_landing"]["median"]
    paced_receiver = results["paced"][RECEIVER]
    paced_reached = near_the_rate(paced_receiver["rate"], args.paced_rate)
    acknowledged = [r["requests"] - r["non_2xx"] for r in receiver_runs]
    # Requests still in flight when wrk stops are stored but not counted: rows may exceed answers, never fall short.
    lost = sum(max(0, a - r["rows_stored"]) for a, r in zip(acknowledged, receiver_runs, strict=True))
    results["targets"] = {
        "share_of_landing": {"target": TARGET_SHARE_OF_LANDING, "median": share,
                             "met": share >= TARGET_SHARE_OF_LANDING and is_default},
        "paced_p99_ms": {"target": TARGET_P99_MS, "p99_ms": paced_receiver["p99_us"] / 1000,
                         "rate": paced_receiver["rate"], "rate_reached": paced_reached,
                         "met": paced_receiver["p99_us"] / 1000 < TARGET_P99_MS and paced_reached and is_default},
        "acknowledged_not_stored": lost,
    }
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "receiver.json").write_text(json.dumps(results, indent=2))

    print(f"machine: {results['machine']}; PostgreSQL {pg_version} (synchronous_commit={sync_commit})")
    print(f"load average before: {results['loadavg_before']}; after: {results['loadavg_after']}")
    print(f"gunicorn {WORKER_CLASS} {workers} workers x {threads} threads "
          f"({'the default configuration' if is_default else 'NOT the default configuration'}; same for every app); "
          f"wrk {args.wrk_threads} threads, {args.seconds} s per run\n")
    print("| app | phase | connections (per worker) | requests/s | p50 ms | p90 ms | p99 ms | errors | rows stored "
          "| CPU ms/request (of which PostgreSQL) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label in apps:
        rows = [(f"saturation, round {n + 1}", args.connections, r) for n, r in enumerate(results["saturation"][label])]
        rows.append((f"paced to ~{args.paced_rate}/s", args.paced_connections, results["paced"][label]))
        for phase, connections, r in rows:
            if r.get("connections_per_worker"):
                connections = f"{connections} ({'/'.join(map(str, r['connections_per_worker']))})"
            stored = r.get("rows_stored")
            cpu = (f"{r['cpu_ms_per_request']:.2f} ({r['db_cpu_ms_per_request']:.2f})"
                   if "cpu_ms_per_request" in r else "")
            print(f"| {label} | {phase} | {connections} | {r['rate']:.0f} | {r['p50_us'] / 1000:.1f} | "
                  f"{r['p90_us'] / 1000:.1f} | {r['p99_us'] / 1000:.1f} | {r['non_2xx'] + r['socket_errors']} | "
                  f"{'' if stored is None else stored} | {cpu} |")
    print()
    for baseline, key in ((LANDING, "receiver_share_of_landing"), (BARE, "receiver_share_of_bare")):
        found = results[key]
        print(f"receiver / {baseline} at saturation, per round: {', '.join(f'{s:.0%}' for s in found['per_round'])}; "
              f"median {found['median']:.0%}; by CPU per request (gunicorn + its PostgreSQL backends): "
              f"median {found['by_cpu_median']:.0%}")
    print(f"receiver: acknowledged but not stored: {lost}; spool files left: {results['spool_left']}")
    targets = results["targets"]
    note = "" if is_default else " (not the default configuration: a target counts only with it)"
    print(f"\ntarget: receiver >= {TARGET_SHARE_OF_LANDING:.0%} of the hand-written landing's rate: "
          f"median {share:.0%} -> {verdict(targets['share_of_landing']['met'])}{note}")
    print(f"target: receiver p99 < {TARGET_P99_MS:g} ms at ~{args.paced_rate}/s: p99 "
          f"{paced_receiver['p99_us'] / 1000:.1f} ms at {paced_receiver['rate']:.0f}/s"
          f"{'' if paced_reached else f' (not within {PACED_RATE_TOLERANCE:.0%} of the rate)'} -> "
          f"{verdict(targets['paced_p99_ms']['met'])}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
