"""Schema migrations of the state database, and the one rewrite of task rows they need.

``MIGRATIONS[v]`` brings a database from version ``v - 1`` to ``v``; the steps of one version
run in one transaction. A step is an SQL statement, or a function of the connection where SQL
cannot do the rewrite exactly (version 2 re-encodes every task row: SQLite would print the
floats it moves into JSON with too few digits).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from .records import TASK_COLUMNS, RecordError, TaskRow, dumps, loads

Step = str | Callable[[sqlite3.Connection], None]

#: Separator of the ids in version 1's deps, stakeholders and workers columns.
SEP_V1 = "\x1f"

#: The task columns of schema version 1, in order.
TASK_COLUMNS_V1: tuple[str, ...] = (
    "id",
    "status",
    "deps",
    "stakeholders",
    "workers",
    "priority",
    "time",
    "updated",
    "seq",
    "family",
    "module",
    "params",
    "resources",
    "worker_running",
    "time_running",
    "retry",
    "remove",
    "scheduler_disable_time",
    "runnable",
    "batch_id",
    "cold",
)
_SCHEMA_V1 = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, status TEXT NOT NULL, deps TEXT NOT NULL, "
    "stakeholders TEXT NOT NULL, workers TEXT NOT NULL, priority REAL NOT NULL, time REAL NOT NULL, "
    "updated REAL NOT NULL, seq INTEGER NOT NULL, family TEXT NOT NULL, module TEXT, params TEXT, resources TEXT, "
    "worker_running TEXT, time_running REAL, retry REAL, remove REAL, scheduler_disable_time REAL, "
    "runnable INTEGER NOT NULL, batch_id TEXT, cold TEXT) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS workers (id TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL, old TEXT, "
    "new TEXT NOT NULL, time REAL NOT NULL, worker TEXT, host TEXT)",
    "CREATE INDEX IF NOT EXISTS history_by_task ON history(task_id, seq)",
    "CREATE INDEX IF NOT EXISTS history_by_time ON history(time)",
)
_TASKS_V2 = (
    "CREATE TABLE tasks_v2 (id TEXT PRIMARY KEY, head TEXT NOT NULL, time REAL NOT NULL, updated REAL NOT NULL, "
    "seq INTEGER NOT NULL, data TEXT NOT NULL) WITHOUT ROWID"
)
#: Version 1's columns that joined ``cold``'s fields in version 2's "other fields" object.
_TO_EXTRA = ("worker_running", "time_running", "retry", "remove", "scheduler_disable_time", "batch_id")


def upgrade_v1_row(row: TaskRow) -> TaskRow:
    """A task row of schema version 1 (:data:`TASK_COLUMNS_V1`) as a row of the current version."""
    try:
        (task_id, status, deps, stakeholders, workers, priority, time, updated, seq, family, module, params,
         resources, worker_running, time_running, retry, remove, disabled_at, runnable, batch_id,
         cold) = row  # fmt: skip
        head = (status, family, module, float(priority), bool(runnable), _ids(stakeholders), _ids(workers))
        extra: dict[str, Any] = {}
        if resources and (needs := loads(resources)):
            extra["resources"] = needs
        moved = (worker_running, time_running, retry, remove, disabled_at, batch_id)
        extra.update((name, value) for name, value in zip(_TO_EXTRA, moved, strict=True) if value is not None)
        if cold:
            extra.update(loads(cold))
        params = params or "{}"
        data = params if not (deps or extra) else f"[{params},{dumps(_ids(deps))},{dumps(extra or None)}]"
        return (task_id, dumps(head), time, updated, seq, data)
    except (ValueError, TypeError, AttributeError) as exc:
        name = row[0] if row and isinstance(row[0], str) else "?"
        raise RecordError(f"task {name!r}: unreadable version 1 record ({exc.__class__.__name__})") from None


def _ids(text: str) -> list[str]:
    return text.split(SEP_V1) if text else []


def upgraded_v1_batches(db: sqlite3.Connection, size: int = 10_000) -> Iterator[list[TaskRow]]:
    """The task rows of a version 1 database, ``size`` at a time, as rows of the current version."""
    rows = db.execute(f"SELECT {', '.join(TASK_COLUMNS_V1)} FROM tasks")  # noqa: S608 (fixed names)
    while batch := rows.fetchmany(size):
        yield [upgrade_v1_row(row) for row in batch]


def _tasks_to_v2(db: sqlite3.Connection) -> None:
    db.execute(_TASKS_V2)
    insert = f"INSERT INTO tasks_v2({', '.join(TASK_COLUMNS)}) VALUES ({', '.join('?' * len(TASK_COLUMNS))})"  # noqa: S608
    for batch in upgraded_v1_batches(db):
        db.executemany(insert, batch)
    db.execute("DROP TABLE tasks")
    db.execute("ALTER TABLE tasks_v2 RENAME TO tasks")


#: Version 3: the snapshot of the task rows (see :mod:`xrsched.store.snapshot`), in parts, valid
#: while the meta row ``snapshot`` describes it, and the ids of the tasks written since it was.
_SNAPSHOT_V3 = (
    "CREATE TABLE IF NOT EXISTS snapshot (part INTEGER PRIMARY KEY, data BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS snapshot_changes (id TEXT PRIMARY KEY) WITHOUT ROWID",
)

#: version -> the steps that bring a database from version-1 to version. Version 4 changed the
#: PostgreSQL schema only (change numbers for warm standbys, :mod:`.pgschema`): the numbering is
#: shared, so SQLite takes it as a step that changes nothing.
MIGRATIONS: dict[int, tuple[Step, ...]] = {1: _SCHEMA_V1, 2: (_tasks_to_v2,), 3: _SNAPSHOT_V3, 4: ()}
#: The version this code reads and writes.
SCHEMA_VERSION = max(MIGRATIONS)
#: The tables and indexes of :data:`SCHEMA_VERSION`, created at once in a brand-new database
#: (the same layout that running every migration from version 1 leaves behind).
CURRENT_SCHEMA: tuple[str, ...] = (
    *(statement for statement in _SCHEMA_V1 if "TABLE IF NOT EXISTS tasks " not in statement),
    _TASKS_V2.replace("tasks_v2", "tasks", 1),
    *_SNAPSHOT_V3,
)
