"""The SQLite store's snapshot of the task rows, and the tasks written since it (schema version 3).

``snapshot`` holds the value :mod:`.snapshot` builds, in parts; the meta row ``snapshot`` says
what it is (format, interpreter, length, CRC-32, how many tasks) and that it is in use. Every
write of a task after it also puts the task's id in ``snapshot_changes``, in the write's own
transaction, so a start reads the snapshot and takes those tasks from their rows now: the state
is exactly the rows', also after a crash. Past :data:`CHANGES_KEPT` noted tasks the meta row
and the notes are dropped instead (a start from it would gain little), and starts read the rows
until the next snapshot. A snapshot that cannot be used is refused with a log line and the rows
are read; its notes go on until a new one replaces it (another interpreter may read it).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xrsched.core.config import RetryPolicy

from . import snapshot
from .base import Batch
from .records import TASK_COLUMNS, TaskDecoder

log = logging.getLogger("xrsched.store")

#: Tasks written since the snapshot beyond which it is dropped: this many, or a tenth of the
#: tasks it holds if that is more.
CHANGES_KEPT = 50_000

_COLUMNS = ", ".join(TASK_COLUMNS)


class SnapshotTables:
    """Mixin of :class:`~xrsched.store.sqlite.SQLiteStore`: the snapshot and the notes since."""

    db: sqlite3.Connection
    path: Path
    version: int

    if TYPE_CHECKING:  # SQLiteStore's

        def verify(self) -> None: ...

        def reading(self) -> AbstractContextManager[None]: ...

        def _write_transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _open_snapshot(self) -> None:
        info = self._snapshot_info()
        #: Whether a snapshot is stored (and the tasks written since it are noted).
        self.snapshot_valid = info is not None
        #: How many tasks were noted since the snapshot.
        self.snapshot_changes = self._count_changes() if info is not None else 0
        self._changes_kept = max(CHANGES_KEPT, int(info.get("tasks", 0)) // 10) if info else 0
        self._snapshot_unusable = False

    def _reread_snapshot_state(self) -> None:
        """Read what another connection (the server's writer process) noted since the open."""
        unusable = self._snapshot_unusable
        self._open_snapshot()
        self._snapshot_unusable = unusable

    def _snapshot_info(self) -> dict[str, Any] | None:
        """What the meta row ``snapshot`` says of the stored snapshot, if one is in use."""
        if self.version < 3:
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key='snapshot'").fetchone()
        return json.loads(row[0]) if row else None

    def _count_changes(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM snapshot_changes").fetchone()[0])

    # ----------------------------------------------------------------- reading

    def load_snapshot(self, decoder: TaskDecoder) -> snapshot.Loaded | None:
        """The stored snapshot with the tasks written since on top, read back, if one is in
        use and intact; None (and a log line saying why, when one is stored but unusable) to
        read the rows instead."""
        with self.reading():
            info = self._snapshot_info()
            if info is None:
                return None
            blob = b"".join(row[0] for row in self.db.execute("SELECT data FROM snapshot ORDER BY part"))
            changed = {row[0] for row in self.db.execute("SELECT id FROM snapshot_changes")}
            current = self.db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE id IN (SELECT id FROM snapshot_changes) ORDER BY id"  # noqa: S608
            ).fetchall()
        problem = _snapshot_problem(info, blob)
        if problem is None:
            try:
                return snapshot.load(blob, decoder, changed, current)
            except snapshot.SnapshotError as exc:
                problem = str(exc)
        log.warning("the snapshot in %s cannot be used (%s): reading the task rows instead", self.path, problem)
        self._snapshot_unusable = True  # still noted; the next write_snapshot() replaces it
        return None

    # ----------------------------------------------------------------- writing

    def _note_task_writes(self, db: sqlite3.Connection, batch: Batch) -> int | None:
        """Inside a write's transaction: note the tasks it writes or deletes, or drop the
        snapshot past the limit. Returns how many new ids were noted (None: dropped); pass it
        to :meth:`_noted` once the transaction has committed."""
        if not self.snapshot_valid or not (batch.task_rows or batch.removed_tasks):
            return 0
        touched = batch.task_rows.keys() | batch.removed_tasks
        if len(touched) + self.snapshot_changes > self._changes_kept:
            self._drop_snapshot(db, parts=False)  # its bytes stay until the next one replaces them
            return None
        insert = "INSERT OR IGNORE INTO snapshot_changes(id) VALUES (?)"
        return int(db.executemany(insert, ((task_id,) for task_id in touched)).rowcount)

    def _noted(self, noted: int | None) -> None:
        """After a commit: what :meth:`_note_task_writes` did, or None after a drop."""
        if noted is None:
            self.snapshot_valid = False
            self.snapshot_changes = 0
        else:
            self.snapshot_changes += noted

    def _drop_snapshot(self, db: sqlite3.Connection, *, parts: bool) -> None:
        db.execute("DELETE FROM meta WHERE key='snapshot'")
        db.execute("DELETE FROM snapshot_changes")
        if parts:
            db.execute("DELETE FROM snapshot")

    def write_snapshot(self) -> bool:
        """Store a snapshot of the task rows (replacing the last one) unless the stored one is
        usable with no task written since; True if one was written. Reads every row: for a
        clean stop, not a request."""
        self.verify()
        if (self.snapshot_valid and not self.snapshot_changes and not self._snapshot_unusable) or not self.version:
            return False
        with self._write_transaction() as db:
            rows = _Counted(db.execute(f"SELECT {_COLUMNS} FROM tasks ORDER BY id"))  # noqa: S608 (fixed names)
            blob = snapshot.build(rows, TaskDecoder(RetryPolicy()))
            self._drop_snapshot(db, parts=True)
            parts = range(0, len(blob), snapshot.PART_BYTES)
            db.executemany(
                "INSERT INTO snapshot(part, data) VALUES (?, ?)",
                ((n, memoryview(blob)[start : start + snapshot.PART_BYTES]) for n, start in enumerate(parts)),
            )
            info = {"format": snapshot.FORMAT, "python": snapshot.python_tag(), "bytes": len(blob),
                    "crc32": snapshot.checksum(blob), "tasks": rows.count}  # fmt: skip
            db.execute("INSERT INTO meta(key, value) VALUES ('snapshot', ?)", (json.dumps(info),))
        self.snapshot_valid = True
        self._snapshot_unusable = False
        self.snapshot_changes = 0
        self._changes_kept = max(CHANGES_KEPT, rows.count // 10)
        log.debug("wrote a snapshot of the tasks to %s (%.0f MiB)", self.path, len(blob) / 2**20)
        return True


class _Counted:
    """The rows of a cursor, counted as they pass."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for row in self._rows:
            self.count += 1
            yield row


def _snapshot_problem(info: dict[str, Any], blob: bytes) -> str | None:
    """Why a stored snapshot must not be used (partial, damaged, another format), or None."""
    if info.get("format") != snapshot.FORMAT:
        return f"format {info.get('format')!r}, this xrsched reads {snapshot.FORMAT}"
    if info.get("python") != snapshot.python_tag():
        return f"written by {info.get('python')}, this is {snapshot.python_tag()}"
    if len(blob) != info.get("bytes"):
        return f"{len(blob)} bytes stored, {info.get('bytes')} written"
    if snapshot.checksum(blob) != info.get("crc32"):
        return "checksum mismatch"
    return None
