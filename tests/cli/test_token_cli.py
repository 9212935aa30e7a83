"""``xrsched token add|list|revoke`` through the real console script and click's runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from xrsched.auth import Role, TokenStore, hash_secret, map_certificate
from xrsched.cli.main import main

XRSCHED = Path(sys.executable).with_name("xrsched")
NOW = 1_800_000_000.0


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(XRSCHED), *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("XRSCHED_", "XDG_"))}
    clean["XRSCHED_STATE_PATH"] = str(tmp_path / "state")
    clean["HOME"] = str(tmp_path / "home")
    return clean


@pytest.fixture
def runner(env, monkeypatch):
    for key in list(os.environ):
        if key.startswith(("XRSCHED_", "XDG_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XRSCHED_STATE_PATH", env["XRSCHED_STATE_PATH"])
    return CliRunner()


def test_console_script_add_list_revoke_with_default_path(env, tmp_path):
    added = run("token", "add", "--id", "ci", "--role", "worker", env=env)
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip()
    assert added.stdout == secret + "\n"
    assert "cannot be shown again" in added.stderr
    default = tmp_path / "state" / "tokens.toml"
    assert str(default) in added.stderr
    store = TokenStore.load(default)
    assert store.authenticate(f"Bearer {secret}", None, NOW).role is Role.WORKER

    listed = run("token", "list", env=env)
    assert listed.returncode == 0
    assert "ci" in listed.stdout
    assert "worker" in listed.stdout
    assert secret not in listed.stdout
    assert hash_secret(secret) not in listed.stdout
    assert "sha256" not in listed.stdout

    revoked = run("token", "revoke", "ci", env=env)
    assert revoked.returncode == 0
    store.reload()
    assert store.authenticate(f"Bearer {secret}", None, NOW) is None


def test_console_script_errors_are_one_line_exit_1(env, tmp_path):
    result = run("token", "revoke", "nobody", "--tokens", str(tmp_path / "t.toml"), env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "no such tokens file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_tokens_file_that_cannot_be_written_is_one_line_exit_1(env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run("token", "add", "--id", "x", "--role", "worker", "--tokens", str(blocker / "t.toml"), env=env)
    assert result.returncode == 1
    assert result.stderr == f"Error: {blocker}: File exists\n"  # the file in the way of its directory


def test_console_script_usage_errors_exit_2(env):
    result = run("token", "add", "--id", "x", "--role", "root", env=env)
    assert result.returncode == 2
    assert "'root' is not one of" in result.stderr
    assert result.stdout == ""


def test_explicit_tokens_file_and_env_default(runner, tmp_path):
    explicit = tmp_path / "explicit.toml"
    result = runner.invoke(main, ["token", "add", "--id", "a", "--role", "ADMIN", "--tokens", str(explicit)])
    assert result.exit_code == 0, result.output
    assert explicit.exists()
    env_path = tmp_path / "from-env.toml"
    result = runner.invoke(
        main, ["token", "add", "--id", "b", "--role", "viewer"], env={"XRSCHED_TOKENS": str(env_path)}
    )
    assert result.exit_code == 0
    assert env_path.exists()


def test_add_with_expiry_and_list_shows_expired(runner, tmp_path):
    path = tmp_path / "t.toml"
    result = runner.invoke(
        main,
        ["token", "add", "--id", "x", "--role", "viewer", "--expires", "2999-01-01", "--tokens", str(path)],
    )
    assert result.exit_code == 0
    path.write_text(path.read_text().replace("2999-01-01", "2001-01-01"))
    listed = runner.invoke(main, ["token", "list", "--tokens", str(path)])
    header, row = listed.stdout.splitlines()
    assert header.split() == ["ID", "ROLE", "CREATED", "EXPIRES", "EXPIRED", "ROTATION"]
    assert row.split()[0] == "x"
    assert row.split()[1] == "viewer"
    assert row.split()[3:] == ["2001-01-01", "yes", "-"]


@pytest.mark.parametrize(("value", "message"), [("soon", "not a date"), ("2001-01-01", "in the past")])
def test_bad_expiry_is_a_usage_error(runner, tmp_path, value, message):
    result = runner.invoke(
        main,
        [
            "token",
            "add",
            "--id",
            "x",
            "--role",
            "viewer",
            "--expires",
            value,
            "--tokens",
            str(tmp_path / "t"),
        ],
    )
    assert result.exit_code == 2
    assert message in result.stderr


def test_duplicate_id_is_an_error(runner, tmp_path):
    args = ["token", "add", "--id", "x", "--role", "viewer", "--tokens", str(tmp_path / "t.toml")]
    assert runner.invoke(main, args).exit_code == 0
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert result.stdout == ""


def test_list_shows_certificate_mappings(runner, tmp_path):
    path = tmp_path / "t.toml"
    map_certificate(path, "build-host-7", "worker", identity="builder")
    result = runner.invoke(main, ["token", "list", "--tokens", str(path)])
    assert result.exit_code == 0
    assert "build-host-7 -> builder (worker)" in result.stdout
    assert "no tokens" in result.stderr


def test_help_texts(runner):
    for args in (["--help"], ["token", "--help"], ["token", "add", "--help"], ["token", "list", "-h"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0
        assert "Usage:" in result.stdout
    add_help = runner.invoke(main, ["token", "add", "--help"]).stdout
    for text in ("--id", "--role", "--expires", "--tokens", "XRSCHED_TOKENS"):
        assert text in add_help
    assert "token" in runner.invoke(main, ["--help"]).stdout
