"""`make demo`: the whole product on this machine, end to end, in about a minute.

A fresh demo folder (``VBOTFLOW_VAR_DIR``, default ``var/demo``) with SQLite for Airflow's metadata,
the integration DB and a seeded demo CRM; the VBot simulator and the webhook receiver on loopback;
a preview (``vbot_preview``, nothing sent), then every campaign DAG and ``vbot_reconcile``, run for
real; a summary printed and the report written.
Everything it starts is stopped at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from vbotflow_dev.local_run import free_port, quiet, wait_for

REPO = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("VBOTFLOW_VAR_DIR") or REPO / "var" / "demo").resolve()
BIN = Path(sys.executable).parent

# Airflow reads its configuration when imported: point it at the demo folder first.
os.environ.update({
    "VBOTFLOW_VAR_DIR": str(VAR),
    "AIRFLOW_HOME": str(VAR / "airflow"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{VAR / 'airflow' / 'airflow.db'}",
    "VBOTFLOW_CAMPAIGNS_DIR": str(VAR / "campaigns"),
})


def step(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def demo_configs() -> list[str]:
    """The shipped configs with the calling window opened to the whole day, so the demo runs at any hour.

    Production configs keep 08:00–17:00 (Decree 91/2020); relaxing it takes this explicit flag.
    """
    import yaml

    from vbotflow.campaigns.config import CAMPAIGNS_DIR

    target = VAR / "campaigns"
    target.mkdir(parents=True)
    names = []
    for path in sorted(CAMPAIGNS_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc.update({"calling_window": {"start": "00:00", "end": "23:59:59"}, "relax_legal_limits": True})
        (target / path.name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        names.append(doc["name"])
    return names


def main() -> int:
    if VAR.exists():
        shutil.rmtree(VAR)
    (VAR / "airflow").mkdir(parents=True)
    log_path = VAR / "demo.log"
    db_url, crm_url = f"sqlite:///{VAR / 'vbotflow.db'}", f"sqlite:///{VAR / 'crm.db'}"
    token = secrets.token_urlsafe(24)
    processes: list[subprocess.Popen] = []
    try:
        from vbotflow.store import db
        from vbotflow.vbot.timestamps import VIETNAM
        from vbotflow_dev.demo_crm import seed_crm

        today = datetime.now(VIETNAM).date()
        step(f"demo folder {VAR}")
        step("migrating Airflow's metadata DB and the integration DB (SQLite)")
        with log_path.open("a") as log:
            subprocess.run([str(BIN / "airflow"), "db", "migrate"], check=True, stdout=log, stderr=log)
        db.upgrade(db_url)
        seeded = seed_crm(crm_url, rows=1000, seed=42, today=today)
        step(f"demo CRM: {seeded.customers} customers, {seeded.invoices} invoices, {seeded.appointments} appointments")
        names = demo_configs()

        receiver_port, simulator_port = free_port(), free_port()
        env = {**os.environ, "VBOTFLOW_DB_URL": db_url, "VBOTFLOW_WEBHOOK_TOKEN": token,
               "VBOTFLOW_SPOOL_DIR": str(VAR / "spool")}
        with log_path.open("a") as log:
            processes.append(subprocess.Popen([str(BIN / "vbotflow"), "receiver", "--port", str(receiver_port)],
                                              env=env, stdout=log, stderr=log))
            processes.append(subprocess.Popen(
                [str(BIN / "vbotflow"), "simulator", "--port", str(simulator_port), "--seed", "42",
                 "--time-scale", "3600", "--webhook-url", f"http://127.0.0.1:{receiver_port}/webhooks/vbot",
                 "--webhook-header", f"X-Webhook-Token:{token}"], env=env, stdout=log, stderr=log))
        wait_for(f"http://127.0.0.1:{receiver_port}/healthz")
        wait_for(f"http://127.0.0.1:{simulator_port}/_sim/idle")
        step(f"receiver on :{receiver_port}, VBot simulator on :{simulator_port}")

        os.environ.update({
            "AIRFLOW_CONN_VBOTFLOW_DB": json.dumps({"conn_type": "sqlalchemy_url",
                                                    "extra": {"sqlalchemy_url": db_url}}),
            "AIRFLOW_CONN_CRM_DB": json.dumps({"conn_type": "sqlalchemy_url", "extra": {"sqlalchemy_url": crm_url}}),
            "AIRFLOW_CONN_VBOT_DEFAULT": json.dumps({
                "conn_type": "vbot", "host": f"http://127.0.0.1:{simulator_port}", "password": "sim-static-token",
                "extra": {"vbot_id": "44634001", "group_code": "PR2023030714401", "history_backfill": True}}),
        })
        from airflow.dag_processing.dagbag import DagBag

        with quiet(log_path):
            bag = DagBag(dag_folder=str(REPO / "dags"))
        if bag.import_errors:
            raise RuntimeError(f"DAG import errors: {bag.import_errors}")
        # A look first, as a person would: the preview DAG builds a list and sends nothing.
        step(f"previewing {names[0]} with vbot_preview (nothing is sent)")
        with quiet(log_path):
            run = bag.get_dag("vbot_preview").test(run_conf={"config": names[0], "run_date": today.isoformat()})
        if run.state != "success":
            raise RuntimeError(f"vbot_preview ended {run.state}; see {log_path}")
        preview = run.get_task_instance("preview_list").xcom_pull(task_ids="preview_list")
        step(f"  {preview['extracted']} CRM rows, {preview['accepted']} accepted, "
             f"{sum(preview['rejected_by_reason'].values())} rejected; files in {preview['preview_dir']}")
        for name in names:
            step(f"running vbot_campaign__{name} (Airflow task logs: {log_path})")
            with quiet(log_path):
                run = bag.get_dag(f"vbot_campaign__{name}").test(run_conf={"run_date": today.isoformat()})
            step(f"  {run.state}")
            if run.state != "success":
                raise RuntimeError(f"vbot_campaign__{name} ended {run.state}; see {log_path}")

        import requests

        step("VBot is dialling (simulated: a day of calls in seconds)")
        while True:
            totals = requests.get(f"http://127.0.0.1:{simulator_port}/_sim/totals", timeout=10).json()
            planned = sum(t["deliveries"]["planned"] for t in totals.values())
            delivered = sum(t["deliveries"]["delivered"] + t["deliveries"]["failed"] for t in totals.values())
            step(f"  {delivered}/{planned} call results delivered to the receiver")
            if requests.get(f"http://127.0.0.1:{simulator_port}/_sim/idle?wait=3", timeout=10).json()["idle"]:
                break

        step("running vbot_reconcile")
        with quiet(log_path):
            run = bag.get_dag("vbot_reconcile").test(
                run_conf={"date_from": today.isoformat(), "date_to": today.isoformat(), "settle_seconds": 0,
                          "missing_after_hours": 0, "max_reject_rate": 1, "max_missing_rate": 1},
                logical_date=datetime.now(UTC))
        step(f"  {run.state}")
        report = run.get_task_instance("report").xcom_pull(task_ids="report")
        print_summary(db_url, today, report)
        return 0 if run.state == "success" else 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def print_summary(db_url: str, day, report: dict) -> None:  # noqa: ANN001
    from vbotflow_dev.demo_summary import demo_summary

    summary = demo_summary(db_url, day)
    print()
    print(f"Campaigns created: {summary['campaigns']} ({summary['contacts_sent']} contacts sent)")
    print(f"Rejected: {summary['rejected']} {json.dumps(summary['rejected_by_reason'])}")
    print(f"Answered: {summary['answered']} of {summary['contacts_sent']}; call attempts: {summary['attempts']}")
    print(f"Cost: {summary['total_cost']} VND")
    print(f"Report: {report['files']['html']}")
    print("SUMMARY " + json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
