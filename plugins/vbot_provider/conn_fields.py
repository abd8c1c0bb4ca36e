"""The extras of a ``vbot`` connection: one declaration for the UI form, the hook and its test.

Airflow's connection form shows what ``get_provider_info`` declares under ``conn-fields``; the hook
reads the same names with the same defaults, and ``VBotHook.test_connection`` checks the values
against the same bounds. Light on purpose: Airflow imports it whenever it lists providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExtraField:
    """One extra of the connection: its name in the extra JSON, form label, default and help text."""

    name: str
    label: str
    kind: str  # "string" | "integer" | "number" | "boolean"
    help: str
    default: Any = None
    minimum: float | None = None
    required: bool = False

    def conn_field(self) -> dict[str, Any]:
        """The ``conn-fields`` entry Airflow turns into a form field (JSON Schema with a label)."""
        schema: dict[str, Any] = {"type": self.kind if self.required else [self.kind, "null"]}
        if self.default is not None:
            schema["default"] = self.default
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return {"label": self.label, "description": self.help, "schema": schema}

    def problem(self, value: Any) -> str | None:
        """Why ``value`` (as stored in the extra JSON) is not usable, or None when it is."""
        if value in (None, ""):
            return f"extra {self.name!r} ({self.label}) is missing" if self.required else None
        if self.kind == "string":
            return None
        if self.kind == "boolean":
            if isinstance(value, bool) or str(value).lower() in ("true", "false"):
                return None
            return f"extra {self.name!r} ({self.label}) must be true or false, not {value!r}"
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        whole = self.kind == "integer"
        if number is None or isinstance(value, bool) or (whole and not number.is_integer()):
            return f"extra {self.name!r} ({self.label}) must be a {'whole ' if whole else ''}number, not {value!r}"
        if self.minimum is not None and number < self.minimum:
            return f"extra {self.name!r} ({self.label}) must be at least {self.minimum:g}, not {value!r}"
        return None


VBOT_EXTRAS: tuple[ExtraField, ...] = (
    ExtraField("vbot_id", "VBot ID", "string", required=True,
               help="Your customer VBot ID, sent as vbotId with every create and asked for by the call-history "
                    "API. Issued by VBot with the account."),
    ExtraField("group_code", "Group code", "string", required=True,
               help="The group ('Mã nhóm') campaigns are created in, sent as groupCode; a campaign config's own "
                    "group_code wins over it."),
    ExtraField("max_retries", "Retries of transient errors", "integer", default=3, minimum=0,
               help="How often one task retries a call VBot did not take (HTTP 5xx, 408, 429, error 400, "
                    "unreachable) before it fails. A create that may have reached VBot is never retried. "
                    "Default 3."),
    ExtraField("backoff_seconds", "First retry wait (seconds)", "number", default=2, minimum=0,
               help="Wait before the first retry; it doubles with each retry, with jitter. Default 2."),
    ExtraField("backoff_max_seconds", "Longest retry wait (seconds)", "number", default=60, minimum=0,
               help="Cap of the doubling wait between retries. Default 60."),
    ExtraField("timeout_seconds", "Read timeout (seconds)", "number", default=30, minimum=1,
               help="How long to wait for VBot's answer once a request is sent. A create without an answer "
                    "is marked ambiguous and never sent again. Default 30."),
    ExtraField("connect_timeout_seconds", "Connect timeout (seconds)", "number", default=5, minimum=1,
               help="How long to wait for a connection to VBot; a create that could not connect was not "
                    "received and is retried. Default 5."),
    # Not "token_…": Airflow masks every extra whose name holds "token" as a secret ("***" in the form).
    ExtraField("renew_margin_seconds", "Token renewal margin (seconds)", "number", default=60, minimum=0,
               help="With a username: the access token from POST /token is renewed this long before it "
                    "expires. Default 60."),
    ExtraField("history_backfill", "Backfill from call history", "boolean", default=False,
               help="vbot_reconcile asks VBot's call-history API (GET /api/crm/historycall/getAll) about "
                    "contacts whose result never came by webhook. Default off."),
)


def extras_problems(extra: dict[str, Any]) -> list[str]:
    """Every extra of a ``vbot`` connection that is missing or not usable, in form order."""
    return [problem for field in VBOT_EXTRAS if (problem := field.problem(extra.get(field.name)))]


def default_extras() -> dict[str, Any]:
    """Every extra with its default (the ones without a default empty): what a new connection stores."""
    return {field.name: "" if field.default is None else field.default for field in VBOT_EXTRAS}
