"""Signals a worker obeys: finish what runs, take nothing new, then exit.

* ``SIGUSR1``: stop asking for work; tasks already running finish and are reported; then the
  worker exits (status 3 if work was left undone). As Luigi's worker does.
* ``SIGTERM`` and ``SIGINT`` (Ctrl-C): the same drain; with ``drain_timeout`` set, tasks still
  running after that many seconds are killed and reported FAILED. A second ``SIGTERM``/``SIGINT``
  kills running tasks at once.

Handlers only record the signal and wake the main loop through a pipe; all the work happens
in the loop, never inside a handler.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from types import FrameType
from typing import Any

DRAIN_SIGNALS = (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT)


class Wakeup:
    """A self-pipe: any thread or signal handler calls :meth:`set`; the main loop waits on :attr:`fd`."""

    def __init__(self) -> None:
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write_fd, False)

    def set(self) -> None:
        """Wake the main loop (safe from a signal handler)."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._write_fd, b"x")

    def clear(self) -> None:
        """Forget pending wake-ups."""
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.fd, 4096):
                pass

    def close(self) -> None:
        """Close both ends."""
        for fd in (self.fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


class SignalState:
    """Records drain signals in arrival order; installs and restores the handlers."""

    def __init__(self, wakeup: Wakeup) -> None:
        self._wakeup = wakeup
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    def install(self) -> bool:
        """Install the handlers (main thread only); False when called from another thread."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in DRAIN_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return True

    def restore(self) -> None:
        """Put back the handlers that were there before."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        self._wakeup.set()

    @property
    def draining(self) -> bool:
        """Whether any drain signal arrived."""
        return bool(self.received)

    @property
    def hurried(self) -> bool:
        """Whether a second SIGTERM/SIGINT arrived: kill running tasks now."""
        return sum(1 for s in self.received if s in (signal.SIGTERM, signal.SIGINT)) >= 2

    @property
    def terminating(self) -> bool:
        """Whether a SIGTERM/SIGINT (not only SIGUSR1) arrived."""
        return any(s in (signal.SIGTERM, signal.SIGINT) for s in self.received)

    def name(self) -> str:
        """The first signal's name, for the log and the summary."""
        return signal.Signals(self.received[0]).name if self.received else ""
