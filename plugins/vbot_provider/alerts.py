"""The one place where task failures become alerts: logged now; plug e-mail or chat in here."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("vbotflow.alerts")


def on_failure_alert(context: dict[str, Any]) -> None:
    """Airflow ``on_failure_callback``: one ERROR line naming the DAG, task, run and reason.

    To notify people, send ``message`` from here (an SMTP or Slack notifier, a chat webhook); every
    vbotflow DAG routes its failures through this function.
    """
    ti = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    message = (f"vbotflow alert: {getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')} failed in run "
               f"{getattr(ti, 'run_id', '?')}: {exception}")
    log.error("%s", message)
