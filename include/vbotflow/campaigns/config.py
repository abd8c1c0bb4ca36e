"""Campaign configs: one YAML file per daily campaign in ``include/campaigns/``, validated on load."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

import yaml

# The shipped configs; VBOTFLOW_CAMPAIGNS_DIR points the DAG factory elsewhere (tests, staging).
CAMPAIGNS_DIR = Path(__file__).resolve().parents[2] / "campaigns"
SQL_DIR = Path(__file__).resolve().parents[2] / "sql"

# Decree 91/2020/ND-CP: advertising calls 08:00–17:00, at most one per number per 24 h.
LEGAL_WINDOW = (time(8, 0), time(17, 0))
LEGAL_FREQUENCY_CAP_HOURS = 24
VBOT_RESERVED_KEYS = ("phone", "numberCall")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_OFFSET = re.compile(r"^([+-]\d+)d$")
_KNOWN_KEYS = {
    "name", "enabled", "description", "template_id", "group_code", "sql_file", "crm_conn_id", "sql_params",
    "columns", "fields", "required_fields", "number_call", "max_phones_per_campaign", "campaign_name",
    "schedule", "calling_window", "suppression", "recycling", "relax_legal_limits", "tags",
}


class ConfigError(ValueError):
    """A campaign config is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Columns:
    """Which CRM columns hold the contact id, the phone, the last update and the DNC flag."""

    contact_id: str = "contact_id"
    phone: str = "phone"
    updated_at: str | None = "updated_at"
    dnc: str | None = None


@dataclass(frozen=True)
class CampaignConfig:
    """One daily campaign: where its list comes from and how it becomes VBot campaigns."""

    name: str
    template_id: int
    sql_file: Path
    fields: dict[str, str]
    path: Path
    enabled: bool = True
    description: str = ""
    group_code: str | None = None
    crm_conn_id: str = "crm_db"
    sql_params: dict[str, str] = field(default_factory=dict)
    columns: Columns = Columns()
    required_fields: tuple[str, ...] = ()
    number_call: int = 1
    max_phones_per_campaign: int = 500
    campaign_name: str = "{config}_{yyyymmdd}_{n}"
    schedule: str = "0 8 * * *"
    window_start: time = LEGAL_WINDOW[0]
    window_end: time = LEGAL_WINDOW[1]
    frequency_cap_hours: int = LEGAL_FREQUENCY_CAP_HOURS
    max_attempts: int = 3
    retry_after_hours: int = 24
    relax_legal_limits: bool = False
    tags: tuple[str, ...] = ()

    @property
    def dag_id(self) -> str:
        return f"vbot_campaign__{self.name}"

    def campaign_name_for(self, run_date: Any, chunk_number: int) -> str:
        return self.campaign_name.format(config=self.name, yyyymmdd=run_date.strftime("%Y%m%d"),
                                         date=run_date.isoformat(), n=chunk_number)


def _fail(path: Path, field_name: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: field '{field_name}': {message}")


def _time(path: Path, field_name: str, value: object) -> time:
    if isinstance(value, int):  # YAML reads 08:00 unquoted as sexagesimal minutes
        return time(value // 60, value % 60)
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise _fail(path, field_name, f"expected HH:MM, got {value!r}") from None


def _positive_int(path: Path, field_name: str, value: object, *, minimum: int = 1, maximum: int | None = None
                  ) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
            maximum is not None and value > maximum):
        bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise _fail(path, field_name, f"expected an integer {bounds}, got {value!r}")
    return value


def parse_config(raw: Any, path: Path) -> CampaignConfig:
    """Validate one parsed YAML document."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise _fail(path, unknown[0], f"unknown field (known: {', '.join(sorted(_KNOWN_KEYS))})")
    for required in ("name", "template_id", "sql_file", "fields"):
        if required not in raw:
            raise _fail(path, required, "is required")

    name = raw["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(path, "name", f"lower-case letters, digits and '_', starting with a letter; got {name!r}")
    if path.stem != name:
        raise _fail(path, "name", f"must match the file name ({path.stem!r}), got {name!r}")
    template_id = _positive_int(path, "template_id", raw["template_id"])

    sql_file = Path(str(raw["sql_file"]))
    sql_file = sql_file if sql_file.is_absolute() else SQL_DIR / sql_file
    if not sql_file.is_file():
        raise _fail(path, "sql_file", f"no such file {sql_file}")

    fields = raw["fields"]
    if not isinstance(fields, dict) or not fields or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
        raise _fail(path, "fields", "expected a mapping of VBot keys to CRM columns")
    for reserved in VBOT_RESERVED_KEYS:
        if reserved in fields:
            raise _fail(path, "fields", f"'{reserved}' is set by vbotflow, not mapped from a column")

    columns_raw = raw.get("columns") or {}
    if not isinstance(columns_raw, dict) or set(columns_raw) - {"contact_id", "phone", "updated_at", "dnc"}:
        raise _fail(path, "columns", "expected a mapping with keys contact_id, phone, updated_at, dnc")
    columns = Columns(**columns_raw)

    required_fields = tuple(raw.get("required_fields") or ())
    missing = [f for f in required_fields if f not in fields]
    if missing:
        raise _fail(path, "required_fields", f"not mapped in 'fields': {', '.join(missing)}")

    sql_params = raw.get("sql_params") or {}
    if not isinstance(sql_params, dict) or not all(_OFFSET.match(str(v)) for v in sql_params.values()):
        raise _fail(path, "sql_params", "expected a mapping of names to day offsets such as '+3d'")

    window = raw.get("calling_window") or {}
    if not isinstance(window, dict) or set(window) - {"start", "end"}:
        raise _fail(path, "calling_window", "expected a mapping with keys start, end")
    window_start = _time(path, "calling_window.start", window.get("start", "08:00"))
    window_end = _time(path, "calling_window.end", window.get("end", "17:00"))
    if window_start >= window_end:
        raise _fail(path, "calling_window", f"start {window_start} is not before end {window_end}")

    suppression = raw.get("suppression") or {}
    cap = _positive_int(path, "suppression.frequency_cap_hours",
                        suppression.get("frequency_cap_hours", LEGAL_FREQUENCY_CAP_HOURS), minimum=0)
    recycling = raw.get("recycling") or {}

    relax = raw.get("relax_legal_limits", False)
    if not isinstance(relax, bool):
        raise _fail(path, "relax_legal_limits", f"expected true or false, got {relax!r}")
    if not relax:
        if window_start < LEGAL_WINDOW[0] or window_end > LEGAL_WINDOW[1]:
            raise _fail(path, "calling_window", f"{window_start:%H:%M}–{window_end:%H:%M} is outside the legal "
                        "08:00–17:00 (Decree 91/2020); set relax_legal_limits: true to allow it explicitly")
        if cap < LEGAL_FREQUENCY_CAP_HOURS:
            raise _fail(path, "suppression.frequency_cap_hours", f"{cap} h is below the legal 24 h "
                        "(Decree 91/2020); set relax_legal_limits: true to allow it explicitly")

    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(path, "enabled", f"expected true or false, got {enabled!r}")
    return CampaignConfig(
        name=name,
        template_id=template_id,
        sql_file=sql_file,
        fields=dict(fields),
        path=path,
        enabled=enabled,
        description=str(raw.get("description") or ""),
        group_code=str(raw["group_code"]) if raw.get("group_code") else None,
        crm_conn_id=str(raw.get("crm_conn_id") or "crm_db"),
        sql_params={str(k): str(v) for k, v in sql_params.items()},
        columns=columns,
        required_fields=required_fields,
        number_call=_positive_int(path, "number_call", raw.get("number_call", 1), maximum=10),
        max_phones_per_campaign=_positive_int(path, "max_phones_per_campaign",
                                              raw.get("max_phones_per_campaign", 500), maximum=100_000),
        campaign_name=str(raw.get("campaign_name") or "{config}_{yyyymmdd}_{n}"),
        schedule=str(raw.get("schedule") or "0 8 * * *"),
        window_start=window_start,
        window_end=window_end,
        frequency_cap_hours=cap,
        max_attempts=_positive_int(path, "recycling.max_attempts", recycling.get("max_attempts", 3)),
        retry_after_hours=_positive_int(path, "recycling.retry_after_hours",
                                        recycling.get("retry_after_hours", 24), minimum=0),
        relax_legal_limits=relax,
        tags=tuple(str(t) for t in raw.get("tags") or ()),
    )


def load_config(path: Path | str) -> CampaignConfig:
    """Load and validate one campaign YAML file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    return parse_config(raw, path)


def load_configs(directory: Path | str | None = None) -> list[CampaignConfig]:
    """Every ``*.yaml`` in the directory (default: ``$VBOTFLOW_CAMPAIGNS_DIR`` or include/campaigns)."""
    directory = directory or os.environ.get("VBOTFLOW_CAMPAIGNS_DIR") or CAMPAIGNS_DIR
    return [load_config(p) for p in sorted(Path(directory).glob("*.yaml"))]
