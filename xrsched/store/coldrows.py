"""DONE tasks kept as stored rows, split from PostgreSQL's rows as a warm standby reads them.

The SQLite store splits its tasks in two when it writes its snapshot (:mod:`.snapshot`); a warm
standby (:mod:`.pgwarm`) splits the rows it reads the same way: a row whose ``head`` decodes to
DONE is kept column by column (ids, one shared text per distinct head, numbers in packed arrays,
the ``data`` texts) and reaches the takeover's restore unbuilt
(:class:`~xrsched.core.coldtasks.ColdTasks`), with what its indexes need of it worked out once,
when read; the other rows are decoded. Heads are decoded once per distinct text, so telling a
DONE row from another costs a dictionary lookup. (Split at every load, this costs about what it
saves, commit 46b227e; split before the standby leads, it takes the DONE tasks off the takeover.)
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable
from itertools import compress, islice, repeat
from operator import itemgetter, not_
from typing import Any

from xrsched.core.coldtasks import ColdTasks
from xrsched.core.edges import packed
from xrsched.core.model import Task
from xrsched.core.states import DONE

from .records import HEAD_FIELDS, TaskDecoder, TaskRow, data_column

_HEAD = itemgetter(1)
_STATUS = HEAD_FIELDS.index("status")
_STAKEHOLDERS = HEAD_FIELDS.index("stakeholders")
_WORKERS = HEAD_FIELDS.index("workers")


class _Heads(dict):  # type: ignore[type-arg]
    """head text -> the one copy of it kept, decoded on first sight; ``done`` and ``members``
    say what the copy's fields are."""

    def __init__(self, decoder: TaskDecoder) -> None:
        super().__init__()
        self._decoder = decoder
        #: Heads whose status is DONE (their kept copies).
        self.done: set[str] = set()
        #: Kept copy -> (stakeholders, workers).
        self.members: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def __missing__(self, text: str) -> str:
        fields = self._decoder.decode_head(text)  # RecordError if it is not a head
        if fields[_STATUS] == DONE:
            self.done.add(text)
        self.members[text] = (fields[_STAKEHOLDERS], fields[_WORKERS])
        self[text] = text
        return text


class ColdColumns:
    """The DONE rows read, column by column in the order read, each head the one copy of its
    text kept, the numbers packed; with the ids per head and where the ``data`` texts that hold
    more than params are. Taken a batch at a time, while the batch is in the CPU cache."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.heads: list[str] = []
        self.times = array("d")
        self.updated = array("d")
        self.seqs = array("q")
        self.data: list[str] = []
        self.by_head: defaultdict[str, list[str]] = defaultdict(list)
        #: Positions of the ``data`` texts that are arrays: [params, dependencies, other fields].
        self.more: list[int] = []

    def extend(self, rows: list[TaskRow], heads: list[str]) -> None:
        """Add ``rows`` (DONE), with the kept copies of their heads."""
        if not rows:
            return
        start = len(self.ids)
        ids, _, times, updated, seqs, data = zip(*rows, strict=True)
        self.ids += ids
        self.heads += heads
        self.times.extend(times)
        self.updated.extend(updated)
        self.seqs.extend(seqs)
        self.data += data
        by_head = self.by_head
        for task_id, head in zip(ids, heads, strict=True):
            by_head[head].append(task_id)
        self.more += compress(range(start, start + len(data)), map(str.startswith, data, repeat("[")))

    def top_seq(self, leave_out: set[str]) -> int:
        """The highest creation number among the rows, those of ``leave_out`` not counted."""
        seqs = compress(self.seqs, map(not_, map(leave_out.__contains__, self.ids))) if leave_out else self.seqs
        return int(max(seqs, default=0))


def split(batches: Iterable[list[TaskRow]], decoder: TaskDecoder) -> tuple[list[TaskRow], ColdTasks, ColdColumns]:
    """Stored rows, read once a batch at a time, split as a snapshot splits them: the rows not
    DONE (to decode), the DONE ones unbuilt, and their columns. RecordError if a head is not
    one, or a DONE row's dependencies and other fields are not framed as they must be (the rest
    of a DONE row is checked when it is built, as a snapshot's)."""
    heads = _Heads(decoder)
    done = heads.done
    hot: list[TaskRow] = []
    cold = ColdColumns()
    for rows in batches:
        kept = list(map(heads.__getitem__, map(_HEAD, rows)))
        is_done = list(map(done.__contains__, kept))
        hot += compress(rows, map(not_, is_done))
        cold.extend(list(compress(rows, is_done)), list(compress(kept, is_done)))
    return hot, _cold_tasks(cold, heads, decoder), cold


def _cold_tasks(cold: ColdColumns, heads: _Heads, decoder: TaskDecoder) -> ColdTasks:
    """The DONE rows handed over unbuilt: their ids in order, and ``decode`` reading the columns
    where each id was read (the columns stay in the order read: reordering them all would cost
    more than the lookup)."""
    read_ids, head_of, born, touched, seqs, data = cold.ids, cold.heads, cold.times, cold.updated, cold.seqs, cold.data
    order = array("I", sorted(range(len(read_ids)), key=read_ids.__getitem__))
    ids = list(map(read_ids.__getitem__, order))
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for head, members_ids in cold.by_head.items():
        groups.setdefault(heads.members[head], []).extend(members_ids)
    removes, links = cold_details([read_ids[i] for i in cold.more], [data[i] for i in cold.more])

    def decode(positions: list[int]) -> list[Task]:
        where = [order[i] for i in positions]
        pick = itemgetter(*where, where[0])  # a tuple even for one position (one too many)
        rows = zip(pick(read_ids), pick(head_of), pick(born), pick(touched), pick(seqs), pick(data), strict=True)
        return decoder.decode_rows(list(islice(rows, len(positions))))

    return ColdTasks(ids, decode, groups, removes, links, max(seqs, default=0))


def cold_details(ids: list[str], data: list[str]) -> tuple[dict[str, float], dict[str, Any]]:
    """The removal times and the reverse dependency index of DONE tasks, from their ``data``
    texts (``ids`` theirs, in the same order; texts that hold only params add nothing): what
    the SQLite snapshot stores and a warm standby works out once, when it reads the rows."""
    _, more = data_column(list(data))
    removes: dict[str, float] = {}
    dependents: dict[str, list[str]] = {}
    for i, deps, extra in more:
        task_id = ids[i]
        for dep in dict.fromkeys(deps or ()):
            dependents.setdefault(dep, []).append(task_id)
        if isinstance(extra, dict) and extra.get("remove") is not None:
            removes[task_id] = float(extra["remove"])
    return removes, {dep: packed(dep_ids) for dep, dep_ids in dependents.items()}
