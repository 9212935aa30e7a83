"""The server's SQLite writes, made in a process of their own (issue 19).

Inside the server, SQLite's work and the wake-ups around each fsync competed with the calls
for the server's one GIL. :class:`ProcessWriter` sends each batch, already encoded, over a pipe
to a child process (:mod:`.writer_child`) that owns a connection of its own for writing, and
waits for its answer: the batch is durable when :meth:`ProcessWriter.write` returns, exactly as
with the in-process write. The server's own connection still reads (start-up, task history)
and writes the snapshot at the stop, once the child has ended; SQLite's WAL lets the two
connections share the file.

The child is started with ``sys.executable -m`` (no fork of a threaded server) when the store
opens, in a session of its own, and is not waited for: it opens the file while the server
loads it. It ends when its pipe closes: when the store closes, or the server dies. If it dies,
the write in progress fails (the committer keeps the batch and health reports the store as
failing) and the next write starts a new one. What the child writes to its standard error
(a traceback, should it fail in a way it cannot report) goes to the server's log, through a
pipe: the child holds none of the server's standard streams, which ``--background`` gives
back to the terminal once the server is built, while the writer runs on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from .base import Batch
from .writer_wire import InDoubt, encode_batch, read_frame, send_frame

log = logging.getLogger("xrsched.store")

#: Seconds the child gets to end after its pipe closed (it finishes the transaction in progress).
STOP_TIMEOUT = 30.0


class WriterFailed(Exception):
    """The writer process could not make a batch durable; the text says why."""


class _Lost(Exception):
    """The writer's pipe ended: it died."""


class ProcessWriter:
    """A :class:`~xrsched.store.committer.BatchWriter` whose writes run in a child process."""

    def __init__(self, path: Path, *, sync: str, history_days: float) -> None:
        # An absolute path: a daemon changes directory before it starts its own writer.
        where = str(path.resolve())
        self._command = [sys.executable, "-m", "xrsched.store.writer_child", where, sync, repr(history_days)]
        #: One write (or the close) at a time: the committer writes in one thread at a time anyway.
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._ready = False
        #: Marks the batches sent (stored with each, see :func:`.writer_wire.drop_written_history`).
        self._run = os.urandom(6).hex()
        self._sent = 0
        self._in_doubt: InDoubt = []
        self._start()

    @property
    def pid(self) -> int | None:
        """The writer process's id (None between its death and the next write)."""
        return self._child.pid if self._child is not None else None

    def _start(self) -> None:
        child = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._child = child
        self._ready = False
        name = f"xrsched-writer-log-{child.pid}"
        threading.Thread(target=_log_lines, args=(child.pid, child.stderr), name=name, daemon=True).start()

    def write(self, batch: Batch) -> None:
        """Have the writer process write ``batch`` in one transaction; durable on return.
        WriterFailed with the writer's error (or its death) if it is not."""
        with self._lock:
            if self._child is None:
                self._start()
            child = self._child
            assert child is not None and child.stdin is not None and child.stdout is not None
            if not self._ready:
                self._answer(child, child.stdout)
                self._ready = True
            self._sent += 1
            mark = f"{self._run}:{self._sent}"
            try:
                send_frame(child.stdin.fileno(), encode_batch(batch, mark, self._in_doubt))
                self._answer(child, child.stdout)
            except (BrokenPipeError, _Lost):
                self._in_doubt.append((mark, len(batch.history)))
                self._lost(child)
            self._in_doubt.clear()

    def _answer(self, child: subprocess.Popen[bytes], stdout: IO[bytes]) -> None:
        """Read the writer's answer: return if it is done; WriterFailed if it failed, _Lost if
        it died."""
        answer = read_frame(stdout.fileno())
        if answer is None:
            if not self._ready:
                self._lost(child)
            raise _Lost
        if answer:
            if not self._ready:  # it could not open the file: it exits; the next write starts another
                self._reap(child)
            raise WriterFailed(answer.decode("utf-8", "replace"))

    def _lost(self, child: subprocess.Popen[bytes]) -> None:
        """The writer died: forget it (the next write starts another) and say how it ended."""
        code = self._reap(child)
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        raise WriterFailed(f"the writer process ended unexpectedly ({how}); a new one is started")

    def _reap(self, child: subprocess.Popen[bytes]) -> int:
        """Close the pipes of a writer that ended or must end, wait for it; its return code."""
        self._child = None
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                with contextlib.suppress(BrokenPipeError):  # flushing nothing to a dead reader
                    pipe.close()
        try:
            return child.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()

    def close(self) -> None:
        """End the writer process: it sees its pipe close, closes its connection and exits."""
        with self._lock:
            if self._child is not None:
                self._reap(self._child)


def _log_lines(pid: int, stream: IO[bytes] | None) -> None:
    """Log what the writer process ``pid`` writes to its standard error, line by line, until it ends."""
    if stream is None:
        return
    with stream:
        for line in stream:
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                log.warning("writer process %d: %s", pid, text)
