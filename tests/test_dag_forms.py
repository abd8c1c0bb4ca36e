"""What the trigger forms accept and what the DAG pages say, checked the way the API server checks a trigger."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vbotflow.campaigns.config import load_configs

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
CAMPAIGN_DAGS = sorted(c.dag_id for c in load_configs() if c.enabled)


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    return bag


def _as_served(dag):
    """The DAG as the API server holds it (serialized), whose params check a trigger's conf."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def _trigger_error(dag, conf: dict) -> str | None:
    from airflow.sdk.exceptions import ParamValidationError

    try:
        _as_served(dag).params.deep_merge(conf).validate()
    except ParamValidationError as err:
        return str(err).splitlines()[0]
    return None


@pytest.mark.parametrize("dag_id", ["vbot_preview", *CAMPAIGN_DAGS])
@pytest.mark.parametrize(("limit", "error"), [
    (-5, "Invalid input for param limit: -5 is less than or equal to the minimum of 0"),
    (0, "Invalid input for param limit: 0 is less than or equal to the minimum of 0"),
    (2.5, "Invalid input for param limit: 2.5 is not of type 'null', 'integer'"),
    ("ten", "Invalid input for param limit: 'ten' is not of type 'null', 'integer'"),
    (1, None),
    (None, None),
])
def test_limit_is_a_whole_number_from_one_and_nothing_else(dagbag, dag_id, limit, error) -> None:
    assert _trigger_error(dagbag.dags[dag_id], {"limit": limit}) == error


def test_no_number_field_has_a_minimum_the_form_would_clamp_to(dagbag) -> None:
    # Airflow's number field silently clamps a typed value to the schema's "minimum" (-5 becomes 1):
    # the limit uses exclusiveMinimum, which the form leaves alone and the API refuses.
    for dag_id in ["vbot_preview", *CAMPAIGN_DAGS]:
        schema = dagbag.dags[dag_id].params.get_param("limit").schema
        assert "minimum" not in schema and schema["exclusiveMinimum"] == 0, dag_id


@pytest.mark.parametrize("dag_id", ["vbot_preview", *CAMPAIGN_DAGS])
def test_run_date_is_a_day(dagbag, dag_id) -> None:
    dag = dagbag.dags[dag_id]
    assert _trigger_error(dag, {"run_date": "2026-11-26"}) is None
    for wrong in ("2026-13-01", "26/11/2026"):
        expected = f"Invalid input for param run_date: {wrong!r} is not a 'date'"
        assert _trigger_error(dag, {"run_date": wrong}) == expected


def test_the_preview_campaign_is_chosen_from_the_configs(dagbag) -> None:
    preview = dagbag.dags["vbot_preview"]
    schema = preview.params.get_param("config").schema
    names = sorted(c.name for c in load_configs() if c.enabled)
    assert schema["enum"] == names and preview.params["config"] == names[0]
    assert set(schema["values_display"]) == set(names)
    assert _trigger_error(preview, {"config": "no_such_campaign"}) == (
        f"Invalid input for param config: 'no_such_campaign' is not one of {names!r}")
    # The form's defaults make a valid preview: triggering without touching anything works.
    assert _trigger_error(preview, {}) is None


def test_the_preview_dag_cannot_send_or_start_anything(dagbag) -> None:
    preview = dagbag.dags["vbot_preview"]
    assert [t.task_id for t in preview.tasks] == ["preview_list"]
    assert [t.outlets for t in preview.tasks] == [[]]
    assert type(preview.timetable).__name__ == "NullTimetable"  # no schedule: unpausing it starts nothing
    assert "VBotHook" not in (DAGS_DIR / "vbot_preview.py").read_text()


def test_campaign_dags_have_no_dry_run(dagbag) -> None:
    for dag_id in CAMPAIGN_DAGS:
        assert set(dagbag.dags[dag_id].params) == {"limit", "run_date"}, dag_id


def test_every_param_has_a_title_and_a_description(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        for name, param in dag.params.items():
            assert param.schema.get("title"), f"{dag_id}.{name} has no title"
            assert param.description, f"{dag_id}.{name} has no description"


def test_date_defaults_are_stated_and_no_picker_claims_a_typed_format(dagbag) -> None:
    # A date param is a date picker, which shows the browser's own format (mm/dd/yyyy in en-US):
    # its description says what an empty field means, not a format to type.
    for dag_id, dag in dagbag.dags.items():
        for name, param in dag.params.items():
            if param.schema.get("format") == "date":
                assert "YYYY" not in param.description, f"{dag_id}.{name}"
                assert "Empty:" in param.description and "Asia/Ho_Chi_Minh" in param.description, f"{dag_id}.{name}"


def test_reconcile_thresholds_are_explained(dagbag) -> None:
    params = dagbag.dags["vbot_reconcile"].params
    for name in ("max_reject_rate", "max_missing_rate"):
        assert "check_rates fails" in params.get_param(name).description


def _prose(markdown: str) -> str:
    """Markdown minus code spans, where an underscore is literal anyway."""
    return re.sub(r"`[^`]*`", "", markdown)


def test_doc_markdown_keeps_its_underscores(dagbag) -> None:
    # Markdown turns _x_ into emphasis: "Asia/Ho_Chi_Minh" was shown as "Asia/Ho Chi Minh".
    for dag_id, dag in dagbag.dags.items():
        assert re.findall(r"(?<!\\)_", _prose(dag.doc_md)) == [], f"{dag_id}: unescaped _ in doc_md"
    assert r"Asia/Ho\_Chi\_Minh" in dagbag.dags[CAMPAIGN_DAGS[0]].doc_md
