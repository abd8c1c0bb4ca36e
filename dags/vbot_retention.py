"""vbot_retention: personal data older than the retention period is de-identified, once a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from vbot_provider.notifiers import failure_alert
from vbotflow.privacy import DEFAULT_RETENTION_DAYS

DOC = f"""
### Retention of personal data (Law 91/2025/QH15)

Every night at 02:30 (Asia/Ho\\_Chi\\_Minh) **`apply_retention`** de-identifies what is older than
`retention_days` (default {DEFAULT_RETENTION_DAYS}): contacts of campaign runs dated before the cutoff
(`campaign_contact`, `contact_outcome`), their call attempts, raw webhook bodies and call records,
dead letters, and rejected rows; preview folders of those dates under `var/previews/` are deleted.
Numbers become keyed pseudonyms (the same as an erasure's), names and custom fields are dropped;
counts, costs, statuses and dates stay, so KPIs and a rebuild of outcomes give the same figures.

It never touches what reconciliation has not processed: webhook events past the reconcile watermark,
campaign runs whose contacts have no final outcome yet, runs still `sending`/`ambiguous`. Opt-outs and
bad numbers from call results are fed into `suppression` first. Each run is recorded in `privacy_audit`.

Needs `VBOTFLOW_PRIVACY_KEY` in the workers' environment (the key of every pseudonym); without it the
task fails and changes nothing. The period must cover every campaign config's frequency cap and
retry spacing.

**Trigger form**: `dry_run` (count what would change; change nothing), `retention_days`.
"""


@dag(
    dag_id="vbot_retention",
    description="De-identify personal data older than the retention period",
    schedule=CronTriggerTimetable("30 2 * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["vbot", "privacy"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10), "owner": "vbotflow",
                  "on_failure_callback": failure_alert},
    doc_md=DOC,
    params={
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Count what would change; change nothing."),
        "retention_days": Param(DEFAULT_RETENTION_DAYS, type="integer", minimum=1, title="Retention (days)",
                                description="De-identify data older than this many days."),
    },
)
def vbot_retention() -> None:
    @task
    def apply_retention(params: dict[str, Any], **context: Any) -> dict[str, Any]:
        """Returns the counts (XCom: counts only, never data)."""
        from airflow.sdk.exceptions import AirflowFailException

        from vbot_provider.connections import integration_engine
        from vbotflow.campaigns.config import load_configs
        from vbotflow.privacy.pseudonyms import PrivacyKeyError, key_from_env
        from vbotflow.privacy.retention import RetentionError, apply_retention, check_retention_days
        from vbotflow.settings import var_dir

        try:
            check_retention_days(params["retention_days"], load_configs())
            key = key_from_env()
        except (RetentionError, PrivacyKeyError) as err:
            raise AirflowFailException(str(err)) from err  # a retry would meet the same setting
        with integration_engine() as db:
            result = apply_retention(db, key=key, retention_days=params["retention_days"], var_dir=var_dir(),
                                     dry_run=params["dry_run"], performed_by=f"vbot_retention/{context['run_id']}")
        return result.as_dict()

    apply_retention()


vbot_retention()
