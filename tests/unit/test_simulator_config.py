"""Simulator settings: the packaged demo account, config files, and command line overrides."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from vbotflow.cli.main import build_parser
from vbotflow_dev.simulator import default_config, load_config
from vbotflow_dev.simulator.commands import config_from_args


def test_the_default_config_is_the_demo_account_with_both_templates() -> None:
    config = default_config()
    assert config.accounts.vbot_ids == ("44634001",)
    assert config.accounts.users == {"demo": "demo-password"}
    assert config.accounts.static_tokens == ("sim-static-token",)
    reminder, appointment = config.template(2932), config.template(3101)
    assert (reminder.group_code, reminder.fields) == ("PR2023030714401", ("amount", "due_date"))
    assert appointment.fields == ("appointment_at", "branch")
    assert config.template(1) is None


def test_secrets_stay_out_of_the_config_repr() -> None:
    text = repr(default_config(delivery={"headers": {"X-Token": "hdr-secret"}, "webhook_url": "http://h/?t=url-secret"}))
    for secret in ("demo-password", "sim-static-token", "hdr-secret", "url-secret"):
        assert secret not in text


def test_a_json_config_file_replaces_the_templates_and_keeps_other_defaults(tmp_path) -> None:
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({"seed": 9, "templates": [{"template_id": 7, "group_code": "G", "hotline": "1900"}],
                                "dialing": {"outcome_weights": {"200": 1}, "unsupported_carriers": []}}))
    config = load_config(path)
    assert (config.seed, [t.template_id for t in config.templates]) == (9, [7])
    assert config.dialing.outcome_weights == {200: 1.0} and config.dialing.unsupported_carriers == ()
    assert config.dialing.lines == 10  # untouched settings keep their defaults


def test_an_unknown_setting_is_an_error_not_ignored() -> None:
    with pytest.raises(ValueError, match="unknown simulator setting 'faults.http_500'"):
        default_config(faults={"http_500": 1.0})
    with pytest.raises(ValueError, match="simulator setting 'faults.hang_rate': Input should be less than or equal "
                                         "to 1, got 2"):
        default_config(faults={"hang_rate": 2})
    with pytest.raises(ValueError, match="simulator setting 'dialing.account_status': Input should be 'ok'"):
        default_config(dialing={"account_status": "broke"})


def test_the_checked_in_json_schema_is_current() -> None:
    from vbotflow_dev.simulator.config import SCHEMA_PATH, json_schema

    assert SCHEMA_PATH.read_text(encoding="utf-8") == json_schema(), (
        "regenerate: python -m vbotflow_dev.simulator.config --schema > "
        "include/vbotflow_dev/simulator/config.schema.json")


def test_command_line_options_override_the_file() -> None:
    args = build_parser().parse_args([
        "simulator", "--port", "0", "--webhook-url", "http://127.0.0.1:9/hook", "--seed", "4", "--time-scale", "3600",
        "--start-at", "2026-11-26T08:00:00", "--http-500-rate", "0.25", "--hang-seconds", "3",
        "--duplicate-rate", "0.1", "--history-batch-size", "5", "--webhook-header", "X-Token: abc",
        "--token-expires-in", "60", "--account-status", "low_balance"])
    config = config_from_args(args)
    assert args.handler.__module__ == "vbotflow_dev.simulator.commands"
    assert (config.seed, config.dialing.time_scale, config.dialing.start_at) == (4, 3600.0, datetime(2026, 11, 26, 8))
    assert (config.faults.http_500_rate, config.faults.hang_seconds, config.faults.error_400_rate) == (0.25, 3.0, 0.0)
    assert (config.chaos.duplicate_rate, config.delivery.history_batch_size) == (0.1, 5)
    assert config.delivery.webhook_url == "http://127.0.0.1:9/hook" and config.delivery.headers == {"X-Token": "abc"}
    assert (config.accounts.token_expires_in, config.dialing.account_status) == (60, "low_balance")
    assert len(config.templates) == 2  # from the default file


def test_no_dialing_on_the_command_line_turns_dialing_off_and_its_absence_keeps_it_on() -> None:
    off = config_from_args(build_parser().parse_args(["simulator", "--no-dialing"]))
    on = config_from_args(build_parser().parse_args(["simulator"]))
    assert (off.dialing.enabled, on.dialing.enabled) == (False, True)


def test_the_simulator_imports_no_airflow() -> None:
    import subprocess
    import sys

    code = ("import sys, vbotflow_dev.simulator, vbotflow_dev.simulator.commands, vbotflow.cli.main; "
            "vbotflow.cli.main.build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'vbot_provider')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
