"""Campaign configs: one YAML file per daily campaign in ``include/campaigns/``, validated on load.

The models mirror the YAML; ``campaign.schema.json`` beside the configs is generated from them
(``python -m vbotflow.campaigns.config --schema``) so that editors validate a config as it is typed.
Errors name the file and the field: ``<path>: field 'calling_window': …``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# The shipped configs; VBOTFLOW_CAMPAIGNS_DIR points the DAG factory elsewhere (tests, staging).
CAMPAIGNS_DIR = Path(__file__).resolve().parents[2] / "campaigns"
SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
SCHEMA_PATH = CAMPAIGNS_DIR / "campaign.schema.json"

# Decree 91/2020/ND-CP: advertising calls 08:00–17:00, at most one per number per 24 h.
LEGAL_WINDOW = (time(8, 0), time(17, 0))
LEGAL_FREQUENCY_CAP_HOURS = 24
VBOT_RESERVED_KEYS = ("phone", "numberCall")
DAY_OFFSET_PATTERN = r"^[+-]\d+d$"
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"
# Airflow keeps a task instance's label (its rendered map index) in a VARCHAR(250) column: on
# PostgreSQL a longer label fails the task after it ran. A create task's label is a campaign name,
# or "first … last (N campaigns)" (build.group_label), so two names, the separator and the count
# (six digits at most) must fit.
TASK_LABEL_MAX_CHARS = 250
LONGEST_CHUNK_NUMBER = 999_999
CAMPAIGN_NAME_MAX_CHARS = (TASK_LABEL_MAX_CHARS - len(" … ") - len(f" ({LONGEST_CHUNK_NUMBER} campaigns)")) // 2


class ConfigError(ValueError):
    """A campaign config is invalid; the message names the file and the field."""


class _FieldProblem(ValueError):
    """Raised by checks that span fields, so the error still names the field a person must change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


DAG_ID_PREFIX = "vbot_campaign__"


def dag_id_for(config_name: str) -> str:
    """The Airflow DAG of a campaign config: ``vbot_campaign__<name>``."""
    return f"{DAG_ID_PREFIX}{config_name}"


def config_name_of(dag_id: str) -> str | None:
    """The campaign config a DAG id belongs to, or None for any other DAG."""
    return dag_id.removeprefix(DAG_ID_PREFIX) if dag_id.startswith(DAG_ID_PREFIX) else None


def _day_offset(value: object) -> object:
    """``"+3d"`` → 3 (days after the run date); anything else is left for the int check to refuse."""
    if isinstance(value, str) and re.match(DAY_OFFSET_PATTERN, value.strip()):
        return int(value.strip()[:-1])
    if isinstance(value, str | int) and not isinstance(value, bool):
        raise ValueError(f"expected a day offset such as '+3d' or '-1d', got {value!r}")
    return value


def _clock_time(value: object) -> object:
    # YAML 1.1 reads an unquoted 08:00 as sexagesimal minutes (480).
    if isinstance(value, int) and not isinstance(value, bool):
        return time(value // 60, value % 60)
    return value


DayOffset = Annotated[int, BeforeValidator(_day_offset, json_schema_input_type=Annotated[
    str, Field(pattern=DAY_OFFSET_PATTERN)])]
ClockTime = Annotated[time, BeforeValidator(_clock_time, json_schema_input_type=Annotated[
    str, Field(pattern=r"^\d{1,2}:\d{2}(:\d{2})?$")])]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(_Section):
    """Which CRM columns hold the contact id, the phone, the last update and the DNC flag."""

    contact_id: str = "contact_id"
    phone: str = "phone"
    updated_at: str | None = "updated_at"
    dnc: str | None = None


class CallingWindow(_Section):
    """When VBot may dial, Vietnam time (Decree 91/2020: 08:00–17:00 unless relaxed explicitly)."""

    start: ClockTime = LEGAL_WINDOW[0]
    end: ClockTime = LEGAL_WINDOW[1]

    @model_validator(mode="after")
    def _start_before_end(self) -> CallingWindow:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} is not before end {self.end}")
        return self


class Suppression(_Section):
    """At most one send per number within this many hours (24 by law unless relaxed explicitly)."""

    frequency_cap_hours: StrictInt = Field(LEGAL_FREQUENCY_CAP_HOURS, ge=0)


class Recycling(_Section):
    """Unanswered contacts come back, spaced, up to a limit."""

    max_attempts: StrictInt = Field(3, ge=1)
    retry_after_hours: StrictInt = Field(24, ge=0)


class TaskRetries(_Section):
    """Airflow's retries of the DAG's tasks: a retry never sends a created or ambiguous chunk again."""

    count: StrictInt = Field(2, ge=1, le=10)
    delay_seconds: StrictInt = Field(120, ge=1, le=3600)


class CampaignConfig(_Section):
    """One daily campaign: where its list comes from and how it becomes VBot campaigns."""

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN},
                      description="Lower-case letters, digits and '_'; the file name without .yaml; the DAG "
                                  "is vbot_campaign__<name>.")
    template_id: StrictInt = Field(ge=1, description="The VBot template campaign to copy (campaignId).")
    sql_file: Path = Field(description="SQL file of the list, relative to include/sql/ (bound parameters only).")
    fields: dict[str, str] = Field(min_length=1, description="VBot template field → CRM column.")
    enabled: StrictBool = True
    description: str = ""
    group_code: str | None = Field(None, description="groupCode; default: the vbot connection's group_code.")
    crm_conn_id: str = "crm_db"
    sql_params: dict[Identifier, DayOffset] = Field(
        default_factory=dict, description="Extra bound parameters: name → day offset from the run date ('+3d').")
    columns: Columns = Columns()
    required_fields: tuple[str, ...] = Field((), description="Template fields that must not be empty.")
    number_call: StrictInt = Field(1, ge=1, le=10, description="How many times VBot may call each number.")
    max_phones_per_campaign: StrictInt = Field(500, ge=1, le=100_000)
    max_create_tasks: StrictInt = Field(
        16, ge=1, le=1024,
        description="At most this many create_campaign task instances a day: one per campaign while the day "
                    "has no more campaigns than this, else groups of consecutive campaigns, each campaign "
                    "still created exactly once through its own campaign_run row.")
    campaign_name: str = Field(
        "{config}_{yyyymmdd}_{n}",
        description="VBot campaign name; placeholders {config}, {yyyymmdd}, {date} and {n} (the chunk "
                    "number). {n} and a date are required: every campaign needs a name of its own. No '…'. "
                    f"At most {CAMPAIGN_NAME_MAX_CHARS} characters (a create task's label holds two names).")
    schedule: str = Field("0 8 * * *", description="Cron, Asia/Ho_Chi_Minh.")
    calling_window: CallingWindow = CallingWindow()
    suppression: Suppression = Suppression()
    recycling: Recycling = Recycling()
    task_retries: TaskRetries = TaskRetries()
    relax_legal_limits: StrictBool = Field(
        False, description="Allow a calling window beyond 08:00–17:00 or a frequency cap below 24 h.")
    tags: tuple[str, ...] = ()

    _path: Path = PrivateAttr(default=Path("<memory>"))

    @field_validator("name")
    @classmethod
    def _name_is_the_file_name(cls, name: str, info: ValidationInfo) -> str:
        if not re.match(NAME_PATTERN, name):
            raise ValueError(f"lower-case letters, digits and '_', starting with a letter; got {name!r}")
        path = (info.context or {}).get("path")
        if path is not None and Path(path).stem != name:
            raise ValueError(f"must match the file name ({Path(path).stem!r}), got {name!r}")
        return name

    @field_validator("sql_file")
    @classmethod
    def _sql_file_exists(cls, sql_file: Path) -> Path:
        sql_file = sql_file if sql_file.is_absolute() else SQL_DIR / sql_file
        if not sql_file.is_file():
            raise ValueError(f"no such file {sql_file}")
        return sql_file

    @field_validator("campaign_name")
    @classmethod
    def _campaign_name_is_a_template(cls, template: str) -> str:
        try:
            names = {template.format(config="c", yyyymmdd=f"2026010{day}", date=f"2026-01-0{day}", n=n)
                     for day in (1, 2) for n in (1, 2)}
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f"{template!r} is not a name template ({type(err).__name__}: {err}); "
                             "placeholders: {config}, {yyyymmdd}, {date}, {n}") from None
        if len(names) < 4:
            raise ValueError(f"{template!r} must contain {{n}} and {{yyyymmdd}} or {{date}}: every campaign "
                             "needs a name of its own (VBot's portal and the resolve command go by it)")
        if "…" in template:
            raise ValueError(f"{template!r} must not contain '…' (it separates names in a create task's label)")
        return template

    @field_validator("fields")
    @classmethod
    def _no_reserved_keys(cls, fields: dict[str, str]) -> dict[str, str]:
        for reserved in VBOT_RESERVED_KEYS:
            if reserved in fields:
                raise ValueError(f"'{reserved}' is set by vbotflow, not mapped from a column")
        return fields

    @field_validator("required_fields")
    @classmethod
    def _required_fields_are_mapped(cls, required: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        missing = [f for f in required if f not in info.data.get("fields", {})]
        if missing:
            raise ValueError(f"not mapped in 'fields': {', '.join(missing)}")
        return required

    @model_validator(mode="after")
    def _names_fit_a_task_label(self) -> CampaignConfig:
        longest = self.campaign_name_for(date(2026, 12, 31), LONGEST_CHUNK_NUMBER)
        if len(longest) > CAMPAIGN_NAME_MAX_CHARS:
            raise _FieldProblem("campaign_name", f"{self.campaign_name!r} makes names of up to {len(longest)} "
                                f"characters ({longest!r}); at most {CAMPAIGN_NAME_MAX_CHARS} fit in the label "
                                f"Airflow keeps for a create task ({TASK_LABEL_MAX_CHARS} characters, two names)")
        return self

    @model_validator(mode="after")
    def _within_the_law(self) -> CampaignConfig:
        if self.relax_legal_limits:
            return self
        if self.window_start < LEGAL_WINDOW[0] or self.window_end > LEGAL_WINDOW[1]:
            raise _FieldProblem("calling_window", f"{self.window_start:%H:%M}–{self.window_end:%H:%M} is outside "
                                "the legal 08:00–17:00 (Decree 91/2020); set relax_legal_limits: true to allow "
                                "it explicitly")
        if self.frequency_cap_hours < LEGAL_FREQUENCY_CAP_HOURS:
            raise _FieldProblem("suppression.frequency_cap_hours", f"{self.frequency_cap_hours} h is below the "
                                "legal 24 h (Decree 91/2020); set relax_legal_limits: true to allow it explicitly")
        return self

    # -- what the rest of the code reads ----------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @property
    def dag_id(self) -> str:
        return dag_id_for(self.name)

    @property
    def window_start(self) -> time:
        return self.calling_window.start

    @property
    def window_end(self) -> time:
        return self.calling_window.end

    @property
    def frequency_cap_hours(self) -> int:
        return self.suppression.frequency_cap_hours

    @property
    def max_attempts(self) -> int:
        return self.recycling.max_attempts

    @property
    def retry_after_hours(self) -> int:
        return self.recycling.retry_after_hours

    def campaign_name_for(self, run_date: date, chunk_number: int) -> str:
        return self.campaign_name.format(config=self.name, yyyymmdd=run_date.strftime("%Y%m%d"),
                                         date=run_date.isoformat(), n=chunk_number)


def _describe(path: Path, error: ValidationError) -> ConfigError:
    first = error.errors(include_url=False)[0]
    problem = (first.get("ctx") or {}).get("error")
    if isinstance(problem, _FieldProblem):
        return ConfigError(f"{path}: field '{problem.field}': {problem}")
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        return ConfigError(f"{path}: field '{where}': is required")
    if first["type"] == "extra_forbidden":
        section: type[BaseModel] = CampaignConfig
        for part in first["loc"][:-1]:
            section = section.model_fields[str(part)].annotation  # type: ignore[assignment]
        return ConfigError(f"{path}: field '{where}': unknown field (known: {', '.join(section.model_fields)})")
    if first["type"] == "value_error":  # our own checks say what they got
        return ConfigError(f"{path}: field '{where}': {message}")
    return ConfigError(f"{path}: field '{where}': {message}, got {first['input']!r}")


def parse_config(raw: Any, path: Path) -> CampaignConfig:
    """Validate one parsed YAML document."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        config = CampaignConfig.model_validate(raw, context={"path": path})
    except ValidationError as err:
        raise _describe(path, err) from None
    config._path = path
    return config


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


def json_schema() -> str:
    """The JSON Schema of a campaign YAML file, as checked in beside the configs."""
    schema = CampaignConfig.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vbotflow campaign config"
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--schema"]:
        sys.exit("usage: python -m vbotflow.campaigns.config --schema > include/campaigns/campaign.schema.json")
    sys.stdout.write(json_schema())
