"""The layers point one way: DAGs → provider → domain; the domain imports no Airflow, and nothing
the product runs imports the development package (the simulator, the demo CRM)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

INCLUDE = Path(__file__).resolve().parents[2] / "include"
PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
DAGS = Path(__file__).resolve().parents[2] / "dags"


def _modules(root: Path, package: str) -> list[str]:
    base = root / package
    return sorted(
        ".".join([package, *p.relative_to(base).with_suffix("").parts]).removesuffix(".__init__")
        for p in base.rglob("*.py") if "migrations" not in p.parts and p.name != "wsgi.py")


def _loaded_after_import(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {prefixes!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    # The last line: importing Airflow's API modules may log a warning to stdout before it.
    return eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 - our own subprocess printed a list literal


def test_no_domain_module_imports_airflow() -> None:
    modules = _modules(INCLUDE, "vbotflow")
    assert len(modules) > 40
    assert _loaded_after_import(modules, ("airflow", "vbot_provider")) == []


def test_the_runtime_never_imports_the_development_package() -> None:
    # Every domain and provider module, and the command line with all its commands built: the dev
    # package plugs its commands in through an entry point, loaded only when the parser is built,
    # so the parser is left out here and checked on its own below.
    modules = [m for m in _modules(INCLUDE, "vbotflow") if m != "vbotflow.cli.main"]
    modules += _modules(PLUGINS, "vbot_provider")
    assert _loaded_after_import(modules, ("vbotflow_dev",)) == []


def test_dag_files_do_not_name_the_development_package() -> None:
    for path in [*DAGS.glob("*.py"), *PLUGINS.rglob("*.py"), *(INCLUDE / "vbotflow").rglob("*.py")]:
        assert "vbotflow_dev" not in path.read_text(encoding="utf-8"), path


def test_the_command_line_gets_the_dev_commands_from_the_entry_point() -> None:
    from vbotflow.cli.main import build_parser

    choices = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"simulator", "crm", "db", "campaign", "receiver", "report"} <= set(choices)
