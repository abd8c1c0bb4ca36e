"""The simulator's settings: the account, templates, dialing model, create faults, delivery chaos.

One frozen tree of pydantic models, read from a YAML or JSON file (the packaged default when none
is given) and overridden field by field from the command line or a test. ``config.schema.json``
beside this file is its JSON Schema (``python -m vbotflow_dev.simulator.config --schema``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.yaml")
SCHEMA_PATH = Path(__file__).with_name("config.schema.json")

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
Rate = Field(0.0, ge=0, le=1)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Template(_Settings):
    """A campaign template as defined in VBot's portal: the create call copies it."""

    template_id: int
    group_code: str
    hotline: str
    fields: tuple[str, ...] = ()  # custom fields every contact must carry
    name: str = ""


class Accounts(_Settings):
    """Who may call the simulator (passwords and tokens never reach a repr, hence a log line)."""

    vbot_ids: tuple[str, ...] = ("44634001",)
    users: dict[str, str] = Field(default_factory=lambda: {"demo": "demo-password"}, repr=False)
    static_tokens: tuple[str, ...] = Field(("sim-static-token",), repr=False)
    token_expires_in: int = 3600


class Dialing(_Settings):
    """How VBot dials a campaign, in simulated seconds; ``time_scale`` simulated seconds pass per real one."""

    # False: campaigns are taken and recorded but nobody is called and nothing is delivered (load
    # tests of the create path, where dialing would only compete for the CPU being measured).
    enabled: bool = True
    time_scale: float = Field(600.0, gt=0)
    start_at: datetime | None = None  # the simulated clock of every campaign; None: its create time
    lines: int = Field(10, ge=1)  # calls of one campaign in progress at once
    dial_interval_seconds: float = 2.0  # between the first calls of consecutive contacts
    default_number_call: int = 1
    retry_interval_seconds: float = 1800.0
    outcome_weights: dict[int, float] = Field(default_factory=lambda: dict(DEFAULT_OUTCOME_WEIGHTS))
    account_status: Literal["ok", "low_balance", "expired"] = "ok"  # low_balance: every call 103; expired: 105
    unsupported_carriers: tuple[str, ...] = ("gmobile",)  # status 106
    no_hotline_carriers: tuple[str, ...] = ("itel",)  # status 102
    block_seconds: int = 6  # Vietnamese carriers bill per started 6-second block
    postage_per_block: float = 110.0  # VND
    service_charge_per_minute: float = 300.0  # VND per started minute of an answered call


class Faults(_Settings):
    """What can go wrong with ``POST /api/campaign/create``; rates are shares of create requests."""

    http_500_rate: float = Rate
    error_400_rate: float = Rate
    hang_rate: float = Rate  # the body is read and the campaign created, the answer comes late
    hang_seconds: float = Field(30.0, ge=0)
    latency_seconds: float = Field(0.0, ge=0)  # added to every create


class Chaos(_Settings):
    """What an imperfect sender does to webhook deliveries; rates are shares."""

    duplicate_rate: float = Rate  # of deliveries, sent a second time later
    out_of_order_rate: float = Rate  # of deliveries, held back until after the next one
    malformed_rate: float = Rate  # of deliveries, whose body is cut short (not JSON)
    lowercase_disposition_rate: float = Rate  # of call history records, disposition in lower case
    unknown_status_rate: float = Rate  # of call attempts, ending with a status code no page lists


class Delivery(_Settings):
    """Where and how call results are POSTed (URLs may hold a token, headers may be secrets: no repr)."""

    webhook_url: str | None = Field(None, repr=False)  # auto-call history (2b), one attempt per delivery
    history_webhook_url: str | None = Field(None, repr=False)  # call history (2a); default: webhook_url
    history_batch_size: int = Field(0, ge=0)  # records per call history delivery; 0: none
    headers: dict[str, str] = Field(default_factory=dict, repr=False)  # e.g. a webhook token
    max_attempts: int = Field(6, ge=1)
    backoff_seconds: float = 0.5  # real seconds, doubled after each failed try
    backoff_max_seconds: float = 30.0
    timeout_seconds: float = 5.0


class SimConfig(_Settings):
    """Everything the simulator needs; deterministic for one ``seed``."""

    seed: int = 0
    first_campaign_id: int = 1
    templates: tuple[Template, ...] = ()
    accounts: Accounts = Accounts()
    dialing: Dialing = Dialing()
    faults: Faults = Faults()
    chaos: Chaos = Chaos()
    delivery: Delivery = Delivery()

    def template(self, template_id: int) -> Template | None:
        return next((t for t in self.templates if t.template_id == template_id), None)

    def with_changes(self, **sections: Mapping[str, Any] | Any) -> SimConfig:
        """A copy with fields replaced; a section given as a mapping replaces only its named fields.

        ``config.with_changes(seed=7, faults={"http_500_rate": 1.0})``
        """
        data = self.model_dump()
        for name, value in sections.items():
            if isinstance(value, Mapping) and isinstance(data.get(name), dict) and name in _SECTIONS:
                data[name] = {**data[name], **value}
            else:
                data[name] = value
        return config_from_mapping(data)


_SECTIONS = ("accounts", "dialing", "faults", "chaos", "delivery")


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
    try:
        return SimConfig.model_validate(dict(data))
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            raise ValueError(f"unknown simulator setting {where!r}") from None
        raise ValueError(f"simulator setting {where!r}: {first['msg']}, got {first['input']!r}") from None


def json_schema() -> str:
    """The JSON Schema of a simulator config file, as checked in beside it."""
    return json.dumps(SimConfig.model_json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--schema"]:
        sys.exit("usage: python -m vbotflow_dev.simulator.config --schema")
    sys.stdout.write(json_schema())
