"""`make install` checks the Python version before any install: the locks are compiled for 3.11."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _python_check(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    # A virtualenv path that does not exist, so the check asks PYTHON (what `make install` would use).
    return subprocess.run(["make", "-s", "python-check", f"VENV={tmp_path / 'no-venv'}", f"PYTHON={python}"],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def test_another_python_is_refused_with_the_fix(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'print(\"3.12\")'\n")
    fake.chmod(0o755)
    done = _python_check(tmp_path, str(fake))
    assert done.returncode != 0
    assert f"error: vbotflow needs Python 3.11 (its pinned requirements are locked for 3.11); found 3.12 ({fake})" \
        in done.stderr
    assert f"rm -rf {tmp_path / 'no-venv'} && make install PYTHON=python3.11" in done.stderr


def test_a_missing_python_is_named(tmp_path: Path) -> None:
    done = _python_check(tmp_path, str(tmp_path / "nowhere"))
    assert done.returncode != 0 and "found none" in done.stderr


def test_python_3_11_passes(tmp_path: Path) -> None:
    assert sys.version_info[:2] == (3, 11)  # the suite itself runs on the locked version
    done = _python_check(tmp_path, sys.executable)
    assert done.returncode == 0, done.stderr
