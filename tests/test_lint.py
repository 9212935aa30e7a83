"""The code base stays ruff-clean and ruff-formatted: both run as part of the test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    """``ruff ARGS`` run on the whole repository."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_ruff_check_is_clean():
    result = _ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    """One layout everywhere: ``ruff format`` leaves every file as it is (``# fmt: skip`` marks
    the few lines laid out by hand)."""
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_stays_pure():
    """The scheduling core imports no I/O, thread or clock machinery (DESIGN §1)."""
    forbidden = ("socket", "threading", "ssl", "http", "xmlrpc", "sqlite3", "subprocess", "time", "logging")
    for path in (ROOT / "xrsched" / "core").glob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")):
                module = stripped.split()[1].split(".")[0]
                assert module not in forbidden, f"{path.name}: {stripped}"
