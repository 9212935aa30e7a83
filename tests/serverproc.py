"""Start the real ``xrsched-server`` command as a subprocess and learn its port (shared by tests)."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

SERVER = str(Path(sys.executable).parent / "xrsched-server")
_LISTENING = re.compile(r"listening on https?://[^:]+:(\d+)/")
_LISTENING_UNIX = re.compile(r"listening on unix:(\S+)")


def spawn_server(
    args: list[str], env: dict[str, str], timeout: float = 30.0
) -> tuple[subprocess.Popen, list[str], int]:
    """Run ``xrsched-server ARGS`` in its own session; returns the process, its output lines (kept
    up to date by a reader thread) and the port it listens on. Fails the test if it never listens."""
    proc, lines, port = spawn_until(args, env, _LISTENING, timeout)
    return proc, lines, int(port)


def spawn_unix_server(
    args: list[str], env: dict[str, str], timeout: float = 30.0
) -> tuple[subprocess.Popen, list[str], str]:
    """Like :func:`spawn_server` for a server on a Unix socket: returns the socket's path."""
    return spawn_until(args, env, _LISTENING_UNIX, timeout)


def spawn_until(
    args: list[str], env: dict[str, str], ready: re.Pattern[str], timeout: float
) -> tuple[subprocess.Popen, list[str], str]:
    """Run ``xrsched-server ARGS`` until a line matches ``ready``; returns the match's group 1."""
    proc = subprocess.Popen(
        [SERVER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            match = ready.search(line)
            if match:
                found.put(match.group(1))

    threading.Thread(target=pump, daemon=True).start()
    try:
        value = found.get(timeout=timeout)
    except queue.Empty:
        proc.kill()
        proc.wait(10)
        raise AssertionError("server did not start:\n" + "\n".join(lines)) from None
    return proc, lines, value
