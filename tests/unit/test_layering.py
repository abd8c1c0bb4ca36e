"""The domain package never imports Airflow: the receiver and the CLI must run without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "include" / "vbotflow"


def test_no_vbotflow_module_imports_airflow() -> None:
    modules = sorted(
        "vbotflow." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts and p.name != "wsgi.py")
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name.removesuffix('.'))\n"
            "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(modules) > 40
    assert done.stdout.strip() == "[]"
