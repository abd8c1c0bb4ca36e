"""Extra links on task instances: from a campaign run's tasks to its day in the console, from the report to it.

Global links (every task of every DAG asks them); each answers "" — no button — for tasks other
than its own. They are computed in the API server when a task instance is opened, from the XComs
the tasks already push (the run date of ``build_list``, the range in ``report``'s return value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

from vbot_provider.console import paths
from vbotflow.campaigns.config import config_name_of

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey

CAMPAIGN_TASKS = ("create_campaign", "summary")
RECONCILE_DAG_ID, REPORT_TASK = "vbot_reconcile", "report"


def _report_range(ti_key: TaskInstanceKey) -> tuple[str, str] | None:
    from vbot_provider.console.airflow_runs import xcom_value

    if ti_key.dag_id != RECONCILE_DAG_ID or ti_key.task_id != REPORT_TASK:
        return None
    result = xcom_value(ti_key.dag_id, ti_key.run_id, ti_key.task_id, "return_value")
    if not isinstance(result, dict) or not result.get("date_from") or not result.get("date_to"):
        return None
    return str(result["date_from"]), str(result["date_to"])


class CampaignConsoleLink(BaseOperatorLink):
    """``create_campaign`` and ``summary`` → the console's campaigns of that config and run date."""

    name = "Campaign console"

    def get_link(self, operator: object, *, ti_key: TaskInstanceKey) -> str:
        from vbot_provider.console.airflow_runs import BUILD_TASK_ID, xcom_value

        config = config_name_of(ti_key.dag_id)
        if config is None or ti_key.task_id not in CAMPAIGN_TASKS:
            return ""
        run_date = xcom_value(ti_key.dag_id, ti_key.run_id, BUILD_TASK_ID, "run_date")
        return paths.console_url("campaigns", config=config, date=run_date if isinstance(run_date, str) else None)


class OutcomeFiguresLink(BaseOperatorLink):
    """``vbot_reconcile.report`` → the console's outcome figures of the report's range."""

    name = "Outcome figures"

    def get_link(self, operator: object, *, ti_key: TaskInstanceKey) -> str:
        found = _report_range(ti_key)
        return paths.console_url("outcomes", **{"from": found[0], "to": found[1]}) if found else ""


class ReportLink(BaseOperatorLink):
    """``vbot_reconcile.report`` → the HTML report it wrote (served by the console from ``var/reports``)."""

    name = "Outcome report"

    def get_link(self, operator: object, *, ti_key: TaskInstanceKey) -> str:
        found = _report_range(ti_key)
        if not found:
            return ""
        span = found[0] if found[0] == found[1] else f"{found[0]}_{found[1]}"
        return paths.console_url(f"reports/{span}/report.html")
