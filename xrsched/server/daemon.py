"""Detaching into the background (``xrsched-server --background``) and the pidfile."""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path

from xrsched.atomicfile import write_atomic


def write_pidfile(path: Path) -> None:
    """Write our pid atomically; refuse if another live server holds the file."""
    if path.exists():
        try:
            other = int(path.read_text().strip() or "0")
        except ValueError:
            other = 0
        if other > 0 and _alive(other):
            raise SystemExit(f"xrsched-server: {path} names running process {other}; stop it or remove the file")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, f"{os.getpid()}\n".encode(), permissions=0o644)
    atexit.register(_remove_if_ours, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_if_ours(path: Path) -> None:
    try:
        if path.read_text().strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass


def detach(log_file: Path | None) -> None:
    """Double-fork into a session of our own; stdio goes to ``log_file`` (or /dev/null).

    The original process exits 0 once the daemon exists. Must run before any thread starts.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    os.umask(0o027)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        out = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    else:
        out = devnull
    os.dup2(out, 1)
    os.dup2(out, 2)
