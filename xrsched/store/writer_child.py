"""The writer process (``python -m xrsched.store.writer_child PATH SYNC HISTORY_DAYS``): see
:mod:`.writer_process`.

It opens the state file with a connection of its own, says it is ready, then writes each batch
that arrives on its standard input in one transaction and answers once it is durable (or with
the error that stopped it, the same text the in-process write would raise). It ends when its
input ends: the server closed it, or died.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from pathlib import Path

from .base import StoreError
from .sqlite import SQLiteStore
from .writer_wire import decode_batch, drop_written_history, read_frame, send_frame

#: What a write may fail with and the server is told (other errors end the process, with their
#: traceback in the server's log: the server reports that the writer ended).
_WRITE_ERRORS = (sqlite3.Error, StoreError, OSError)


def main(argv: list[str]) -> int:
    """Open the store named by ``argv`` (path, sync, history days) and write what arrives."""
    # Only the closing pipe ends it: a Ctrl-C or a service manager's SIGTERM reaches the server
    # too, which still has changes to hand over before it closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    requests, answers = _protocol_pipes()
    path, sync, history_days = argv
    try:
        store = SQLiteStore(Path(path), sync=sync, history_days=float(history_days), checked_by_server=True)
    except _WRITE_ERRORS as exc:
        send_frame(answers, str(exc).encode())
        return 1
    server = os.getppid()
    try:
        send_frame(answers, b"")
        while (frame := read_frame(requests)) is not None:
            if os.getppid() != server:  # it died with this batch sent: a new server may be reading the file
                break
            try:
                mark, in_doubt, batch = decode_batch(frame)
                if in_doubt:
                    drop_written_history(batch, in_doubt, store.written_mark())
                store.write(batch, mark=mark)
                answer = b""
            except _WRITE_ERRORS as exc:
                answer = str(exc).encode()
            send_frame(answers, answer)
    except BrokenPipeError:  # the server died while this was writing
        pass
    finally:
        store.close()
    return 0


def _protocol_pipes() -> tuple[int, int]:
    """The pipes to the server, moved off fds 0 and 1 so that nothing printed by accident
    (a library's warning) can land among the frames: fd 1 goes to the log (stderr)."""
    requests, answers = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return requests, answers


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(code)  # the store is closed: the server waits for this exit, not for a teardown
