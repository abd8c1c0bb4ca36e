"""vbot_reconcile runs for real (dag.test) on deliveries landed by the real receiver."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from vbotflow.campaigns import outbox
from vbotflow.receiver.app import create_app
from vbotflow.store.db import make_engine
from vbotflow.store.tables import call_attempt, campaign_contact, campaign_run, contact_outcome, kpi_daily, suppression
from vbotflow_dev.demo_crm import crm_metadata, vbot_call_outcome

pytestmark = pytest.mark.airflow
DAY = date(2026, 11, 26)
TOKEN = "reconcile-test-token"
SENT_AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam

# Campaign 501 (payment_reminder, chunk 1): A answered on the 2nd try, B never reached, C a bad number,
# D no result at all. Campaign 502 (chunk 2): E with a status code nobody documented.
CONTACTS = {501: {"A": "0912000001", "B": "0912000002", "C": "0912000003", "D": "0912000004"},
            502: {"E": "0912000005"}}


def _autocall(campaign: int, phone: str, at: str, status: int, *, seconds: int = 0, postage: float = 0.0,
              service: float = 0.0) -> dict:
    return {"campaign_id": campaign, "create_at": f"11/26/2026 {at}", "hotline": "02473001234", "phone": phone,
            "name": "x", "description": "", "status": status, "time_call": seconds, "postage": postage,
            "service_charge": service, "action_log": "press:1" if status == 200 else "", "event_data": "autocall"}


DELIVERIES = [
    # out of order: A's answer arrives before its no-answer, and twice
    _autocall(501, CONTACTS[501]["A"], "09:30:00", 200, seconds=35, postage=770.10, service=600),
    _autocall(501, CONTACTS[501]["A"], "09:30:00", 200, seconds=35, postage=770.10, service=600),
    _autocall(501, CONTACTS[501]["A"], "09:00:00", 2),
    _autocall(501, CONTACTS[501]["B"], "09:05:00", 3),
    _autocall(501, CONTACTS[501]["B"], "09:40:00", 2),
    _autocall(501, CONTACTS[501]["C"], "09:06:00", 101),
    _autocall(502, CONTACTS[502]["E"], "09:07:00", 999, seconds=12, postage=220.05),
    _autocall(777, "0912999999", "09:08:00", 200, seconds=20, postage=440),  # an orphan: not ours
]


def _seed_campaigns(engine) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for chunk, (campaign, contacts) in enumerate(CONTACTS.items(), start=1):
            spec = outbox.ChunkSpec("payment_reminder", DAY, chunk, 2932, f"payment_reminder_20261126_{chunk}",
                                    len(contacts), "f" * 64)
            conn.execute(campaign_run.insert().values(**{**outbox.new_row(spec, "created", now), "sent_at": SENT_AT,
                                                         "vbot_campaign_id": campaign}))
            conn.execute(campaign_contact.insert(), [
                {"run_key": spec.run_key, "config_name": "payment_reminder", "run_date": DAY,
                 "chunk_number": chunk, "crm_contact_id": crm_id, "phone": phone,
                 "fields_json": json.dumps({"phone": phone}), "created_at": SENT_AT}
                for crm_id, phone in contacts.items()])


def _land(db_url: str, tmp_path, bodies: list[dict]) -> None:
    app = create_app({"DB_URL": db_url, "WEBHOOK_TOKENS": TOKEN, "SPOOL_DIR": str(tmp_path / "spool"), "TESTING": True})
    client = app.test_client()
    for body in bodies:
        answer = client.post("/webhooks/vbot/autocall", json=body, headers={"X-Webhook-Token": TOKEN})
        assert answer.status_code == 200, answer.get_data(as_text=True)


@pytest.fixture
def env(airflow_db, db_url, monkeypatch, tmp_path):
    crm_url = f"sqlite:///{tmp_path / 'crm.db'}"
    crm = make_engine(crm_url)
    crm_metadata.create_all(crm)
    monkeypatch.setenv("AIRFLOW_CONN_VBOTFLOW_DB", json.dumps({"conn_type": "generic",
                                                               "extra": {"sqlalchemy_url": db_url}}))
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", json.dumps({"conn_type": "generic",
                                                          "extra": {"sqlalchemy_url": crm_url}}))
    monkeypatch.setenv("AIRFLOW_CONN_VBOT_DEFAULT", json.dumps({"conn_type": "vbot", "host": "http://127.0.0.1:9",
                                                                "password": "x", "extra": {"vbot_id": "1",
                                                                                           "group_code": "G"}}))
    monkeypatch.setenv("VBOTFLOW_VAR_DIR", str(tmp_path / "var"))
    engine = make_engine(db_url)
    _seed_campaigns(engine)
    yield engine, crm, tmp_path
    engine.dispose()
    crm.dispose()


def _reconcile(**conf):
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import REPO_ROOT

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert bag.import_errors == {}
    conf = {"date_from": DAY.isoformat(), "date_to": DAY.isoformat(), "settle_seconds": 0, "missing_after_hours": 0,
            "max_reject_rate": 1, "max_missing_rate": 1, **conf}
    return bag.get_dag("vbot_reconcile").test(run_conf=conf, logical_date=datetime.now(UTC))


def _outcomes(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(contact_outcome).order_by(contact_outcome.c.crm_contact_id)).mappings().all()
    return {r["crm_contact_id"]: dict(r) for r in rows}


def test_outcomes_money_write_back_and_reruns(env, db_url) -> None:
    engine, crm, tmp_path = env
    _land(db_url, tmp_path, DELIVERIES)

    run = _reconcile()
    assert run.state == "success", {t.task_id: t.state for t in run.get_task_instances()}

    outcomes = _outcomes(engine)
    got = {k: (v["outcome"], v["final_status_code"], v["attempts"], v["talk_seconds"], v["total_cost"],
               bool(v["is_answered"])) for k, v in outcomes.items()}
    assert got == {
        "A": ("answered", 200, 2, 35, Decimal("1370.10"), True),
        "B": ("not_reached", 2, 2, 0, Decimal("0.00"), False),
        "C": ("bad_number", 101, 1, 0, Decimal("0.00"), False),
        "D": ("missing", None, 0, 0, Decimal("0.00"), False),
        "E": ("unknown", 999, 1, 0, Decimal("220.05"), False),
    }
    assert outcomes["A"]["first_called_at"].replace(tzinfo=UTC) == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert outcomes["A"]["postage"] == Decimal("770.10") and outcomes["A"]["service_charge"] == Decimal("600.00")

    with engine.connect() as conn:
        attempts = conn.execute(sa.select(sa.func.count()).select_from(call_attempt)).scalar_one()
        kpi = conn.execute(sa.select(kpi_daily)).mappings().one()
        suppressed = {r.phone: r.reason for r in conn.execute(sa.select(suppression))}
    assert attempts == 7  # 8 deliveries, one a duplicate; the orphan is kept
    assert (kpi["contacts"], kpi["called"], kpi["answered"], kpi["missing"], kpi["bad_number"], kpi["unknown"],
            kpi["not_reached"]) == (5, 4, 1, 1, 1, 1, 1)
    assert kpi["answer_rate"] == Decimal("0.2500") and kpi["total_cost"] == Decimal("1590.15")
    assert suppressed == {CONTACTS[501]["C"]: "bad_number"}

    with crm.connect() as conn:
        written = {r.contact_id: (r.outcome, r.attempts, Decimal(str(r.total_cost)))
                   for r in conn.execute(sa.select(vbot_call_outcome))}
    assert written["A"] == ("answered", 2, Decimal("1370.10")) and len(written) == 5

    report = run.get_task_instance("report").xcom_pull(task_ids="report")
    assert report["orphan_attempts"] == 1 and report["answered"] == 1
    html = (tmp_path / "var" / "reports" / DAY.isoformat() / "report.html").read_text()
    assert "kpi_chart.png" in html and (tmp_path / "var" / "reports" / DAY.isoformat() / "kpi_chart.png").stat().st_size

    # A rerun, and a full re-parse, change nothing.
    before = (_outcomes(engine), written)
    assert _reconcile(full_reparse=True).state == "success"
    after_outcomes = _outcomes(engine)
    assert {k: {c: v[c] for c in v if c != "updated_at"} for k, v in after_outcomes.items()} == \
        {k: {c: v[c] for c in v if c != "updated_at"} for k, v in before[0].items()}
    with crm.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(vbot_call_outcome)).scalar_one() == 5
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(call_attempt)).scalar_one() == 7


def test_a_balance_problem_fails_the_account_check(env, db_url) -> None:
    engine, _crm, tmp_path = env
    _land(db_url, tmp_path, [_autocall(501, CONTACTS[501]["A"], "09:00:00", 103),
                             _autocall(501, CONTACTS[501]["B"], "09:01:00", 103)])
    run = _reconcile()
    states = {t.task_id: t.state for t in run.get_task_instances()}
    assert run.state == "failed"
    assert states["check_account"] == "failed" and states["build_outcomes"] == "success"
    assert _outcomes(engine)["A"]["outcome"] == "account"


def test_missing_rate_above_the_threshold_fails_check_rates(env, db_url) -> None:
    engine, _crm, tmp_path = env
    _land(db_url, tmp_path, DELIVERIES)
    run = _reconcile(max_missing_rate=0.1)  # 1 of 5 missing = 20 %
    states = {t.task_id: t.state for t in run.get_task_instances()}
    assert states["check_rates"] == "failed" and states["check_account"] == "success"


def test_not_yet_missing_within_the_grace_time(env, db_url) -> None:
    engine, _crm, tmp_path = env
    _land(db_url, tmp_path, DELIVERIES)
    hours_since = (datetime.now(UTC) - SENT_AT) / timedelta(hours=1)
    assert _reconcile(missing_after_hours=hours_since + 24).state == "success"
    assert _outcomes(engine)["D"]["outcome"] == "pending"


def _reconcile_at(logical_date: datetime, **conf):
    """A run of ``logical_date`` (due then too) with no dates in its conf. Called again, dag.test
    replaces that run with one of the same run id, logical date and data interval and runs every
    task again: what clearing the run does, run now by the wall clock."""
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import REPO_ROOT

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    conf = {"settle_seconds": 0, "missing_after_hours": 0, "max_reject_rate": 1, "max_missing_rate": 1, **conf}
    return bag.get_dag("vbot_reconcile").test(run_conf=conf, logical_date=logical_date, run_after=logical_date)


def test_clearing_an_old_run_reconciles_that_runs_range(env, db_url) -> None:
    engine, crm, tmp_path = env
    _land(db_url, tmp_path, DELIVERIES)
    old_run = datetime(2026, 11, 26, 10, 5, tzinfo=UTC)  # 17:05 in Vietnam on the campaigns' day

    first = _reconcile_at(old_run)
    assert first.state == "success", {t.task_id: t.state for t in first.get_task_instances()}
    assert first.get_task_instance("date_range").xcom_pull(task_ids="date_range") == {
        "date_from": "2026-11-25", "date_to": "2026-11-26"}
    assert _outcomes(engine)["D"]["outcome"] == "missing"
    assert (tmp_path / "var" / "reports" / "2026-11-25_2026-11-26" / "report.html").exists()

    # D's result arrives late; clearing the old run (weeks later, by the wall clock) reconciles its days again.
    _land(db_url, tmp_path, [_autocall(501, CONTACTS[501]["D"], "16:00:00", 200, seconds=20, postage=440)])
    cleared = _reconcile_at(old_run)
    assert cleared.run_id == first.run_id and cleared.state == "success"
    assert _outcomes(engine)["D"]["outcome"] == "answered"
    with crm.connect() as conn:
        assert conn.execute(sa.select(vbot_call_outcome.c.outcome).where(
            vbot_call_outcome.c.contact_id == "D")).scalar_one() == "answered"


def test_every_task_of_a_run_takes_the_range_from_one_task(env) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import REPO_ROOT

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).get_dag("vbot_reconcile")
    ranged = {"build_outcomes", "backfill_missing", "write_back", "report", "check_account", "check_rates"}
    for task_id in ranged:
        assert "date_range" in dag.get_task(task_id).upstream_task_ids, task_id
    assert dag.get_task("date_range").upstream_task_ids == set()


def test_explicit_dates_still_win_over_the_run(env, db_url) -> None:
    engine, _crm, tmp_path = env
    _land(db_url, tmp_path, DELIVERIES)
    run = _reconcile_at(datetime(2026, 12, 20, 3, 0, tzinfo=UTC), date_from=DAY.isoformat(), date_to=DAY.isoformat())
    assert run.state == "success"
    assert run.get_task_instance("date_range").xcom_pull(task_ids="date_range") == {
        "date_from": "2026-11-26", "date_to": "2026-11-26"}
    assert _outcomes(engine)["A"]["outcome"] == "answered"


def test_a_missing_crm_table_fails_write_back_at_once_with_what_to_do(env, db_url) -> None:
    engine, crm, tmp_path = env
    crm_metadata.drop_all(crm)
    _land(db_url, tmp_path, DELIVERIES)
    run = _reconcile()
    (ti,) = [t for t in run.get_task_instances() if t.task_id == "write_back"]
    assert run.state == "failed" and ti.state == "failed"
    assert ti.try_number == 1  # no retries two minutes apart: a missing table stays missing
    states = {t.task_id: t.state for t in run.get_task_instances()}
    assert states["report"] == "success" and states["build_outcomes"] == "success"


def test_an_account_alert_names_the_report_and_one_broken_channel_silences_no_other(env, db_url, monkeypatch,
                                                                                   loopback_http) -> None:
    import logging

    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.INFO)
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(f"{record.levelname} {record.getMessage()}")

    kept = Keep()

    engine, _crm, tmp_path = env
    loopback_http.clear()
    loopback_http.expect_request("/slack/T1/B1/secretpath", method="POST").respond_with_data("no", status=500)
    loopback_http.expect_request("/alerts", method="POST").respond_with_json({})
    base = loopback_http.url_for("/").rstrip("/")
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps({"conn_type": "slackwebhook", "host": f"{base}/slack",
                                                                "password": "T1/B1/secretpath"}))
    monkeypatch.setenv("AIRFLOW_CONN_ALERTS_WEBHOOK", json.dumps({"conn_type": "http", "host": f"{base}/alerts"}))
    monkeypatch.setenv("AIRFLOW_VAR_VBOTFLOW_ALERT_TARGETS", json.dumps([
        {"type": "slack", "conn_id": "slack_alerts"}, {"type": "webhook", "conn_id": "alerts_webhook"}]))
    _land(db_url, tmp_path, [_autocall(501, CONTACTS[501]["A"], "09:00:00", 103)])

    logging.getLogger("vbotflow.alerts").addHandler(kept)  # what the task log gets, whoever formats it
    try:
        run = _reconcile()
    finally:
        logging.getLogger("vbotflow.alerts").removeHandler(kept)
    assert {t.task_id: t.state for t in run.get_task_instances()}["check_account"] == "failed"

    (alert,) = [json.loads(r.get_data()) for r, _ in loopback_http.log if r.path == "/alerts"]
    assert alert["task_id"] == "check_account" and alert["day"] == DAY.isoformat()
    assert alert["report"] == str(tmp_path / "var" / "reports" / DAY.isoformat() / "report.html")
    assert "VBot answered 103 (" in alert["error"] and alert["actions"][0].startswith("Top up the VBot account")
    # The task log has the alert and the broken channel, by its connection id, not its secret URL.
    assert [line for line in kept.lines if "could not be sent" in line] == [
        "ERROR Alert could not be sent by Slack webhook of connection 'slack_alerts': ConnectionError: answered "
        "HTTP 500"]
    assert any(line.startswith("ERROR vbotflow alert: vbot_reconcile.check_account failed (2026-11-26) | Error: "
                               "AirflowFailException: VBot answered 103") for line in kept.lines)
    assert "INFO Alert sent by HTTP webhook of connection 'alerts_webhook'" in kept.lines
