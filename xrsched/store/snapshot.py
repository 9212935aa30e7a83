"""The snapshot: every task row in one compact value, read back at start-up without a loop per row.

Start-up from the rows reads a million rows one by one and builds a Task from each. The
snapshot keeps the same rows column by column (ids in lists, heads as indexes into the distinct
head texts, numbers in packed arrays), split in two. Tasks not DONE keep their ``data`` column
already split into params texts, dependencies and other fields (:func:`.records.data_column`),
and are decoded at start-up without scanning JSON. DONE tasks, most of them, keep their ``data``
texts as one text, and go to the core unbuilt (:class:`xrsched.core.coldtasks.ColdTasks`) with
what its indexes need of them, worked out when the snapshot was written: the DONE tasks per
(stakeholders, workers), their removal times, their reverse dependency index. The whole value is
one ``marshal`` text, which CPython reads back in C.

The SQLite store writes it at a clean stop and notes the tasks written after that
(:mod:`.snapshot_tables`); :func:`load` takes those from their current rows instead. Its
checksum and length are checked before it is used; the rows are read when anything is off.
"""

from __future__ import annotations

import marshal
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, compress, islice, repeat
from operator import itemgetter, lt, not_
from typing import Any

from xrsched.core.coldtasks import ColdTasks
from xrsched.core.model import Task
from xrsched.core.states import DONE

from .coldrows import cold_details
from .records import HEAD_FIELDS, DataParts, TaskDecoder, TaskRow, data_column

#: Version of the snapshot's layout; a snapshot of another version is not read.
FORMAT = 1
#: Size of one stored part (SQLite limits one value to a billion bytes).
PART_BYTES = 256 * 2**20
_STATUS = HEAD_FIELDS.index("status")
_STAKEHOLDERS = HEAD_FIELDS.index("stakeholders")
_WORKERS = HEAD_FIELDS.index("workers")


class SnapshotError(ValueError):
    """A stored snapshot cannot be used (damaged, partial, or of another format or Python)."""


def python_tag() -> str:
    """The interpreter a snapshot is written by and may be read by (marshal's format is CPython's)."""
    return f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}-m{marshal.version}"


def checksum(blob: bytes) -> int:
    """The checksum stored with a snapshot: CRC-32, against damage (a tenth of a second for a
    million tasks, a quarter of what a cryptographic digest costs; nobody but the server writes it)."""
    return zlib.crc32(blob)


@dataclass
class Loaded:
    """A snapshot read back: the tasks not DONE (as rows whose ``data`` is already split, and
    the rows of the tasks changed since), and the DONE tasks unbuilt."""

    hot_rows: list[TaskRow]
    hot_data: DataParts
    #: Ids among ``hot_rows`` to leave out (changed since: ``current`` has their rows now, if any).
    changed: set[str]
    current: list[TaskRow]
    cold: ColdTasks

    def decoded_batches(self, decoder: TaskDecoder, size: int = 10_000) -> Iterator[list[Task]]:
        """The tasks not DONE, decoded ``size`` at a time (RecordError if one does not decode)."""
        rows, (params, more) = self.hot_rows, self.hot_data
        starts = [i for i, _, _ in more]
        for start in range(0, len(rows), size):
            end = start + size
            first, last = bisect_left(starts, start), bisect_left(starts, end)
            split = (params[start:end], [(i - start, deps, extra) for i, deps, extra in more[first:last]])
            tasks = decoder.decode_rows(rows[start:end], split)
            yield [t for t in tasks if t.id not in self.changed] if self.changed else tasks
        for start in range(0, len(self.current), size):
            yield decoder.decode_rows(self.current[start : start + size])


# ------------------------------------------------------------------------------ writing


def build(rows: Iterable[TaskRow], decoder: TaskDecoder) -> bytes:
    """The snapshot of these stored rows (RecordError if one does not decode)."""
    heads: dict[str, int] = {}
    decoded: list[tuple[Any, ...]] = []
    hot = _Columns()
    cold = _Columns()
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for row in rows:
        head = row[1]
        index = heads.get(head)
        if index is None:
            index = heads[head] = len(heads)
            decoded.append(decoder.decode_head(head))
        fields = decoded[index]
        if fields[_STATUS] == DONE:
            cold.add(row, index)
            groups.setdefault((fields[_STAKEHOLDERS], fields[_WORKERS]), []).append(row[0])
        else:
            hot.add(row, index)
    removes, links = cold_details(cold.ids, cold.data)
    hot_columns = (*hot.frozen(joined=False)[:5], data_column(list(hot.data)))
    value = (FORMAT, list(heads), hot_columns, cold.frozen(joined=True), groups, removes, links)
    return marshal.dumps(value)


class _Columns:
    """Rows kept column by column while a snapshot is built."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.heads = array("I")
        self.times = array("d")
        self.updated = array("d")
        self.seqs = array("q")
        self.data: list[str] = []

    def add(self, row: TaskRow, head: int) -> None:
        task_id, _, born, touched, seq, data = row
        self.ids.append(task_id)
        self.heads.append(head)
        self.times.append(born)
        self.updated.append(touched)
        self.seqs.append(seq)
        self.data.append(data)

    def frozen(self, *, joined: bool) -> tuple[Any, ...]:
        """The columns as stored; with ``joined``, the ``data`` texts as one text and where each
        ends (a million small texts cost marshal a third of its time to read back)."""
        data: Any = self.data
        if joined:
            ends = array("Q", accumulate(map(len, data)))
            data = ("".join(data), ends.tobytes())
        return (self.ids, self.heads.tobytes(), self.times.tobytes(), self.updated.tobytes(),
                self.seqs.tobytes(), data)  # fmt: skip


# ------------------------------------------------------------------------------ reading


def load(
    blob: bytes, decoder: TaskDecoder, changed: set[str] | None = None, current: list[TaskRow] | None = None
) -> Loaded:
    """The rows and unbuilt DONE tasks of a snapshot (SnapshotError if its structure is off;
    check its checksum first), with the tasks ``changed`` since (written or deleted) taken from
    ``current``, their rows now (none for a deleted task), instead of from the snapshot."""
    changed = changed or set()
    try:
        value = marshal.loads(blob)  # noqa: S302 (our own state file, mode 0600, its checksum checked)
        fmt, heads, hot, cold, groups, removes, links = value
    except (ValueError, EOFError, TypeError) as exc:
        raise SnapshotError(f"unreadable ({exc.__class__.__name__})") from None
    if fmt != FORMAT:
        raise SnapshotError(f"format {fmt!r}, this xrsched reads {FORMAT}")
    if not (isinstance(heads, list) and isinstance(groups, dict) and isinstance(removes, dict)
            and isinstance(links, dict)):  # fmt: skip
        raise SnapshotError("bad structure")
    hot_ids, hot_heads, hot_born, hot_touched, hot_seqs, hot_data = _columns(hot, len(heads), split=True)
    ids, head_of, born, touched, seqs, (text, ends) = _columns(cold, len(heads), joined=True)
    if sum(map(len, groups.values())) != len(ids):
        raise SnapshotError("the DONE tasks' groups do not cover them")
    if not all(map(lt, ids, islice(ids, 1, None))):
        raise SnapshotError("the DONE tasks' ids are not in order")
    hot_rows = list(zip(hot_ids, map(heads.__getitem__, hot_heads), hot_born, hot_touched, hot_seqs,
                        repeat(None, len(hot_ids)), strict=True))  # fmt: skip
    kept_seqs = compress(seqs, map(not_, map(changed.__contains__, ids))) if changed else seqs
    top_seq = max(kept_seqs, default=0)

    starts = array("Q", [0])
    starts.extend(ends[:-1])

    def decode(positions: list[int]) -> list[Task]:
        pick = itemgetter(*positions, positions[0])  # a tuple even for one position (one too many)
        texts = map(text.__getitem__, map(slice, pick(starts), pick(ends)))
        rows = zip(pick(ids), map(heads.__getitem__, pick(head_of)), pick(born), pick(touched), pick(seqs), texts,
                   strict=True)  # fmt: skip
        return decoder.decode_rows(list(islice(rows, len(positions))))

    cold_tasks = ColdTasks(ids, decode, groups, removes, links, int(top_seq), changed)
    return Loaded(hot_rows, hot_data, changed, current or [], cold_tasks)


def _columns(value: Any, n_heads: int, *, joined: bool = False, split: bool = False) -> tuple[Any, ...]:
    """One side's columns, unpacked and checked for matching lengths. The ``data`` column is
    a list of texts, or, ``joined``, one text and where each ends, or, ``split``, as
    :func:`data_column` splits it."""
    try:
        ids, heads, times, updated, seqs, data = value
        if joined:
            text, ends = data
            data = (text, _unpacked("Q", ends))
            if not isinstance(text, str) or (data[1] and data[1][-1] != len(text)):
                raise ValueError("the data text and its ends differ")
        elif split:
            params, more = data
            if not (isinstance(params, list) and isinstance(more, list)):
                raise ValueError("the split data is not two lists")
        columns = (ids, _unpacked("I", heads), _unpacked("d", times), _unpacked("d", updated),
                   _unpacked("q", seqs))  # fmt: skip
    except (ValueError, TypeError) as exc:
        raise SnapshotError(f"bad columns ({exc.__class__.__name__})") from None
    n_data = len(data[1]) if joined else len(data[0]) if split else len(data) if isinstance(data, list) else -1
    if not isinstance(ids, list) or len({*map(len, columns), n_data}) != 1:
        raise SnapshotError("columns of different lengths")
    if columns[1] and max(columns[1]) >= n_heads:
        raise SnapshotError("a head index out of range")
    return (*columns, data)


def _unpacked(code: str, raw: bytes) -> array[Any]:
    values = array(code)
    values.frombytes(raw)
    return values
