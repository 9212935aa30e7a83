"""What the server and its writer process (:mod:`.writer_process`, :mod:`.writer_child`) say
to each other over their pipes: length-prefixed frames, and batches as plain values.

A frame is a 4-byte little-endian length, then that many bytes. The server sends one frame per
batch, :mod:`marshal` of its fields (plain dicts, sets, lists, tuples, strings and numbers: no
classes to look up, and both ends run the same interpreter, ``sys.executable``). The writer
answers every batch with one frame: empty once the batch is durable, else the text of the error
that stopped it. Its first frame, before any batch, says the same of its start.
"""

from __future__ import annotations

import marshal
import os
import struct

from .base import Batch

_HEADER = struct.Struct("<I")


def send_frame(fd: int, payload: bytes) -> None:
    """Write one frame to ``fd`` (blocking until all of it is written)."""
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int) -> bytes | None:
    """The next frame from ``fd``; None at the end of the stream (the other end is gone)."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    return _read_exactly(fd, length) if length else b""


def _read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``; None if the stream ends first."""
    data = os.read(fd, size)
    if len(data) == size:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        chunk = os.read(fd, size - got)
        if not chunk:
            return None
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


#: Batches whose writer died before it answered, as (mark, how many history entries), oldest
#: first: each may have committed or not (see :func:`drop_written_history`).
InDoubt = list[tuple[str, int]]


def encode_batch(batch: Batch, mark: str, in_doubt: InDoubt) -> bytes:
    """A batch's fields as bytes, with its mark and the batches in doubt (answers to request ids
    are left out: SQLite keeps none)."""
    fields = (batch.task_rows, batch.removed_tasks, batch.worker_rows, batch.removed_workers, batch.meta, batch.history)
    return marshal.dumps((mark, in_doubt, fields))


def decode_batch(data: bytes) -> tuple[str, InDoubt, Batch]:
    """The mark, the batches in doubt and the batch that :func:`encode_batch` encoded."""
    mark, in_doubt, fields = marshal.loads(data)  # noqa: S302 (our own pipe)
    return mark, in_doubt, Batch(*fields)


def drop_written_history(batch: Batch, in_doubt: InDoubt, stored_mark: str | None) -> None:
    """Leave out of ``batch`` the history a batch in doubt already wrote, if it committed.

    A writer can die after its commit and before its answer. The server's next batch then
    begins with that one's changes (the committer keeps a failed batch and folds the later
    ones into it): rows and removals are written again harmlessly, but history entries would
    be stored twice. The stored mark says which batch committed last: if it is one in doubt,
    its history (a prefix of this batch's) is already stored.
    """
    for mark, entries in reversed(in_doubt):
        if mark == stored_mark:
            del batch.history[:entries]
            return
