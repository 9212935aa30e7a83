"""``xrsched-server`` start-up in a subprocess: failures name what is at fault and create nothing."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverproc import spawn_server
from tests.store.test_migrations import rich_core, write_v1

SERVER = str(Path(sys.executable).parent / "xrsched-server")


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another socket is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def refuse(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the server expecting it not to start."""
    result = subprocess.run([SERVER, *args], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    assert "listening on" not in result.stdout, result.stdout
    return result


def tree(path: Path) -> list[str]:
    """Every file and directory under ``path`` (relative), with sizes of files, sorted."""
    if not path.exists():
        return ["<missing>"]
    return sorted(f"{p.relative_to(path)}:{p.stat().st_size if p.is_file() else 'dir'}" for p in path.rglob("*"))


def test_port_in_use_is_named_and_leaves_no_state(tmp_path, env, taken_port):
    state = tmp_path / "state"
    result = refuse(["--port", str(taken_port), "--state-path", str(state)], env)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken_port}: the port is already in use" in result.stderr
    assert not state.exists(), tree(state)  # no tokens file, certificate, lock or database
    assert "secret:" not in result.stdout  # no one-time secret printed for a server that never ran


def test_port_in_use_leaves_an_existing_state_directory_exactly_as_it_was(tmp_path, env, taken_port):
    state = tmp_path / "state"
    state.mkdir()
    (state / "notes.txt").write_text("kept\n")
    before = tree(state)
    result = refuse(["--port", str(taken_port), "--state-path", str(state)], env)
    assert result.returncode == 1
    assert str(taken_port) in result.stderr
    assert tree(state) == before


def test_an_old_database_is_not_migrated_when_the_port_is_taken(tmp_path, env, taken_port):
    state = tmp_path / "state"
    state.mkdir()
    write_v1(state / "state.sqlite3", rich_core())
    before = (state / "state.sqlite3").read_bytes()
    result = refuse(["--port", str(taken_port), "--state-path", str(state)], env)
    assert result.returncode == 1
    assert (state / "state.sqlite3").read_bytes() == before
    assert sorted(p.name for p in state.iterdir()) == ["state.sqlite3"]


def _file(tmp_path: Path) -> Path:
    plain = tmp_path / "plain-file"
    plain.write_text("not a directory\n")
    return plain


# Each case: extra arguments (with {tmp} for tmp_path), then text the message must contain.
FAILURES = {
    "unresolvable address": (
        ["--address", "no-such-host.invalid"],
        "cannot listen on no-such-host.invalid:0: the address 'no-such-host.invalid' does not resolve",
    ),
    "address of no interface here": (
        ["--address", "192.0.2.1"],  # TEST-NET-1: never assigned to a host
        "cannot listen on 192.0.2.1:0: no network interface of this machine has that address",
    ),
    "missing certificate": (
        ["--tls-cert", "{tmp}/nope.pem", "--tls-key", "{tmp}/nope.key"],
        "certificate file {tmp}/nope.pem: no such file",
    ),
    "missing client CA": (["--tls-client-ca", "{tmp}/ca.pem"], "client CA file {tmp}/ca.pem: no such file"),
    "state path is a file": (
        ["--state-path", "{tmp}/plain-file"],
        "state directory {tmp}/plain-file exists and is not a directory",
    ),
    "state path under a file": (
        ["--state-path", "{tmp}/plain-file/state"],
        "cannot create state directory {tmp}/plain-file/state: {tmp}/plain-file is not a directory",
    ),
    "tokens file is a directory": (
        ["--tokens", "{tmp}"],
        "{tmp}: cannot read the tokens file (Is a directory)",
    ),
    "tokens file under a file": (
        ["--tokens", "{tmp}/plain-file/tokens.toml"],
        "cannot create tokens file {tmp}/plain-file/tokens.toml: {tmp}/plain-file is not a directory",
    ),
    "audit log under a file": (
        ["--audit-log", "{tmp}/plain-file/audit.log"],
        "cannot create audit log {tmp}/plain-file/audit.log: {tmp}/plain-file is not a directory",
    ),
    "log directory under a file": (
        ["--logdir", "{tmp}/plain-file/logs"],
        "cannot open the log in {tmp}/plain-file/logs: Not a directory",
    ),
}


@pytest.mark.parametrize("case", FAILURES, ids=list(FAILURES))
def test_each_start_up_failure_names_what_is_at_fault_and_creates_nothing(case, tmp_path, env):
    plain = _file(tmp_path)
    state = tmp_path / "state"
    arguments, expected = FAILURES[case]
    args = ["--port", "0", "--state-path", str(state), *(a.format(tmp=tmp_path) for a in arguments)]
    result = refuse(args, env)
    assert result.returncode == 1, result.stderr
    assert expected.format(tmp=tmp_path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # one line, no noise
    assert not state.exists(), tree(state)
    assert plain.read_text() == "not a directory\n"


def test_a_missing_config_file_is_a_usage_error_naming_it(tmp_path, env):
    result = refuse(["--config", str(tmp_path / "nope.toml")], env)
    assert result.returncode == 2
    assert f"config file {tmp_path / 'nope.toml'} does not exist" in result.stderr


def test_a_server_holding_the_state_directory_is_named_before_anything_changes(tmp_path, env):
    state = tmp_path / "state"
    proc, _, _ = spawn_server(["--port", "0", "--state-path", str(state)], env)
    try:
        before = tree(state)
        result = refuse(["--port", "0", "--state-path", str(state)], env)
        assert result.returncode == 1
        assert f"{state} is in use by another xrsched server" in result.stderr
        assert tree(state) == before
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def test_a_new_database_says_one_line_and_a_restart_says_one_recovery_line(tmp_path, env):
    state = tmp_path / "state"
    for start in ("first", "second"):
        proc, lines, _ = spawn_server(["--port", "0", "--state-path", str(state), "--log-level", "info"], env)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        text = "\n".join(lines)
        assert "migrated" not in text, text
        database = [line for line in lines if "state.sqlite3" in line]
        if start == "first":
            assert database == [f"created state database {state / 'state.sqlite3'}"], text
        else:
            assert len(database) == 1, text
            assert database[0].startswith("recovered 0 tasks and 0 workers from "), text
