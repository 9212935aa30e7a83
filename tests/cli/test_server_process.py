"""The real ``xrsched-server`` command in a subprocess: first start, signals, background mode."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serverproc import spawn_server

BIN = Path(sys.executable).parent
SERVER = str(BIN / "xrsched-server")
XRSCHED = str(BIN / "xrsched")


@dataclass
class ServerProcess:
    proc: subprocess.Popen
    lines: list[str]
    port: int
    state: Path

    @property
    def cert(self) -> Path:
        return self.state / "tls" / "server.pem"

    def admin_secret(self) -> str:
        line = next(line for line in self.lines if "secret:" in line)
        return line.split("secret:", 1)[1].strip()

    def proxy(self, secret: str) -> xmlrpc.client.ServerProxy:
        context = ssl.create_default_context(cafile=str(self.cert))
        return xmlrpc.client.ServerProxy(f"https://admin:{secret}@localhost:{self.port}/RPC2", context=context)


def _start(args: list[str], env: dict[str, str], timeout: float = 20.0) -> ServerProcess:
    proc, lines, port = spawn_server(args, env, timeout)
    state = Path(args[args.index("--state-path") + 1])
    return ServerProcess(proc, lines, port, state)


@pytest.fixture
def server(tmp_path: Path, env) -> Iterator[ServerProcess]:
    process = _start(["--port", "0", "--state-path", str(tmp_path / "state")], env)
    yield process
    if process.proc.poll() is None:
        process.proc.kill()
        process.proc.wait(10)


def test_first_start_prints_admin_secret_once_and_fingerprint(server, tmp_path, env):
    text = "\n".join(server.lines)
    assert "created tokens file" in text
    assert re.search(r"sha256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}", text)
    secret = server.admin_secret()
    assert server.proxy(secret).is_paused() == {"paused": False}
    tokens = (server.state / "tokens.toml").read_text()
    assert secret not in tokens  # only the hash is stored
    assert oct((server.state / "tokens.toml").stat().st_mode & 0o777) == "0o600"
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(20) == 0
    again = _start(["--port", "0", "--state-path", str(server.state)], env)
    try:
        assert not any("secret:" in line for line in again.lines), "the secret is shown only on first start"
        assert again.proxy(secret).is_paused() == {"paused": False}
    finally:
        again.proc.send_signal(signal.SIGTERM)
        assert again.proc.wait(20) == 0


def test_health_command_against_the_real_server(server, env):
    result = subprocess.run(
        [XRSCHED, "health", f"localhost:{server.port}", "--ca", str(server.cert)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK ")


def _token(env: dict[str, str], tokens: Path, *args: str) -> str:
    result = subprocess.run(
        [XRSCHED, "token", *args, "--tokens", str(tokens)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def _viewer(server: ServerProcess, token_id: str, secret: str) -> xmlrpc.client.ServerProxy:
    context = ssl.create_default_context(cafile=str(server.cert))
    return xmlrpc.client.ServerProxy(f"https://{token_id}:{secret}@localhost:{server.port}/RPC2", context=context)


def _status(proxy: xmlrpc.client.ServerProxy) -> int:
    """200 when the call is let in, else the HTTP status it got (401 for an unknown token)."""
    try:
        proxy.is_paused()
    except xmlrpc.client.ProtocolError as exc:
        return exc.errcode
    return 200


def _eventually(check, seconds: float) -> float:
    """Seconds until ``check()`` is true; fails after ``seconds``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not within {seconds:.0f}s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_token_added_to_a_running_server_works_at_once_without_sighup(server, env):
    secret = _token(env, server.state / "tokens.toml", "add", "--id", "ci", "--role", "viewer")
    assert _status(_viewer(server, "ci", secret)) == 200  # the first call, no signal, no wait
    assert server.proc.poll() is None


def test_a_revoked_token_is_refused_within_seconds_without_sighup(server, env):
    tokens = server.state / "tokens.toml"
    secret = _token(env, tokens, "add", "--id", "ci", "--role", "viewer")
    proxy = _viewer(server, "ci", secret)
    assert _status(proxy) == 200
    _token(env, tokens, "revoke", "ci")
    _eventually(lambda: _status(proxy) == 401, 5.0)  # the periodic look at the file, every second


def test_sighup_reloads_at_once_and_says_so_once(server, env):
    tokens = server.state / "tokens.toml"
    secret = _token(env, tokens, "add", "--id", "ci", "--role", "viewer")
    proxy = _viewer(server, "ci", secret)
    _eventually(lambda: _status(proxy) == 200, 5.0)
    # The look that let the new token in logged its own reload line: wait until the output
    # reader has it, so it is not counted as the signal's (the reader lags under load).
    _eventually(lambda: any("tokens file" in line and "reloaded" in line for line in server.lines), 5.0)
    before = len(server.lines)
    server.proc.send_signal(signal.SIGHUP)
    _eventually(lambda: any("certificate" in line and "reloaded" in line for line in server.lines[before:]), 10.0)
    time.sleep(0.5)
    reloads = [line for line in server.lines[before:] if "tokens file" in line]
    assert len(reloads) == 1, reloads
    assert f"tokens file {tokens} reloaded: 2 token(s)" in reloads[0]
    assert _status(proxy) == 200


def test_a_bad_new_tokens_file_keeps_the_old_tokens_and_is_logged_once(server, env):
    tokens = server.state / "tokens.toml"
    admin = server.proxy(server.admin_secret())
    good = tokens.read_text()
    broken = tokens.with_name("broken.toml")
    broken.write_text("[tokens.admin\n")
    os.replace(broken, tokens)
    _eventually(lambda: any("not reloaded" in line for line in server.lines), 5.0)
    time.sleep(2.5)  # two or three more looks at the unchanged bad file
    assert admin.is_paused() == {"paused": False}  # the old tokens stay in force
    complaints = [line for line in server.lines if "not reloaded" in line]
    assert len(complaints) == 1, complaints
    assert str(tokens) in complaints[0] and "keeping the previous tokens" in complaints[0]
    repaired = tokens.with_name("repaired.toml")
    repaired.write_text(good)
    os.replace(repaired, tokens)
    _eventually(lambda: any("reloaded: 1 token(s)" in line for line in server.lines), 5.0)
    assert admin.is_paused() == {"paused": False}


def test_sigterm_finishes_cleanly_with_exit_code_zero(server):
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(20) == 0
    time.sleep(0.2)  # let the reader thread take the last lines
    assert any(line.endswith("stopped") for line in server.lines), server.lines


SLOW_TEARDOWN = """
import time


class _SlowToFree:
    def __del__(self):
        time.sleep(3.0)  # what freeing a big heap on a loaded machine costs, made certain


_kept_until_teardown = _SlowToFree()
"""


def test_sigterm_exits_at_once_without_waiting_for_the_interpreter_teardown(tmp_path, env):
    """'stopped' used to come ~60 ms after SIGTERM and the exit 1.3-1.9 s later: CPython freeing
    every module and object. The server now ends the process once it has stopped, exit
    handlers included; a module whose teardown takes 3 s must not delay it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_TEARDOWN)
    env = {**env, "PYTHONPATH": str(site)}
    process = _start(["--port", "0", "--state-path", str(tmp_path / "state"), "--log-level", "info"], env)
    try:
        assert process.proxy(process.admin_secret()).is_paused() == {"paused": False}
        started = time.monotonic()
        process.proc.send_signal(signal.SIGTERM)
        assert process.proc.wait(20) == 0
        took = time.monotonic() - started
    finally:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(10)
    assert took < 2.0, f"exit {took:.2f}s after SIGTERM"  # ~0.1 s idle; 3 s + before the fix
    time.sleep(0.2)
    assert any(line.endswith("stopped") for line in process.lines), process.lines


def test_background_mode_writes_a_pidfile_and_detaches(tmp_path, env):
    state = tmp_path / "bg-state"
    pidfile = tmp_path / "run" / "xrsched.pid"
    logdir = tmp_path / "logs"
    result = subprocess.run(
        [
            SERVER,
            "--port",
            "0",
            "--state-path",
            str(state),
            "--background",
            "--pidfile",
            str(pidfile),
            "--logdir",
            str(logdir),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "secret:" in result.stdout  # printed before detaching
    deadline = time.monotonic() + 10
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    try:
        log = logdir / "xrsched-server.log"
        while "listening on" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "listening on" in log.read_text()
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pidfile.exists(), "the pidfile is removed on a clean stop"


def test_bad_configuration_is_refused_with_a_named_reason(tmp_path, env):
    config = tmp_path / "bad.toml"
    config.write_text('port = "eighty"\n')
    result = subprocess.run(
        [SERVER, "--config", str(config)], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "port expects int" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_tokens_file_stops_start_up_with_the_file_named(tmp_path, env):
    state = tmp_path / "state"
    state.mkdir()
    (state / "tokens.toml").write_text("[tokens.admin\nrole = 'admin'\n")
    result = subprocess.run(
        [SERVER, "--port", "0", "--state-path", str(state)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert str(state / "tokens.toml") in result.stderr
    assert "Traceback" not in result.stderr


def test_plain_http_to_the_tls_port_is_told_to_use_https(server):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10)
    assert info.value.code == 400
    assert b"use https://" in info.value.read()
    assert server.proc.poll() is None


def test_background_mode_reports_a_refused_start_with_its_reason_and_code(tmp_path, env):
    pidfile = tmp_path / "xrsched.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # a live process: this test's
    result = subprocess.run(
        [SERVER, "--port", "0", "--state-path", str(tmp_path / "state"), "--background", "--pidfile", str(pidfile),
         "--logdir", str(tmp_path / "logs")],
        capture_output=True, text=True, env=env, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert f"names running process {os.getpid()}" in result.stderr
    assert "Traceback" not in result.stderr
    assert pidfile.read_text() == f"{os.getpid()}\n"
