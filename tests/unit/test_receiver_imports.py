"""The receiver is deployed without Airflow: importing it must not load Airflow."""

from __future__ import annotations

import subprocess
import sys


def test_the_receiver_imports_no_airflow() -> None:
    code = ("import sys, vbotflow.receiver.wsgi, vbotflow.cli.receiver, vbotflow.receiver.gunicorn_conf; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
