"""What an alert says: which task failed, for which config, day and run key, why, and what to do.

Pure: the Airflow side (``vbot_provider.notifiers``) gathers the facts of a failure and sends the
result by log, e-mail, Slack or any HTTP endpoint. Personal data stays out: the error text is cut
before SQLAlchemy's statement and parameters (rows may hold names and custom fields), phone numbers
in it are masked, and anything that looks like a credential is removed.
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field

from vbotflow.privacy.masking import mask_phones_in_text

RESOLVE_COMMAND = "vbotflow campaign resolve {run_key} --created <VBot campaign id>   (or --not-created)"
MAX_ERROR_CHARS = 600
RUN_KEY = re.compile(r"\b[A-Za-z0-9_.-]+/\d{4}-\d{2}-\d{2}/\d{3}\b")
# Text that looks like a phone number but is not one: run keys, ISO dates and times, yyyymmdd in names.
_NOT_A_PHONE = re.compile(r"[A-Za-z0-9_.-]+/\d{4}-\d{2}-\d{2}/\d{3}\b"
                          r"|\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
                          r"|(?<=_)\d{8}(?=_)")
_CREDENTIALS = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [removed]"),
    (re.compile(r"(?i)\b(token|access_token|refresh_token|password|passwd|secret|api_key|apikey)"
                r"(\s*[=:]\s*)(['\"]?)[^\s'\"&,;)]+"), r"\1\2\3[removed]"),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^\s/@:]+:[^\s/@]+@"), r"\1[removed]@"),
    (re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/]+"), "hooks.slack.com/services/[removed]"),
]
# SQLAlchemy appends the statement and the bound rows to a driver's message; the rows are CRM data.
_SQLALCHEMY_TAIL = re.compile(r"\s*\[(?:SQL|parameters):.*", re.S)


def mask_phones_keeping_dates(text: str) -> str:
    """Mask phone numbers, but not the dates and run keys that look like long digit runs."""
    out, last = [], 0
    for kept in _NOT_A_PHONE.finditer(text):
        out += [mask_phones_in_text(text[last:kept.start()]), kept.group(0)]
        last = kept.end()
    out.append(mask_phones_in_text(text[last:]))
    return "".join(out)


def scrub_error(text: str) -> str:
    """An error message fit for an alert: no statement or rows, no credential, phones masked, bounded."""
    text = _SQLALCHEMY_TAIL.sub("", text or "")
    text = re.sub(r"\(Background on this error at: [^)]*\)", "", text)
    for pattern, replacement in _CREDENTIALS:
        text = pattern.sub(replacement, text)
    # Spaces collapse within a line; the lines stay (a create task's group lists a chunk per line).
    text = "\n".join(" ".join(line.split()) for line in mask_phones_keeping_dates(text).splitlines() if line.strip())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"


@dataclass(frozen=True)
class FailureFacts:
    """What is known about one failed task; every field but the first four may be missing."""

    dag_id: str
    task_id: str
    run_id: str
    error: str
    error_type: str = ""
    map_index: int = -1
    try_number: int | None = None
    config: str | None = None
    day: str | None = None  # "2026-11-26", or "2026-11-25 .. 2026-11-26" for a reconciliation range
    run_keys: tuple[str, ...] = ()
    campaign_name: str | None = None
    report: str | None = None
    log_url: str | None = None


@dataclass(frozen=True)
class Alert:
    """One alert, the same in every channel."""

    subject: str
    what_failed: str
    error: str
    dag_id: str
    task_id: str
    run_id: str
    config: str | None
    day: str | None
    run_keys: list[str]
    actions: list[str]
    report: str | None
    log_url: str | None
    kind: str = "task_failed"
    extra: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The alert as labelled lines (log, Slack, the e-mail's body)."""
        lines = [self.what_failed, f"Error: {self.error}"]
        for label, value in (("Config", self.config), ("Day", self.day), ("Run", self.run_id),
                             ("Run key", ", ".join(self.run_keys) or None), ("Report", self.report),
                             ("Task log", self.log_url)):
            if value:
                lines.append(f"{label}: {value}")
        lines.append("What to do:")
        lines += [f"  {n}. {action}" for n, action in enumerate(self.actions, 1)]
        return lines

    def text(self) -> str:
        return "\n".join(self.lines())

    def html(self) -> str:
        return ("<html><body><pre style=\"font-family: monospace\">" + html.escape(self.text())
                + "</pre></body></html>")

    def as_dict(self) -> dict[str, object]:
        """The JSON body of a webhook."""
        return asdict(self)


def _may_exist(text: str) -> bool:
    lowered = text.lower()
    return "ambiguous" in lowered or "outcome is unknown" in lowered or "interrupted" in lowered


def _unsure_run_keys(facts: FailureFacts, error: str) -> list[str]:
    """Run keys whose campaign may exist at VBot: a person must look before anything is sent."""
    if facts.run_keys:
        return list(facts.run_keys) if _may_exist(error) else []
    # A group's error has a line per chunk not created: only the lines that say so count.
    return list(dict.fromkeys(key for line in error.splitlines() if _may_exist(line) for key in RUN_KEY.findall(line)))


def _actions(facts: FailureFacts, error: str) -> list[str]:
    lowered = error.lower()
    if keys := _unsure_run_keys(facts, error):
        named = f" named {facts.campaign_name!r}" if facts.campaign_name else ""
        others = len(set(RUN_KEY.findall(error)) - set(keys))
        return [f"Look in VBot's portal for the campaign{named} of run {', '.join(keys)}: it may exist. "
                "Nothing will be sent again until a person decides.",
                *(f"Then run: {RESOLVE_COMMAND.format(run_key=key)}" for key in keys),
                *([f"The {others} other campaign(s) the error names were not created: fix what their lines say."]
                  if others else []),
                "Clear the failed task afterwards: a run resolved as created returns its id, "
                "one resolved as not created is sent."]
    if "data changed" in lowered:
        return ["The CRM list changed after its campaign was sent; nothing was sent again. Check the list, "
                "resolve the existing run first (vbotflow campaign list --state created) or trigger another run_date."]
    if "calling window" in lowered and "passed" in lowered:
        return ["The day's calling window has passed and nothing was created (VBot dials at once). Trigger the "
                "DAG with a run_date whose window is still ahead; chunks already created are not sent again."]
    if facts.task_id == "check_account":
        return ["Top up the VBot account balance (103) or renew the VBot package (105): until then every call "
                "fails.", *([f"See the report {facts.report}"] if facts.report else [])]
    if facts.task_id == "check_rates":
        return [*([f"Open the report {facts.report}"] if facts.report else []),
                "A high reject rate: see rejected_contact for the reasons (vbotflow transform previews a list). "
                "A high missing rate: check the webhook receiver (/healthz, the spool) and VBot's webhook setting."]
    if facts.task_id == "write_back":
        return ["Create or fix the CRM table as the README shows (section 'Reconciliation'), or restore the CRM "
                "connection crm_db; then clear write_back."]
    if facts.task_id == "build_list":
        return ["Check the CRM connection and the config's SQL file (a preview: vbotflow transform); then clear "
                "build_list."]
    if "permanent" in lowered or "refused" in lowered or "rejected" in lowered:
        return ["VBot refused the request: fix what the error names (template, group code, fields, the vbot_default "
                "connection); the run is left retryable, so clear the task afterwards."]
    return ["Read the task log for the cause; once it is fixed, clear the task to run it again."]


def compose_alert(facts: FailureFacts) -> Alert:
    """The alert for a failed task."""
    error = scrub_error(facts.error) or "(no error message)"
    if facts.error_type:
        error = f"{facts.error_type}: {error}"
    # Run keys and actions come from the whole message: the one shown may be cut short.
    whole = f"{facts.error_type}: {facts.error}" if facts.error_type else facts.error or ""
    task = facts.task_id if facts.map_index < 0 else f"{facts.task_id}[{facts.map_index}]"
    subject_bits = [bit for bit in (facts.config, facts.day) if bit]
    subject = f"vbotflow alert: {facts.dag_id}.{task} failed"
    if subject_bits:
        subject += f" ({', '.join(subject_bits)})"
    tries = f" on try {facts.try_number}" if facts.try_number else ""
    run_keys = list(dict.fromkeys([*facts.run_keys, *RUN_KEY.findall(whole)]))
    return Alert(
        subject=subject,
        what_failed=f"Task {task} of DAG {facts.dag_id} failed{tries}.",
        error=error, dag_id=facts.dag_id, task_id=facts.task_id, run_id=facts.run_id, config=facts.config,
        day=facts.day, run_keys=run_keys, actions=_actions(facts, whole), report=facts.report,
        log_url=facts.log_url,
    )
