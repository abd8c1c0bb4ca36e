"""vbot_reconcile: landed VBot results → call attempts → contact outcomes → CRM, suppression, KPIs, alerts.

Hourly (Vietnam time) and whenever a campaign DAG updates the ``vbotflow_campaigns_created`` asset.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from vbot_provider.assets import CAMPAIGNS_CREATED
from vbot_provider.connections import integration_engine
from vbot_provider.notifiers import failure_alert

log = logging.getLogger("vbotflow.reconcile")

DOC = """
### Reconciliation of VBot call results

0. **date\\_range** — the campaign run dates this run covers, decided once for all its tasks: the
   `date_from`/`date_to` params if given, else the run dates of the campaign runs whose asset events
   triggered it, else the day before the run's data interval to its last day (Vietnam days). A
   cleared or rerun run covers the same days as its first run;
1. **parse\\_events** — new auto-call `webhook_event` rows (past a watermark, older than a settle time)
   → `call_attempt`, one INSERT … SELECT, duplicates ignored;
2. **build\\_outcomes** — `contact_outcome`, one row per contact per campaign: any ANSWER wins,
   otherwise the latest attempt; no result `missing_after_hours` after the create → `missing`;
   incremental (only the contacts with new attempts, new runs, and what the clock changes), exactly
   what a rebuild gives;
3. **backfill\\_missing** — missing results asked from VBot's history API (connection extra
   `history_backfill: true`), then outcomes refreshed;
4. **write\\_back** — outcomes upserted into the CRM table (`crm_db`, `VBOTFLOW_WRITEBACK_TABLE`,
   default `vbot_call_outcome`) by contact, day and campaign;
5. **feed\\_suppression** — 101/106 and DONTCALL numbers into `suppression`;
6. **report** — `kpi_daily`, and CSV + HTML with a chart under `var/reports/`; orphans counted;
7. **check\\_account** / **check\\_rates** — fail on 103/105 answers, or on reject/missing rates above
   the thresholds. Every failure is an alert (`vbot_provider.notifiers.failure_alert`: the task log,
   and the targets of the Variable `vbotflow_alert_targets`).

**Trigger form**: `date_from`, `date_to` (campaign run dates; default: from the run, see
**date\\_range**), `dry_run` (compute outcomes and the report; no CRM write-back, no suppression),
`full_reparse` (re-read every event and rebuild the range's outcomes whole), the settle time, and
the thresholds of **check\\_rates**: `max_reject_rate` and `max_missing_rate` (shares from 0 to 1).
"""


def _range(span: dict[str, str]) -> tuple[date, date]:
    return date.fromisoformat(span["date_from"]), date.fromisoformat(span["date_to"])


@dag(
    dag_id="vbot_reconcile",
    description="VBot call results → outcomes, CRM write-back, KPIs, alerts",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("5 * * * *", timezone="Asia/Ho_Chi_Minh"),
                                 assets=[CAMPAIGNS_CREATED]),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["vbot", "reconcile"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "owner": "vbotflow",
                  "on_failure_callback": failure_alert},
    doc_md=DOC,
    params={
        "date_from": Param(None, type=["null", "string"], format="date", title="From (run date)",
                           description="First campaign run date to reconcile. Empty: from the run (the run "
                                       "dates of the campaigns that triggered it, else the day before its data "
                                       "interval), in Asia/Ho_Chi_Minh."),
        "date_to": Param(None, type=["null", "string"], format="date", title="To (run date)",
                         description="Last campaign run date to reconcile. Empty: from the run (see From), in "
                                     "Asia/Ho_Chi_Minh."),
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Compute outcomes and the report only: no CRM write-back, no suppression "
                                     "changes. (Nothing here ever calls anyone.)"),
        "full_reparse": Param(False, type="boolean", title="Re-read every event",
                              description="Re-read every webhook event, not only those past the watermark "
                                          "(safe: attempts are stored once), and rebuild the outcomes of the "
                                          "range whole instead of refreshing what changed."),
        "settle_seconds": Param(30, type="integer", minimum=0, title="Settle time (seconds)",
                                description="Leave events younger than this for the next run. Default 30."),
        "missing_after_hours": Param(24, type="number", minimum=0, title="Missing after (hours)",
                                     description="A contact with no result this long after its campaign was "
                                                 "created counts as missing. Default 24."),
        "max_reject_rate": Param(0.5, type="number", minimum=0, maximum=1, title="Highest reject rate",
                                 description="check_rates fails when a config's day rejected a larger share of "
                                             "its extracted rows (0–1; 0.5 = 50 %). Default 0.5."),
        "max_missing_rate": Param(0.2, type="number", minimum=0, maximum=1, title="Highest missing rate",
                                  description="check_rates fails when a config's day has no result for a larger "
                                              "share of its contacts (0–1; 0.2 = 20 %). Default 0.2."),
    },
)
def vbot_reconcile() -> None:
    @task
    def date_range(**context: Any) -> dict[str, str]:
        """Once per run, so every task of it reconciles the same days (a run may cross midnight)."""
        from airflow.sdk.exceptions import AirflowFailException

        from vbot_provider.runs import reconcile_range_of_run

        try:
            date_from, date_to = reconcile_range_of_run(context)
        except ValueError as err:
            raise AirflowFailException(str(err)) from err  # bad params stay bad on a retry
        return {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}

    @task
    def parse_events(params: dict[str, Any]) -> dict[str, int]:
        from vbotflow.reconcile.attempts import parse_new_events

        with integration_engine() as db:
            result = parse_new_events(db, settle_seconds=params["settle_seconds"], full=params["full_reparse"])
        return {"from_event_id": result.from_event_id, "to_event_id": result.to_event_id,
                "attempts_added": result.attempts_added}

    @task
    def build_outcomes(span: dict[str, str], params: dict[str, Any]) -> int:
        from vbotflow.reconcile.outcomes import refresh_outcomes

        with integration_engine() as db:
            return refresh_outcomes(db, *_range(span), missing_after_hours=params["missing_after_hours"],
                                    full=params["full_reparse"])

    @task
    def backfill_missing(span: dict[str, str], params: dict[str, Any]) -> int:
        import logging

        from vbot_provider.hooks.vbot import VBotHook
        from vbotflow.reconcile.backfill import backfill_missing as backfill
        from vbotflow.reconcile.outcomes import refresh_outcomes

        hook = VBotHook()
        if not hook.get_connection(hook.vbot_conn_id).extra_dejson.get("history_backfill"):
            logging.getLogger("vbotflow.reconcile.backfill").info(
                "History backfill is off (extra history_backfill of the vbot connection): nothing asked")
            return 0
        with integration_engine() as db:
            added = backfill(db, lambda phone, page, size: hook.get_call_history(phone=phone, page=page, size=size),
                             *_range(span))
            if added:
                refresh_outcomes(db, *_range(span), missing_after_hours=params["missing_after_hours"])
            return added

    @task
    def write_back(span: dict[str, str], params: dict[str, Any]) -> int:
        import os

        from airflow.sdk.exceptions import AirflowFailException

        from vbot_provider.connections import connection_engine
        from vbotflow.reconcile.writeback import DEFAULT_TABLE, WriteBackTableError, write_back

        if params["dry_run"]:
            log.info("Dry run: nothing written to the CRM")
            return 0
        with integration_engine() as db, connection_engine("crm_db") as crm:
            try:
                return write_back(db, crm, *_range(span),
                                  table_name=os.environ.get("VBOTFLOW_WRITEBACK_TABLE") or DEFAULT_TABLE)
            except WriteBackTableError as err:
                raise AirflowFailException(str(err)) from err  # the table stays wrong until a person acts

    @task
    def feed_suppression(params: dict[str, Any]) -> dict[str, int]:
        from vbotflow.reconcile.feedback import feed_suppression as feed

        if params["dry_run"]:
            log.info("Dry run: the suppression table is unchanged")
            return {}
        with integration_engine() as db:
            return feed(db)

    @task
    def report(span: dict[str, str]) -> dict[str, Any]:
        from vbotflow.reconcile.report import make_report
        from vbotflow.settings import var_dir

        with integration_engine() as db:
            return make_report(db, *_range(span), var_dir() / "reports")

    @task
    def check_account(span: dict[str, str]) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from vbotflow.reconcile.alerts import account_alerts

        with integration_engine() as db:
            alerts = account_alerts(db, *_range(span))
        if alerts:
            raise AirflowFailException(" | ".join(a.message for a in alerts))

    @task
    def check_rates(span: dict[str, str], report: dict[str, Any], params: dict[str, Any]) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from vbotflow.reconcile.alerts import rate_alerts

        with integration_engine() as db:
            alerts = rate_alerts(db, *_range(span), max_reject_rate=params["max_reject_rate"],
                                 max_missing_rate=params["max_missing_rate"])
        if alerts:
            where = report.get("files", {}).get("html") or report.get("out_dir")
            raise AirflowFailException(" | ".join(a.message for a in alerts) + f" (report: {where})")

    span = date_range()
    parsed = parse_events()
    outcomes = build_outcomes(span)
    backfilled = backfill_missing(span)
    written = write_back(span)
    suppressed = feed_suppression()
    reported = report(span)
    span >> parsed >> outcomes >> backfilled >> [written, suppressed, reported]
    parsed >> check_account(span)
    check_rates(span, reported)


vbot_reconcile()
