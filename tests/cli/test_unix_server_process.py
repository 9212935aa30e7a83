"""``xrsched-server --unix-socket`` as a real process: kill and restart, signals, refusals."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.serverproc import spawn_unix_server
from tests.unixhttp import unix_proxy

BIN = Path(sys.executable).parent
SERVER = str(BIN / "xrsched-server")
XRSCHED = str(BIN / "xrsched")


def unix_args(path: Path, state: Path) -> list[str]:
    return ["--no-tcp", "--unix-socket", str(path), "--state-path", str(state)]


def admin_secret(lines: list[str]) -> str:
    return next(line for line in lines if "secret:" in line).split("secret:", 1)[1].strip()


def refused(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SERVER, *args], capture_output=True, text=True, env=env, timeout=30, check=False)


def test_a_killed_servers_socket_is_replaced_and_a_clean_stop_removes_it(sock_dir, tmp_path, env):
    path, state = sock_dir / "xrsched.sock", tmp_path / "state"
    proc, lines, shown = spawn_unix_server(unix_args(path, state), env)
    secret = admin_secret(lines)
    assert shown == str(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert unix_proxy(path, secret).is_paused() == {"paused": False}
    proc.kill()
    proc.wait(10)
    assert stat.S_ISSOCK(os.lstat(path).st_mode)  # left behind, nobody listening

    again, _, _ = spawn_unix_server(unix_args(path, state), env)
    try:
        assert unix_proxy(path, secret).is_paused() == {"paused": False}
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(20) == 0
    assert not path.exists()


def eventually(check, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_new_tokens_and_sighup_reach_socket_callers(sock_dir, tmp_path, env):
    path, state = sock_dir / "xrsched.sock", tmp_path / "state"
    proc, lines, _ = spawn_unix_server(unix_args(path, state), env)
    try:
        added = subprocess.run(
            [XRSCHED, "token", "add", "--id", "ci", "--role", "viewer", "--tokens", str(state / "tokens.toml")],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=True,
        )
        proxy = unix_proxy(path, added.stdout.strip().splitlines()[-1])
        eventually(lambda: any("reloaded: 2 token(s)" in line for line in lines), 5.0)
        assert proxy.is_paused() == {"paused": False}
        before = len(lines)
        proc.send_signal(signal.SIGHUP)
        eventually(lambda: any("tokens file" in line for line in lines[before:]), 5.0)
        assert proxy.is_paused() == {"paused": False}  # the socket survived the reload
        assert not any("certificate" in line for line in lines[before:])  # --no-tcp: none to reload
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_a_live_servers_socket_is_not_taken_over(sock_dir, tmp_path, env):
    path = sock_dir / "xrsched.sock"
    proc, lines, _ = spawn_unix_server(unix_args(path, tmp_path / "one"), env)
    try:
        result = refused(unix_args(path, tmp_path / "two"), env)
        assert result.returncode == 1
        assert f"another server is listening on {path}" in result.stderr
        assert "Traceback" not in result.stderr
        assert unix_proxy(path, admin_secret(lines)).is_paused() == {"paused": False}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_a_file_that_is_not_a_socket_is_kept_and_start_up_refused(sock_dir, tmp_path, env):
    path = sock_dir / "notes.txt"
    path.write_text("precious\n")
    result = refused(unix_args(path, tmp_path / "state"), env)
    assert result.returncode == 1
    assert f"{path} exists and is not a socket; refusing to replace it" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_text() == "precious\n"


def test_a_path_too_long_is_a_usage_error_before_anything_is_created(tmp_path, env):
    path = tmp_path / ("p" * 110) / "xrsched.sock"
    state = tmp_path / "state"
    result = refused(unix_args(path, state), env)
    assert result.returncode == 2
    assert f"Unix socket path {path} is" in result.stderr
    assert "the limit is 107 bytes" in result.stderr
    assert not state.exists()
