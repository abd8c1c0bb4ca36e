"""The simulator's settings: the account, templates, dialing model, create faults, delivery chaos.

One frozen tree of dataclasses, read from a YAML or JSON file (the packaged default when none is
given) and overridden field by field from the command line or a test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.yaml")

# Shares of the outcomes of a call to a reachable number, by auto-call status code (vbot-api.md 2b).
DEFAULT_OUTCOME_WEIGHTS: dict[int, float] = {
    200: 0.55,  # ANSWER
    2: 0.22,  # NO_ANSWER
    3: 0.10,  # BUSY
    4: 0.05,  # CANCEL
    100: 0.03,  # system error
    104: 0.03,  # unknown error
    -100: 0.02,  # system error
}


@dataclass(frozen=True)
class Template:
    """A campaign template as defined in VBot's portal: the create call copies it."""

    template_id: int
    group_code: str
    hotline: str
    fields: tuple[str, ...] = ()  # custom fields every contact must carry
    name: str = ""


@dataclass(frozen=True)
class Accounts:
    """Who may call the simulator."""

    vbot_ids: tuple[str, ...] = ("44634001",)
    users: Mapping[str, str] = field(default_factory=lambda: {"demo": "demo-password"})
    static_tokens: tuple[str, ...] = ("sim-static-token",)
    token_expires_in: int = 3600

    def __repr__(self) -> str:  # passwords and tokens never reach a log line
        return f"Accounts(vbot_ids={self.vbot_ids!r}, users={sorted(self.users)!r})"


@dataclass(frozen=True)
class Dialing:
    """How VBot dials a campaign, in simulated seconds; ``time_scale`` simulated seconds pass per real one."""

    time_scale: float = 600.0
    start_at: datetime | None = None  # the simulated clock of every campaign; None: its create time
    lines: int = 10  # calls of one campaign in progress at once
    dial_interval_seconds: float = 2.0  # between the first calls of consecutive contacts
    default_number_call: int = 1
    retry_interval_seconds: float = 1800.0
    outcome_weights: Mapping[int, float] = field(default_factory=lambda: dict(DEFAULT_OUTCOME_WEIGHTS))
    account_status: str = "ok"  # ok | low_balance (every call 103) | expired (every call 105)
    unsupported_carriers: tuple[str, ...] = ("gmobile",)  # status 106
    no_hotline_carriers: tuple[str, ...] = ("itel",)  # status 102
    block_seconds: int = 6  # Vietnamese carriers bill per started 6-second block
    postage_per_block: float = 110.0  # VND
    service_charge_per_minute: float = 300.0  # VND per started minute of an answered call


@dataclass(frozen=True)
class Faults:
    """What can go wrong with ``POST /api/campaign/create``; rates are shares of create requests."""

    http_500_rate: float = 0.0
    error_400_rate: float = 0.0
    hang_rate: float = 0.0  # the body is read and the campaign created, the answer comes late
    hang_seconds: float = 30.0
    latency_seconds: float = 0.0  # added to every create


@dataclass(frozen=True)
class Chaos:
    """What an imperfect sender does to webhook deliveries; rates are shares."""

    duplicate_rate: float = 0.0  # of deliveries, sent a second time later
    out_of_order_rate: float = 0.0  # of deliveries, held back until after the next one
    malformed_rate: float = 0.0  # of deliveries, whose body is cut short (not JSON)
    lowercase_disposition_rate: float = 0.0  # of call history records, disposition in lower case
    unknown_status_rate: float = 0.0  # of call attempts, ending with a status code no page lists


@dataclass(frozen=True)
class Delivery:
    """Where and how call results are POSTed."""

    webhook_url: str | None = None  # auto-call history (2b), one attempt per delivery
    history_webhook_url: str | None = None  # call history (2a); default: webhook_url
    history_batch_size: int = 0  # records per call history delivery; 0: no call history deliveries
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. a webhook token
    max_attempts: int = 6
    backoff_seconds: float = 0.5  # real seconds, doubled after each failed try
    backoff_max_seconds: float = 30.0
    timeout_seconds: float = 5.0

    def __repr__(self) -> str:  # header values may be secrets; URLs may hold a token
        return f"Delivery(history_batch_size={self.history_batch_size}, headers={sorted(self.headers)!r})"


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulator needs; deterministic for one ``seed``."""

    seed: int = 0
    first_campaign_id: int = 1
    templates: tuple[Template, ...] = ()
    accounts: Accounts = field(default_factory=Accounts)
    dialing: Dialing = field(default_factory=Dialing)
    faults: Faults = field(default_factory=Faults)
    chaos: Chaos = field(default_factory=Chaos)
    delivery: Delivery = field(default_factory=Delivery)

    def template(self, template_id: int) -> Template | None:
        return next((t for t in self.templates if t.template_id == template_id), None)

    def with_changes(self, **sections: Mapping[str, Any] | Any) -> SimConfig:
        """A copy with fields replaced; a section given as a mapping replaces only its named fields.

        ``config.with_changes(seed=7, faults={"http_500_rate": 1.0})``
        """
        return _merge(self, sections)


def load_config(path: str | Path | None = None) -> SimConfig:
    """Read a YAML or JSON file (the packaged default when ``path`` is None) into a ``SimConfig``."""
    source = Path(path) if path else DEFAULT_CONFIG_PATH
    text = source.read_text(encoding="utf-8")
    data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    return config_from_mapping(data or {})


def default_config(**changes: Any) -> SimConfig:
    """The demo account and templates, with ``changes`` applied as in ``SimConfig.with_changes``."""
    return load_config().with_changes(**changes)


def config_from_mapping(data: Mapping[str, Any]) -> SimConfig:
    """Build a config from plain data (a parsed file); unknown keys are an error, not ignored."""
    return _merge(SimConfig(), data)


def _merge(obj: Any, changes: Mapping[str, Any]) -> Any:
    known = {f.name: f for f in fields(obj)}
    updates: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in known:
            raise ValueError(f"unknown simulator setting {name!r} in {type(obj).__name__}")
        current = getattr(obj, name)
        if name == "templates":
            value = tuple(t if isinstance(t, Template) else _template(t) for t in value)
        elif is_dataclass(current) and isinstance(value, Mapping):
            value = _merge(current, value)
        else:
            value = _coerce(name, current, value)
        updates[name] = value
    return replace(obj, **updates)


def _template(data: Mapping[str, Any]) -> Template:
    return Template(template_id=int(data["template_id"]), group_code=str(data["group_code"]),
                    hotline=str(data["hotline"]), fields=tuple(str(f) for f in data.get("fields", ())),
                    name=str(data.get("name", "")))


def _coerce(name: str, current: Any, value: Any) -> Any:
    # Files and command lines give lists and strings; the frozen config holds tuples and typed values.
    if name == "outcome_weights":
        return {int(k): float(v) for k, v in dict(value).items()}
    if name == "start_at" and isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(current, tuple) and isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    if isinstance(current, Mapping) and isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(current, bool) or value is None:
        return value
    if isinstance(current, float) and isinstance(value, int | float | str):
        return float(value)
    if isinstance(current, int) and isinstance(value, int | float | str):
        return int(value)
    return value
