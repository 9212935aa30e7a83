"""README's table of exit statuses has a row for every command (the tests of each command check
the statuses themselves)."""

from __future__ import annotations

import re
from pathlib import Path

from xrsched.cli.main import SUBCOMMANDS

README = Path(__file__).resolve().parents[2] / "README.rst"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"{title}\n{'=' * len(title)}\n")
    following = re.search(r"\n[^\n]+\n=+\n", text[start + 2 * len(title) + 2 :])
    return text[start : start + 2 * len(title) + 2 + (following.start() if following else len(text))]


def test_every_command_has_a_row():
    rows = re.findall(r"^``(xrsched[^`]*)``$", _section("Exit statuses"), flags=re.MULTILINE)
    named = {row.split()[1] if row.startswith("xrsched ") else row for row in rows}
    assert named == {"xrsched-server", *SUBCOMMANDS}
