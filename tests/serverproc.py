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


def spawn_server(
    args: list[str], env: dict[str, str], timeout: float = 30.0
) -> tuple[subprocess.Popen, list[str], int]:
    """Run ``xrsched-server ARGS`` in its own session; returns the process, its output lines (kept
    up to date by a reader thread) and the port it listens on. Fails the test if it never listens."""
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
    found: queue.Queue[int] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match:
                found.put(int(match.group(1)))

    threading.Thread(target=pump, daemon=True).start()
    try:
        port = found.get(timeout=timeout)
    except queue.Empty:
        proc.kill()
        proc.wait(10)
        raise AssertionError("server did not start:\n" + "\n".join(lines)) from None
    return proc, lines, port
