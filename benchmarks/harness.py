"""Helpers shared by the benchmarks: starting servers and waiting for them, tokens, the machine
line, and the blocks they write into README.md.

Imported as a sibling module: the benchmarks run as scripts from this directory.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
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
        "load average at start": load_average(),
    }
    for package in packages:
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            info[package] = version(package)
    return info


def machine_line(info: dict[str, str]) -> str:
    """``machine_info``'s figures as the one "Machine: ..." line under a table."""
    return "Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()) + "."


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as the machine lines show them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_block(path: Path, begin: str, end: str, block: str, *, stub: str = "# Benchmarks\n",
                appended: str | None = None) -> None:  # fmt: skip
    """Replace what stands from marker ``begin`` to marker ``end`` (both included) in ``path`` with
    ``block``; without the markers, append ``appended`` (default: ``block``) after a blank line. A
    missing file starts as ``stub``."""
    text = path.read_text() if path.exists() else stub
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + (block if appended is None else appended) + "\n"
    path.write_text(text)


def wait_for_line(
    proc: subprocess.Popen[bytes], log_path: Path, pattern: str, timeout: float, *, poll: float = 0.05
) -> re.Match[str]:
    """Poll the server's output file for ``pattern`` (output goes to a file: no pipe to fill)."""
    deadline = time.monotonic() + timeout
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        match = regex.search(text)
        if match:
            return match
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready:\n{text}")
        time.sleep(poll)
    kill_group(proc)
    raise RuntimeError(f"server not ready after {timeout:.0f}s:\n{log_path.read_text(errors='replace')}")


def mint_token(tokens: Path, token_id: str, role: str) -> str:
    """A new token in ``tokens`` made by ``xrsched token add`` (as an operator would); its secret."""
    command = [*console_script("xrsched", "xrsched.cli.main"), "token", "add", "--id", token_id, "--role", role]
    made = subprocess.run([*command, "--tokens", str(tokens)], capture_output=True, text=True, check=True, timeout=60)
    return made.stdout.strip().splitlines()[0]


def server_command(state: Path, certs: Any, flags: list[str] | tuple[str, ...] = (),
                   launcher: list[str] | None = None) -> list[str]:  # fmt: skip
    """``xrsched-server`` (or ``launcher``) on a free port with ``state`` and the dev certificates."""
    launcher = launcher or console_script("xrsched-server", "xrsched.cli.server")
    tls = ["--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key)]
    return [*launcher, "--port", "0", "--state-path", str(state), *tls, *flags]


def spawn_luigid(work: Path, setup_script: str, timeout: float) -> tuple[subprocess.Popen[bytes], int]:
    """``luigid`` from this interpreter's directory on a free port, logging under ``work``
    (``luigid.out``, ``luigid-logs/``); returns once it accepts connections."""
    luigid = Path(sys.executable).parent / "luigid"
    if not luigid.exists():
        raise RuntimeError(f"no luigid next to {sys.executable}: run benchmarks/{setup_script}")
    logdir = work / "luigid-logs"
    logdir.mkdir()
    port = free_port()
    log_path = work / "luigid.out"
    command = [str(luigid), "--port", str(port), "--address", "127.0.0.1",
               "--state-path", str(work / "luigid-state.pickle"), "--logdir", str(logdir)]  # fmt: skip
    proc = spawn(command, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"luigid exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return proc, port
        if time.monotonic() > deadline:
            kill_group(proc)
            raise RuntimeError("luigid did not start listening")
        time.sleep(0.05)
