"""Socket adapters for the connection thread: reads bounded by a deadline, timed writes."""

from __future__ import annotations

import io
import socket
import time


class DeadlineReader(io.RawIOBase):
    """Socket reads that give up at an absolute deadline, not per ``recv``."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self.deadline = time.monotonic()

    def expire_in(self, seconds: float) -> None:
        """Reads fail with TimeoutError once ``seconds`` from now have passed."""
        self.deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        """Always: this is the reading half of a socket."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("read deadline passed")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


class TimedWriter:
    """``wfile`` for BaseHTTPRequestHandler: each write is one timed ``sendall``."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout

    def write(self, data: bytes) -> int:
        self._sock.settimeout(self._timeout)
        self._sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""
