"""Campaign configs: the shipped ones load; invalid ones fail naming the file and the field."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
import yaml

from vbotflow.campaigns.config import CAMPAIGN_NAME_MAX_CHARS, ConfigError, load_config, load_configs

VALID = {
    "name": "nhac_no",
    "template_id": 2932,
    "sql_file": "payment_reminder.sql",
    "fields": {"name": "full_name", "amount": "amount_due"},
    "required_fields": ["name"],
}


def _write(tmp_path: Path, doc: dict, name: str = "nhac_no") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_configs_load() -> None:
    configs = {c.name: c for c in load_configs()}
    assert set(configs) == {"payment_reminder", "appointment_confirmation"}
    reminder = configs["payment_reminder"]
    assert (reminder.template_id, reminder.window_start, reminder.window_end) == (2932, time(8, 30), time(17, 0))
    assert reminder.dag_id == "vbot_campaign__payment_reminder"
    assert reminder.campaign_name_for(date(2026, 11, 26), 3) == "payment_reminder_20261126_3"


def test_defaults_follow_the_law(tmp_path) -> None:
    config = load_config(_write(tmp_path, VALID))
    assert (config.window_start, config.window_end, config.frequency_cap_hours) == (time(8), time(17), 24)
    assert (config.number_call, config.max_phones_per_campaign, config.crm_conn_id) == (1, 500, "crm_db")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"template_id": "abc"}, "field 'template_id': Input should be a valid integer, got 'abc'"),
        ({"template_id": None}, "field 'template_id': Input should be a valid integer, got None"),
        ({"name": "Nhac-No"}, "field 'name': lower-case letters"),
        ({"name": "other"}, "field 'name': must match the file name ('nhac_no'), got 'other'"),
        ({"sql_file": "nope.sql"}, "field 'sql_file': no such file"),
        ({"fields": {"phone": "phone"}}, "field 'fields': 'phone' is set by vbotflow"),
        ({"fields": []}, "field 'fields': Input should be a valid dictionary, got []"),
        ({"required_fields": ["due_date"]}, "field 'required_fields': not mapped in 'fields': due_date"),
        ({"number_call": 0}, "field 'number_call': Input should be greater than or equal to 1, got 0"),
        ({"max_phones_per_campaign": -5},
         "field 'max_phones_per_campaign': Input should be greater than or equal to 1, got -5"),
        ({"calling_window": {"start": "07:00", "end": "17:00"}},
         "field 'calling_window': 07:00–17:00 is outside the legal 08:00–17:00 (Decree 91/2020); set "
         "relax_legal_limits: true"),
        ({"calling_window": {"start": "08:00", "end": "20:00"}}, "outside the legal 08:00–17:00"),
        ({"calling_window": {"start": "12:00", "end": "09:00"}},
         "field 'calling_window': start 12:00:00 is not before"),
        ({"calling_window": {"start": "8h"}}, "field 'calling_window.start': Input should be in a valid time format"),
        ({"suppression": {"frequency_cap_hours": 12}},
         "field 'suppression.frequency_cap_hours': 12 h is below the legal 24 h"),
        ({"sql_params": {"due_until": "3 days"}},
         "field 'sql_params.due_until': expected a day offset such as '+3d' or '-1d', got '3 days'"),
        ({"relax_legal_limits": "yes"}, "field 'relax_legal_limits': Input should be a valid boolean, got 'yes'"),
        ({"enabeld": True}, "field 'enabeld': unknown field"),
        ({"number_call": 11}, "field 'number_call': Input should be less than or equal to 10, got 11"),
        ({"number_call": "2"}, "field 'number_call': Input should be a valid integer, got '2'"),
        ({"sql_params": {"x; DROP TABLE customers": "+1d"}}, "field 'sql_params.x; DROP TABLE customers.[key]': "
         "String should match pattern"),
        ({"sql_params": {"due_until": "+1d; DROP TABLE customers"}}, "expected a day offset such as '+3d'"),
        ({"recycling": {"max_attempts": 0}}, "field 'recycling.max_attempts': Input should be greater than or equal"),
        ({"columns": {"telephone": "x"}},
         "field 'columns.telephone': unknown field (known: contact_id, phone, updated_at, dnc)"),
        ({"max_create_tasks": 0}, "field 'max_create_tasks': Input should be greater than or equal to 1, got 0"),
        ({"campaign_name": "{config}_{yyyymmdd}"},
         "field 'campaign_name': '{config}_{yyyymmdd}' must contain {n} and {yyyymmdd} or {date}: every campaign "
         "needs a name of its own"),
        ({"campaign_name": "{config}_{n}"}, "field 'campaign_name': '{config}_{n}' must contain {n} and {yyyymmdd}"),
        ({"campaign_name": "{config}_{day}_{n}"},
         "field 'campaign_name': '{config}_{day}_{n}' is not a name template (KeyError: 'day'); placeholders: "
         "{config}, {yyyymmdd}, {date}, {n}"),
        ({"task_retries": {"count": 0}}, "field 'task_retries.count': Input should be greater than or equal to 1"),
        ({"task_retries": {"delay_seconds": 0}},
         "field 'task_retries.delay_seconds': Input should be greater than or equal to 1"),
        ({"campaign_name": "{config} {date} … {n}"},
         "field 'campaign_name': '{config} {date} … {n}' must not contain '…'"),
    ],
)
def test_invalid_configs_name_file_and_field(tmp_path, change, message) -> None:
    path = _write(tmp_path, {**VALID, **change})
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


@pytest.mark.parametrize("missing", ["name", "template_id", "sql_file", "fields"])
def test_required_keys(tmp_path, missing) -> None:
    doc = {k: v for k, v in VALID.items() if k != missing}
    with pytest.raises(ConfigError, match=f"field '{missing}': is required"):
        load_config(_write(tmp_path, doc))


def test_campaign_names_must_fit_the_label_airflow_keeps_for_a_create_task(tmp_path) -> None:
    # "nhac_no_" + x… + "_20261231_999999": the longest name a template makes, 8 + k + 16 characters
    fits = load_config(_write(tmp_path, {**VALID, "campaign_name": "{config}_" + "x" * 90 + "_{yyyymmdd}_{n}"}))
    assert len(fits.campaign_name_for(date(2026, 12, 31), 999_999)) == CAMPAIGN_NAME_MAX_CHARS == 114
    path = _write(tmp_path, {**VALID, "campaign_name": "{config}_" + "x" * 91 + "_{yyyymmdd}_{n}"})
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (
        f"{path}: field 'campaign_name': '{{config}}_{'x' * 91}_{{yyyymmdd}}_{{n}}' makes names of up to 115 "
        f"characters ('nhac_no_{'x' * 91}_20261231_999999'); at most 114 fit in the label Airflow keeps for a "
        "create task (250 characters, two names)")


def test_relaxing_the_law_must_be_explicit(tmp_path) -> None:
    doc = {**VALID, "calling_window": {"start": "07:00", "end": "20:00"},
           "suppression": {"frequency_cap_hours": 0}, "relax_legal_limits": True}
    config = load_config(_write(tmp_path, doc))
    assert (config.window_start, config.window_end, config.frequency_cap_hours) == (time(7), time(20), 0)


def test_not_yaml(tmp_path) -> None:
    path = tmp_path / "nhac_no.yaml"
    path.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_the_checked_in_json_schema_is_current() -> None:
    from vbotflow.campaigns.config import SCHEMA_PATH, json_schema

    assert SCHEMA_PATH.read_text(encoding="utf-8") == json_schema(), (
        "regenerate: python -m vbotflow.campaigns.config --schema > include/campaigns/campaign.schema.json")


def test_the_shipped_configs_validate_against_the_json_schema() -> None:
    import json

    import jsonschema

    from vbotflow.campaigns.config import CAMPAIGNS_DIR, SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    for path in sorted(CAMPAIGNS_DIR.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    with pytest.raises(jsonschema.ValidationError, match="'enabeld' was unexpected"):
        jsonschema.validate({**VALID, "enabeld": True}, schema)
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        jsonschema.validate({**VALID, "sql_params": {"due_until": "3 days"}}, schema)
