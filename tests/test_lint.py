"""ruff and mypy, configured in pyproject.toml, run with the tests: the command CI runs
(``python -m pytest``) fails on a lint finding or a type error as on a failing test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_ruff_reports_nothing():
    result = _run("ruff", "check", "kazdata", "tests", "bench", timeout=120)
    assert result.returncode == 0, f"ruff check kazdata tests bench:\n{result.stdout}{result.stderr}"


def test_mypy_reports_nothing():
    """``mypy`` with no arguments: the files and options are [tool.mypy]'s (cached in .mypy_cache/)."""
    result = _run("mypy", timeout=600)
    assert result.returncode == 0, f"mypy:\n{result.stdout}{result.stderr}"
