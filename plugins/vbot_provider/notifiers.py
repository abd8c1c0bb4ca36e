"""Where failures go: Airflow notifiers for the task log, e-mail, a Slack incoming webhook and any
HTTP endpoint, chosen by configuration so a deployment decides without code.

Every vbotflow DAG sets ``on_failure_callback=failure_alert`` in its ``default_args``: each task's
final failure — an ambiguous create, a permanent VBot error, a closed window, 103/105 answers, a
reject or missing rate above its threshold — becomes one ``vbotflow.alerting.Alert``, written to the
task log as an ERROR line and sent to every target of the Airflow Variable ``vbotflow_alert_targets``
(or the environment variable ``AIRFLOW_VAR_VBOTFLOW_ALERT_TARGETS``), a JSON list such as::

    [{"type": "smtp", "conn_id": "smtp_alerts", "to": ["ops@example.vn"]},
     {"type": "slack", "conn_id": "slack_alerts"},
     {"type": "webhook", "conn_id": "alerts_webhook"}]

A target that fails is logged (without its URL or credentials) and does not stop the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
from airflow.sdk import BaseHook, BaseNotifier

from vbotflow.alerting import Alert, FailureFacts, compose_alert, scrub_error

log = logging.getLogger("vbotflow.alerts")
TARGETS_VARIABLE = "vbotflow_alert_targets"
HTTP_TIMEOUT_SECONDS = 10.0
CAMPAIGN_DAG_PREFIX = "vbot_campaign__"


# -- the facts of a failure, from the Airflow context ---------------------------------------------------


def _quietly(read: Callable[[], Any]) -> Any:
    """One fact or None: an alert goes out even when a detail cannot be read (the DB may be the failure)."""
    try:
        return read()
    except Exception:  # noqa: BLE001 - a missing detail must never swallow the alert
        return None


def _campaign_facts(context: Mapping[str, Any], ti: Any) -> dict[str, Any]:
    from vbot_provider.runs import campaign_run_date
    from vbotflow.campaigns.outbox import make_run_key

    task = context.get("task")
    config = ti.dag_id.removeprefix(CAMPAIGN_DAG_PREFIX) if ti.dag_id.startswith(CAMPAIGN_DAG_PREFIX) else None
    config = getattr(task, "config_name", None) or config  # the classic create operator names its config
    day = (_quietly(lambda: ti.xcom_pull(task_ids="build_list", key="run_date"))
           or _quietly(lambda: campaign_run_date(context, getattr(task, "run_date", None)
                                                 or (context.get("params") or {}).get("run_date"))))
    facts: dict[str, Any] = {"config": config, "day": str(day) if day else None}
    if ti.task_id == "create_campaign" and ti.map_index >= 0:
        groups = _quietly(lambda: ti.xcom_pull(task_ids="build_list")) or []
        # A task of one chunk: its run key. Of a group: the error names each chunk not created.
        if isinstance(groups, list) and ti.map_index < len(groups) and len(groups[ti.map_index]) == 1:
            facts["run_keys"] = (groups[ti.map_index][0]["run_key"],)
            facts["campaign_name"] = groups[ti.map_index][0].get("campaign_name")
    elif config and day and isinstance(getattr(task, "chunk_number", None), int):
        key = _quietly(lambda: make_run_key(config, _as_date(day), task.chunk_number))
        facts["run_keys"] = (key,) if key else ()
        facts["campaign_name"] = getattr(task, "campaign_name", None)
    return facts


def _as_date(value: Any) -> Any:
    from datetime import date

    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _reconcile_facts(context: Mapping[str, Any], ti: Any) -> dict[str, Any]:
    from vbot_provider.runs import reconcile_range_of_run
    from vbotflow.reconcile.run_range import range_label
    from vbotflow.settings import var_dir

    pushed = _quietly(lambda: ti.xcom_pull(task_ids="date_range"))
    if isinstance(pushed, dict) and pushed.get("date_from"):
        first, last = _as_date(pushed["date_from"]), _as_date(pushed["date_to"])
    else:
        first, last = _quietly(lambda: reconcile_range_of_run(context)) or (None, None)
    if first is None:
        return {}
    return {"day": str(first) if first == last else f"{first} .. {last}",
            "report": str(var_dir() / "reports" / range_label(first, last) / "report.html")}


def failure_facts(context: Mapping[str, Any]) -> FailureFacts:
    """What the context of a failed task says about it."""
    ti = context["ti"]
    exception = context.get("exception")
    read = _reconcile_facts if ti.dag_id == "vbot_reconcile" else _campaign_facts
    details = _quietly(lambda: read(context, ti)) or {}
    return FailureFacts(
        dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index,
        try_number=getattr(ti, "try_number", None),
        error=str(exception) if exception is not None else "", error_type=type(exception).__name__ if exception else "",
        log_url=_quietly(lambda: ti.log_url), **details,
    )


def alert_from_context(context: Mapping[str, Any]) -> Alert:
    return compose_alert(failure_facts(context))


# -- the channels ----------------------------------------------------------------------------------------


class AlertNotifier(BaseNotifier):
    """Turns a failed task's context into an ``Alert`` and sends it; subclasses say where."""

    def notify(self, context: Any) -> None:
        self.send(alert_from_context(context), context)

    def send(self, alert: Alert, context: Any) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


class LogAlertNotifier(AlertNotifier):
    """One ERROR line per alert in the task log (always on)."""

    def send(self, alert: Alert, context: Any) -> None:
        log.error("%s", " | ".join([alert.subject, *alert.lines()[1:]]))


class SmtpAlertNotifier(AlertNotifier):
    """An e-mail through the SMTP provider's notifier and an ``smtp`` connection (host, port, login,
    password; extras ``from_email``, ``disable_tls``, ``disable_ssl`` as the provider reads them)."""

    def __init__(self, *, to: str | Sequence[str], smtp_conn_id: str = "smtp_default",
                 from_email: str | None = None) -> None:
        super().__init__()
        self.to = [to] if isinstance(to, str) else list(to)
        self.smtp_conn_id = smtp_conn_id
        self.from_email = from_email

    def send(self, alert: Alert, context: Any) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        # notify(), not __call__: __call__ would render the alert as a Jinja template, and an error
        # message is data, never a template.
        SmtpNotifier(to=self.to, from_email=self.from_email, subject=alert.subject, html_content=alert.html(),
                     smtp_conn_id=self.smtp_conn_id).notify(context)

    def describe(self) -> str:
        return f"e-mail via connection {self.smtp_conn_id!r}"


def _post_json(url: str, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
    """POST JSON; a non-2xx answer raises with its status only (the URL may hold a secret)."""
    try:
        response = requests.post(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                 headers={"Content-Type": "application/json", **(headers or {})},
                                 timeout=HTTP_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as err:
        raise ConnectionError(f"no answer ({type(err).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise ConnectionError(f"answered HTTP {response.status_code}")


class SlackWebhookAlertNotifier(AlertNotifier):
    """A message to a Slack incoming webhook. The connection holds the webhook URL in its password
    (the secret part of it), or the base ``https://hooks.slack.com/services`` in host and the
    ``T…/B…/…`` path in password, as the Slack provider's ``slackwebhook`` connection does."""

    def __init__(self, *, conn_id: str) -> None:
        super().__init__()
        self.conn_id = conn_id

    def url(self) -> str:
        conn = BaseHook.get_connection(self.conn_id)
        secret = (conn.password or "").strip()
        if secret.startswith(("https://", "http://")):
            return secret
        base = (conn.host or "https://hooks.slack.com/services").rstrip("/")
        if not base.startswith(("https://", "http://")):
            base = f"{conn.schema or 'https'}://{base}"
        return f"{base}/{secret.lstrip('/')}" if secret else base

    def send(self, alert: Alert, context: Any) -> None:
        _post_json(self.url(), {"text": "\n".join([f"*{alert.subject}*", *alert.lines()[1:]])})

    def describe(self) -> str:
        return f"Slack webhook of connection {self.conn_id!r}"


class HttpWebhookAlertNotifier(AlertNotifier):
    """The alert as JSON (``Alert.as_dict``) POSTed to any URL: the connection's host (a full URL,
    or host, port and schema as the path), its password sent as a bearer token when set, and extra
    ``headers`` added to the request."""

    def __init__(self, *, conn_id: str) -> None:
        super().__init__()
        self.conn_id = conn_id

    def send(self, alert: Alert, context: Any) -> None:
        conn = BaseHook.get_connection(self.conn_id)
        host = (conn.host or "").strip()
        if host.startswith(("https://", "http://")):
            url = host
        else:
            scheme = "https" if conn.conn_type in (None, "", "https") else "http"
            url = f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}/{(conn.schema or '').lstrip('/')}"
        headers = dict(conn.extra_dejson.get("headers") or {})
        if conn.password:
            headers["Authorization"] = f"Bearer {conn.password}"
        _post_json(url, alert.as_dict(), headers)

    def describe(self) -> str:
        return f"HTTP webhook of connection {self.conn_id!r}"


# -- the router ------------------------------------------------------------------------------------------

_TARGET_TYPES = {"log", "smtp", "slack", "webhook"}


def targets_from_config(raw: str | None) -> list[AlertNotifier]:
    """The notifiers a ``vbotflow_alert_targets`` value names; raises ValueError naming what is wrong."""
    if raw is None or not str(raw).strip():
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"{TARGETS_VARIABLE} is not JSON ({err.msg} at column {err.colno})") from None
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise ValueError(f"{TARGETS_VARIABLE} must be a JSON list of targets")
    targets: list[AlertNotifier] = []
    for n, item in enumerate(items):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in _TARGET_TYPES:
            raise ValueError(f"{TARGETS_VARIABLE}[{n}]: 'type' must be one of {sorted(_TARGET_TYPES)}")
        if kind == "log":
            continue  # the log line is always written
        conn_id = item.get("conn_id")
        if kind == "smtp":
            to = item.get("to")
            if not to or not (isinstance(to, str) or all(isinstance(t, str) for t in to)):
                raise ValueError(f"{TARGETS_VARIABLE}[{n}]: an smtp target needs 'to' (an address or a list)")
            targets.append(SmtpAlertNotifier(to=to, smtp_conn_id=conn_id or "smtp_default",
                                             from_email=item.get("from_email")))
            continue
        if not isinstance(conn_id, str) or not conn_id:
            raise ValueError(f"{TARGETS_VARIABLE}[{n}]: a {kind} target needs 'conn_id'")
        targets.append(SlackWebhookAlertNotifier(conn_id=conn_id) if kind == "slack"
                       else HttpWebhookAlertNotifier(conn_id=conn_id))
    return targets


def _configured_targets() -> str | None:
    from airflow.sdk import Variable

    return Variable.get(TARGETS_VARIABLE, default=None)


class VBotflowAlertNotifier(AlertNotifier):
    """The ``on_failure_callback`` of every vbotflow task: the log line, then every configured target."""

    def send(self, alert: Alert, context: Any) -> None:
        LogAlertNotifier().send(alert, context)
        try:
            targets = targets_from_config(_configured_targets())
        except ValueError as err:
            log.error("Alert targets are misconfigured, the alert went to the log only: %s", err)
            return
        except Exception as err:  # noqa: BLE001 - the Variable could not be read: the log line must do
            log.error("Alert targets could not be read (%s), the alert went to the log only", type(err).__name__)
            return
        for target in targets:
            try:
                target.send(alert, context)
                log.info("Alert sent by %s", target.describe())
            except Exception as err:  # noqa: BLE001 - one broken channel must not silence the others
                log.error("Alert could not be sent by %s: %s", target.describe(),
                          scrub_error(f"{type(err).__name__}: {err}"))


failure_alert = VBotflowAlertNotifier()
