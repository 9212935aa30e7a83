"""Helpers shared by the benchmarks that start servers (transport, durability, e2e).

Imported as a sibling module: the benchmarks run as scripts from this directory.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")


def spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a server in its own process group, its output going to ``log_path`` (no pipe to fill)."""
    with log_path.open("wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def console_script(name: str, fallback_module: str) -> list[str]:
    """The console script next to this interpreter, else ``python -c`` on its entry point."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", f"import sys; from {fallback_module} import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime: fields 14 and 15


def sleep_until(moment: float) -> None:
    while (left := moment - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))


class BearerTransport(xmlrpc.client.SafeTransport):
    """SafeTransport (keeps its HTTP/1.1 connection) that sends ``Authorization: Bearer``."""

    def __init__(self, secret: str | None, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._secret = secret

    def send_headers(self, connection: Any, headers: Any) -> None:
        if self._secret is not None:
            headers = [*headers, ("Authorization", f"Bearer {self._secret}")]
        super().send_headers(connection, headers)


def machine_info(packages: tuple[str, ...] = ("luigi",)) -> dict[str, str]:
    """What the figures were measured on (CPU, cores, versions, load), for the tables; with the
    installed version of each of ``packages``."""
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    info = {
        "cpu": model,
        "cores": f"{len(os.sched_getaffinity(0))} usable ({os.cpu_count()} online)",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "openssl": ssl.OPENSSL_VERSION,
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    for package in packages:
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            info[package] = version(package)
    return info
