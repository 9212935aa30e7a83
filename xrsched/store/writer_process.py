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
failing) and the next write starts a new one. A forked copy of the server (``--background``
detaches after opening the store) closes its copies of the pipes at once and starts a writer
of its own at its first write: the first one then ends with the processes that started it,
and with it their standard error, which whoever started the server may be reading to its end.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import IO

from .base import Batch
from .writer_wire import InDoubt, encode_batch, read_frame, send_frame

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
        _WRITERS.add(self)

    @property
    def pid(self) -> int | None:
        """The writer process's id (None between its death and the next write)."""
        return self._child.pid if self._child is not None else None

    def _start(self) -> None:
        self._child = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
        )
        self._ready = False

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

    def _forget_inherited(self) -> None:
        """In a forked child: close the pipes to the parent's writer without waiting for it."""
        child, self._child = self._child, None
        if child is not None:
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):  # nothing is buffered: frames go to the fd
                        pipe.close()
        self._lock = threading.Lock()  # another thread of the parent may have held it

    def close(self) -> None:
        """End the writer process: it sees its pipe close, closes its connection and exits."""
        with self._lock:
            if self._child is not None:
                self._reap(self._child)


#: Every open writer, so that a fork can let go of them (:meth:`ProcessWriter._forget_inherited`).
_WRITERS: weakref.WeakSet[ProcessWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_WRITERS):
        writer._forget_inherited()


os.register_at_fork(after_in_child=_after_fork_in_child)
