"""Every command names the default state directory the same way, and that way is what
``xrsched.paths.default_state_dir`` does."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xrsched.cli.main import main
from xrsched.cli.server import main as server_main
from xrsched.paths import DEFAULT_STATE_DIR_HELP, default_state_dir

COMMANDS = [
    (server_main, []),
    (main, ["token", "add"]),
    (main, ["token", "list"]),
    (main, ["token", "revoke"]),
    (main, ["state", "check"]),
    (main, ["state", "export"]),
    (main, ["state", "import"]),
    (main, ["history"]),
]


@pytest.mark.parametrize(("command", "words"), COMMANDS, ids=lambda c: " ".join(c) if isinstance(c, list) else "")
def test_the_state_directory_is_named_one_way(command, words):
    result = CliRunner().invoke(command, [*words, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    phrase = " ".join(DEFAULT_STATE_DIR_HELP.split())
    assert phrase in text
    for part in ("XDG_STATE_HOME", "~/.local/state", "XRSCHED_STATE_PATH,"):
        assert text.count(part) == text.count(phrase), (part, text)


def test_the_wording_says_what_the_code_does(monkeypatch, tmp_path):
    monkeypatch.setenv("XRSCHED_STATE_PATH", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "explicit"
    monkeypatch.delenv("XRSCHED_STATE_PATH")
    assert default_state_dir() == tmp_path / "xdg" / "xrsched"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir() == Path(tmp_path / "home" / ".local" / "state" / "xrsched")
