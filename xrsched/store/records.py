"""Task and worker records as stored: a task in six columns, workers as JSON arrays.

Start-up decodes every stored task, so the task layout is made for decoding a million of them
at once. Few columns, because the sqlite3 module spends about 0.1 µs per column and row even on
a NULL. ``head`` holds, as one JSON array, the fields that many tasks share (status, family,
module, priority, runnable, stakeholders, workers): it is decoded once per distinct text.
``time``, ``updated`` and ``seq`` are numbers of their own (REAL and INTEGER round-trip exactly,
and faster than JSON numbers parse). ``data`` is JSON too, decoded a batch of rows at a time
with one ``json.loads``: the params object, or, when the task has dependencies or any other
field away from its default, the array ``[params, dependency ids, other fields or null]``.
Only primary fields are stored; derived ones (dependency counts, heap generations) are rebuilt
on load. The column list is part of the schema: changing it needs a schema migration (see
:mod:`xrsched.store.migrations`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from itertools import compress, repeat
from operator import attrgetter, itemgetter
from sys import intern
from typing import Any

from xrsched.core.config import RetryPolicy
from xrsched.core.encoding import dumps, loads
from xrsched.core.model import NO_RESOURCES, RARE_FIELDS, Task, Worker
from xrsched.core.states import TASK_STATUSES

__all__ = ["dumps", "loads"]  # re-exported: the store's JSON is the core's

#: Stored task columns, in order (schema version 2); ``id`` first.
TASK_COLUMNS: tuple[str, ...] = ("id", "head", "time", "updated", "seq", "data")
#: The fields in a ``head`` array, in order.
HEAD_FIELDS: tuple[str, ...] = ("status", "family", "module", "priority", "runnable", "stakeholders", "workers")
#: Fields other than the rarely set ones (:data:`RARE_FIELDS`) that the ``data`` column's
#: "other fields" object holds when they differ from these defaults.
_SLOT_DEFAULTS: dict[str, Any] = {
    "resources": NO_RESOURCES,
    "worker_running": None,
    "time_running": None,
    "remove": None,
    "resources_running": None,
}
#: Every field kept in the ``data`` column's "other fields" object when it differs from its default.
EXTRA_DEFAULTS: dict[str, Any] = {**_SLOT_DEFAULTS, **RARE_FIELDS}
#: Stored worker fields, in order (schema version 1).
WORKER_FIELDS: tuple[str, ...] = ("started", "info", "disabled", "rpc_messages", "reference")

TaskRow = tuple[Any, ...]
#: Distinct heads remembered while decoding; beyond this the memo starts afresh (bounded memory).
_HEADS_KEPT = 100_000
_SLOT_EXTRAS = tuple(_SLOT_DEFAULTS)
_SLOT_UNSET = tuple(_SLOT_DEFAULTS.values())
_SLOT_VALUES = attrgetter(*_SLOT_EXTRAS)
_SCANNER = json.JSONDecoder()
_ID, _HEAD, _DATA = (itemgetter(TASK_COLUMNS.index(name)) for name in ("id", "head", "data"))


class RecordError(ValueError):
    """A stored record cannot be decoded."""


def encode_task(task: Task, default_policy: RetryPolicy) -> TaskRow:
    """One task as the values of :data:`TASK_COLUMNS`.

    A task whose retry policy is the configured default stores none, and gets the configured
    default again on load (so a changed ``[scheduler]`` policy applies to it after a restart).
    """
    head = (task.status, task.family, task.module, float(task.priority), bool(task.runnable), task.stakeholders,
            task.workers)  # fmt: skip
    values = _SLOT_VALUES(task)
    extra = {}
    if values != _SLOT_UNSET:  # most tasks: one comparison in C instead of a loop
        extra = {name: v for name, v, unset in zip(_SLOT_EXTRAS, values, _SLOT_UNSET, strict=True) if v != unset}
    if task.more:
        extra.update(sorted(task.more.items()))  # one text for one state, whatever order they were set in
    policy = task.retry_policy
    if policy != default_policy:
        extra["retry_policy"] = [policy.retry_count, policy.disable_hard_timeout, policy.disable_window]
    params = task.params_json
    data = params if not (task.deps or extra) else f"[{params},{dumps(task.deps)},{dumps(extra or None)}]"
    return (task.id, dumps(head), task.time, task.updated, task.seq, data)


def _data_column(texts: list[Any]) -> tuple[list[str], list[tuple[int, Any, Any]]]:
    """The params texts of a batch of rows, and (position, dependency ids, other fields) of the
    rows that hold more than params.

    Tasks keep their parameters as JSON text, so a params object stays the text it is stored as
    and only its framing is checked here: decoding a million of them only to check them would
    cost a tenth of a start-up (``xrsched state import`` decodes every one). In an array, the
    params text ends where the JSON scanner says; the dependencies and other fields of all the
    arrays are decoded together, in one ``json.loads`` (a call per text would cost four times as
    much), and the count and the types are checked, so a damaged text cannot shift its
    neighbours' values unnoticed.
    """
    arrays = list(compress(range(len(texts)), map(str.startswith, texts, repeat("["))))
    more = []
    if arrays:
        rests = []
        for i in arrays:
            text = texts[i]
            end = _object_end(text, 1)
            if text[end] != "," or text[-1] != "]":
                raise RecordError("data must be params or [params, dependencies, other fields]")
            texts[i] = text[1:end]
            rests.append(text[end + 1 : -1])
        values = loads(f"[[{'],['.join(rests)}]]")
        if len(values) != len(arrays) or not all(len(value) == 2 for value in values):
            raise RecordError("data must be params or [params, dependencies, other fields]")
        more = [(i, deps, extra) for i, (deps, extra) in zip(arrays, values, strict=True)]
    if not (all(map(str.startswith, texts, repeat("{"))) and all(map(str.endswith, texts, repeat("}")))):
        raise RecordError("params must be an object")
    return texts, more


#: A ``data`` column split: the params texts, and (position, dependency ids, other fields) of the
#: values that hold more than params.
DataParts = tuple[list[str], list[tuple[int, Any, Any]]]


def data_column(texts: list[Any]) -> DataParts:
    """The params texts of a batch of ``data`` values (``texts`` is changed in place), and
    (position, dependency ids, other fields) of those that hold more than params."""
    return _data_column(texts)


def _object_end(text: str, start: int) -> int:
    """Where the JSON value that starts at ``text[start]`` ends (ValueError if it is not one)."""
    return _SCANNER.raw_decode(text, start)[1]


def _ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(map(isinstance, value, repeat(str))):
        raise RecordError("ids must be a list of text")
    return tuple(value)


class _Heads(dict):  # type: ignore[type-arg]
    """head text -> its decoded fields, decoded on first sight (``map(heads.__getitem__, ...)`` runs in C)."""

    __slots__ = ("_decoder",)

    def __init__(self, decoder: TaskDecoder) -> None:
        super().__init__()
        self._decoder = decoder

    def __missing__(self, text: str) -> tuple[Any, ...]:
        if len(self) >= _HEADS_KEPT:
            self.clear()
        value = self[text] = self._decoder.decode_head(text)
        return value


class TaskDecoder:
    """Builds Task objects from rows, sharing what repeats (names, worker tuples, policies).

    Rows are decoded a batch at a time: one ``json.loads`` per JSON column, heads looked up in
    a memo, and one Python loop that fills the slots.
    """

    def __init__(self, default_policy: RetryPolicy) -> None:
        self.policies: dict[tuple[Any, ...], RetryPolicy] = {}
        #: Every distinct stakeholders/workers tuple decoded (shared by all tasks that hold it).
        self.members: dict[tuple[str, ...], tuple[str, ...]] = {(): ()}
        self._default_policy = default_policy
        self._heads = _Heads(self)
        self._priorities: dict[float, float] = {}

    def decode_head(self, text: str) -> tuple[Any, ...]:
        """The fields of a ``head`` text (:data:`HEAD_FIELDS`), names interned, tuples shared."""
        status, family, module, priority, runnable, stakeholders, workers = loads(text)
        if status not in TASK_STATUSES or not isinstance(family, str) or not isinstance(module, str | None):
            raise RecordError(f"bad head {text[:200]!r}")
        if isinstance(priority, bool) or not isinstance(priority, int | float) or not isinstance(runnable, bool):
            raise RecordError(f"bad head {text[:200]!r}")
        members = self.members
        stakeholders = tuple(map(intern, _ids(stakeholders)))
        workers = tuple(map(intern, _ids(workers)))
        return (
            intern(status),
            intern(family),
            intern(module) if module else module,
            self._priorities.setdefault(float(priority), float(priority)),
            runnable,
            members.setdefault(stakeholders, stakeholders),
            members.setdefault(workers, workers),
        )

    def decode(self, row: TaskRow) -> Task:
        """A Task from its stored row (RecordError if it is not one)."""
        return self.decode_rows([row])[0]

    def decode_rows(self, rows: Sequence[TaskRow], split: DataParts | None = None) -> list[Task]:
        """Tasks from stored rows, in order; a RecordError names the first row that is not one.

        ``split``: the rows' ``data`` column already split as :func:`data_column` splits it
        (a snapshot keeps it so); the rows' own ``data`` is not read then."""
        try:
            return self._decode(rows, split)
        except (ValueError, TypeError, AttributeError, LookupError) as exc:
            if split is not None:
                raise RecordError(f"unreadable task records ({exc.__class__.__name__})") from None
            if len(rows) != 1:
                for row in rows:  # find the row to blame
                    self.decode_rows([row])
                raise RecordError(f"unreadable task records ({exc.__class__.__name__})") from None
            name = rows[0][0] if rows[0] and isinstance(rows[0][0], str) else "?"
            detail = str(exc) if isinstance(exc, RecordError) else exc.__class__.__name__
            raise RecordError(f"task {name!r}: unreadable record ({detail})") from None

    def _decode(self, rows: Sequence[TaskRow], split: DataParts | None) -> list[Task]:
        if not all(map(isinstance, map(_ID, rows), repeat(str))):
            raise TypeError("task ids must be text")
        params, more = _data_column(list(map(_DATA, rows))) if split is None else split
        policy = self._default_policy
        new = Task.__new__
        tasks = []
        append = tasks.append
        heads = map(self._heads.__getitem__, map(_HEAD, rows))
        for (task_id, _, born, touched, seq, _), head, kv in zip(rows, heads, params, strict=True):
            status, family, module, priority, runnable, holders, runners = head
            task = new(Task)
            task.id = task_id
            task.status = status
            task.family = family
            task.module = module
            task.priority = priority
            task.runnable = runnable
            task.stakeholders = holders
            task.workers = runners
            task.time = born
            task.updated = touched
            task.seq = seq
            task.params_json = kv
            task.deps = ()
            task.resources = NO_RESOURCES
            task.unmet = task.blocked = task.gen = 0
            # The other defaults (EXTRA_DEFAULTS), assigned directly: this runs a million times.
            task.worker_running = task.time_running = task.remove = task.resources_running = task.more = None
            task.retry_policy = policy
            append(task)
        for i, deps, extra in more:
            task = tasks[i]
            if deps:
                # Not interned: restore() points them at the ids of the records they name.
                task.deps = _ids(deps)
            if extra is not None:
                self._apply_extra(task, extra)
        return tasks

    def _apply_extra(self, task: Task, extra: dict[str, Any]) -> None:
        if not isinstance(extra, dict):
            raise RecordError("other fields must be an object")
        rare = {}
        for name, value in extra.items():
            if name in RARE_FIELDS:
                if value != RARE_FIELDS[name]:
                    rare[name] = value
            elif name == "resources_running":
                task.resources_running = value or NO_RESOURCES  # a run holding nothing shares it, as when it began
            elif name in _SLOT_DEFAULTS:
                setattr(task, name, value)
            elif name == "retry_policy":
                key = tuple(value)
                policy = self.policies.get(key)
                if policy is None:
                    policy = self.policies[key] = RetryPolicy(int(value[0]), float(value[1]), float(value[2]))
                task.retry_policy = policy
            else:
                raise RecordError(f"unknown stored field {name!r}")
        task.more = rare or None


def encode_worker(worker: Worker) -> str:
    """One worker as a JSON array of :data:`WORKER_FIELDS`."""
    return dumps([getattr(worker, name) for name in WORKER_FIELDS])


def decode_worker(worker_id: str, text: str, now: float) -> Worker:
    """A Worker from its stored row, active from ``now``."""
    try:
        row = loads(text)
        if not isinstance(row, list) or len(row) != len(WORKER_FIELDS):
            raise RecordError(f"worker {worker_id!r}: expected {len(WORKER_FIELDS)} fields")
        worker = Worker(intern(worker_id), now)
        for name, value in zip(WORKER_FIELDS, row, strict=True):
            setattr(worker, name, value)
        return worker
    except RecordError:
        raise
    except (ValueError, TypeError) as exc:
        raise RecordError(f"worker {worker_id!r}: unreadable record ({exc.__class__.__name__})") from None


def encode_meta(meta: dict[str, Any]) -> str:
    """Pause, capacities and batchers (see :func:`xrsched.core.restore.meta_of`)."""
    return dumps(meta)


def decode_meta(text: str | None) -> dict[str, Any]:
    """The scheduler-wide settings, with batchers' sizes back as numbers (None means no limit)."""
    meta = loads(text) if text else {}
    batchers: dict[str, dict[str, tuple[tuple[str, ...], float]]] = {}
    for worker, families in (meta.get("batchers") or {}).items():
        batchers[worker] = {
            family: (tuple(names), math.inf if size is None else float(size))
            for family, (names, size) in families.items()
        }
    return {
        "paused": bool(meta.get("paused", False)),
        "resources": {str(k): int(v) for k, v in (meta.get("resources") or {}).items()},
        "batchers": batchers,
    }
