"""Detaching into the background (``xrsched-server --background``) and the pidfile."""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path

from xrsched.atomicfile import write_atomic


class PidfileInUse(Exception):
    """The pidfile names another running process."""


def write_pidfile(path: Path) -> None:
    """Write our pid atomically; refuse (:class:`PidfileInUse`) if another live server holds the file."""
    if path.exists():
        try:
            other = int(path.read_text().strip() or "0")
        except ValueError:
            other = 0
        if other > 0 and _alive(other):
            raise PidfileInUse(f"{path} names running process {other}; stop it or remove the file")
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


class Detached:
    """The daemon's side of :func:`detach`: tells the waiting process how the start went."""

    def __init__(self, report_fd: int) -> None:
        self._fd: int | None = report_fd

    def ready(self, log_file: Path | None) -> None:
        """The server is built: leave the terminal (stdio to ``log_file`` or /dev/null) and let the
        waiting process exit 0."""
        os.chdir("/")
        os.umask(0o027)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        if log_file is not None:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            out = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        else:
            out = devnull
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out, 1)
        os.dup2(out, 2)
        self._report(0)

    def failed(self, code: int) -> None:
        """The start failed (its reason already written to stderr): the waiting process exits ``code``."""
        sys.stderr.flush()
        self._report(code)

    def _report(self, code: int) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.write(fd, bytes([code & 0xFF]))
        finally:
            os.close(fd)


def detach() -> Detached:
    """Double-fork into a session of our own, before anything starts a thread; returns in the daemon.

    The original process stays attached to the terminal and waits: it exits with the code the
    daemon reports through :class:`Detached` (0 once the server is built, or the failed start's
    exit code), or 1 if the daemon ends before saying anything. The daemon keeps the terminal's
    stdio until :meth:`Detached.ready`, so a refused start reads as it does in the foreground,
    and everything that starts threads (the store's writer, the PostgreSQL pool, the election)
    runs in the daemon itself: threads do not survive a fork.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        os._exit(_wait_for_daemon(read_end))
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    return Detached(write_end)


def _wait_for_daemon(read_end: int) -> int:
    """The exit code the daemon reports; 1 with a message when it ended without one."""
    try:
        answer = os.read(read_end, 1)
    except KeyboardInterrupt:
        sys.stderr.write("xrsched-server: no longer waiting; the background server goes on starting\n")
        return 130
    if answer:
        return answer[0]
    sys.stderr.write("xrsched-server: the background server ended before it was ready (see its log)\n")
    sys.stderr.flush()
    return 1
