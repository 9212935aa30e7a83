"""SQLiteStore: the embedded default store, one SQLite database in WAL mode.

Tables hold the live records (one row per task and per worker) plus the scheduler-wide
settings and the task history. The row tables *are* the snapshot and the WAL is the journal:
SQLite checkpoints the journal into the database as it goes, so the file and start-up time
follow the live state, not the history of changes. History is trimmed to ``history_days``.

A server's store also keeps a snapshot of the task rows (:mod:`.snapshot`), written when it
closes, and the ids of the tasks written since (``snapshot_changes``, in the same transaction
as each write): a start reads the snapshot and, on top of it, the current rows of those tasks,
which skips reading every row and building every DONE task. Past :data:`CHANGES_KEPT` changed
tasks the snapshot is dropped instead (a start from it would gain little).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xrsched.core.config import RetryPolicy

from . import snapshot
from .base import Batch, StoreCorrupt, StoreError, StoreTooNew
from .migrations import CURRENT_SCHEMA, MIGRATIONS, SCHEMA_VERSION, upgraded_v1_batches
from .records import TASK_COLUMNS, RecordError, TaskDecoder

log = logging.getLogger("xrsched.store")

#: Identifies our databases (``PRAGMA application_id``): "xrsc".
APPLICATION_ID = 0x78727363
#: Tasks written since the snapshot beyond which it is dropped: this many, or a tenth of the
#: tasks it holds if that is more.
CHANGES_KEPT = 50_000

_COLUMNS = ", ".join(TASK_COLUMNS)
_INSERT_TASK = f"INSERT OR REPLACE INTO tasks({_COLUMNS}) VALUES ({', '.join('?' * len(TASK_COLUMNS))})"  # noqa: S608


class SQLiteStore:
    """Durable records in ``<state dir>/state.sqlite3``. Not thread-safe: one writer thread.

    ``read_only`` opens an existing file without writing to it, ever: no migration (rows of an
    older schema version are converted as they are read), so the offline tools can read a file
    that a server, maybe of an older version, is using.

    Opening checks the file's structure (``PRAGMA quick_check``, a third of a second at a
    million tasks). With ``check_in_background`` (the server, on a file of the current schema)
    the check runs on its own connection in a thread while the records are loaded, and
    :meth:`verify` waits for its verdict: SQLite releases the GIL while it checks, so on a
    machine with a second core the check costs no start-up time. Nothing is written before the
    verdict is in (:meth:`write` waits for it too).

    With ``snapshot_on_close`` (the server), :meth:`close` writes a snapshot of the task rows
    unless the stored one is still exact; :meth:`load_snapshot` reads it back.
    """

    kind = "sqlite"
    #: Answers to request ids stay in memory: one server, nothing to fail over to.
    keeps_replies = False

    def __init__(
        self,
        path: Path,
        *,
        sync: str = "full",
        history_days: float = 30.0,
        read_only: bool = False,
        check_in_background: bool = False,
        snapshot_on_close: bool = False,
    ) -> None:
        if sync not in ("full", "normal"):
            raise StoreError(f"sync must be 'full' or 'normal', not {sync!r}")
        self.path = path
        self.history_days = history_days
        self.read_only = read_only
        self.snapshot_on_close = snapshot_on_close and not read_only
        self._last_trim = 0.0
        self._check: _BackgroundCheck | None = None
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not a state file: move it away or choose another --state-path")
        if read_only and not path.exists():
            raise StoreError(f"no state database at {path}")
        existed = path.exists() and path.stat().st_size > 0
        #: True when this call made a brand-new database (nothing to recover from it).
        self.created = False
        if not path.exists():
            # Task parameters may be confidential: the state file is for the server's user only.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        try:
            if read_only:
                self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                          check_same_thread=False)  # fmt: skip
            else:
                self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
            self.db.execute("PRAGMA busy_timeout=5000")
            self._check_identity(existed)
            if check_in_background and not read_only and self._schema_version() == SCHEMA_VERSION:
                self._check = _BackgroundCheck(path)
            else:
                self._check_structure(self.db.execute("PRAGMA quick_check").fetchall())
            if not read_only:
                self._migrate()
            #: The schema version of the file (0: nothing stored yet).
            self.version: int = self._schema_version()
            info = self._snapshot_info()
            #: Whether a snapshot is stored (and the ids of the tasks written since are noted).
            self.snapshot_valid = info is not None
            self._snapshot_unusable = False
            #: How many tasks were written since the snapshot, and how many may be.
            self.snapshot_changes = self._count_changes() if info is not None else 0
            self._changes_kept = max(CHANGES_KEPT, int(info.get("tasks", 0)) // 10) if info else 0
        except sqlite3.DatabaseError as exc:
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: sqlite3.DatabaseError) -> StoreCorrupt:
        return StoreCorrupt(
            f"{self.path} is not a readable xrsched state database ({exc}). Restore it from a backup "
            f"with 'xrsched state import', or move it away to start with an empty scheduler."
        )

    # ---------------------------------------------------------------- schema

    def _check_identity(self, existed: bool) -> None:
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        version = self._schema_version()
        if existed and app_id not in (0, APPLICATION_ID):
            raise StoreCorrupt(f"{self.path} is an SQLite database of another program (application_id {app_id:#x})")
        if existed and app_id == 0 and version == 0:
            tables = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise StoreCorrupt(f"{self.path} is an SQLite database but not an xrsched state file")
        if version > SCHEMA_VERSION:
            raise StoreTooNew(
                f"{self.path} has schema version {version}, newer than this xrsched understands "
                f"({SCHEMA_VERSION}). Upgrade xrsched, or export with the newer version and import here."
            )

    def _schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _check_structure(self, problems: list[tuple[Any, ...]]) -> None:
        """Raise StoreCorrupt if ``PRAGMA quick_check`` found anything."""
        if problems and problems[0][0] != "ok":
            detail = "; ".join(str(row[0]) for row in problems[:3])
            raise StoreCorrupt(
                f"{self.path} is damaged ({detail}). Restore it from a backup with 'xrsched state import', "
                f"or move it away to start with an empty scheduler."
            )

    def verify(self) -> None:
        """Wait for the structure check started in the background, if any; StoreCorrupt if it
        found damage. Call before serving anything read from the file (later calls return at once)."""
        check, self._check = self._check, None
        if check is not None:
            try:
                problems = check.problems()
            except sqlite3.DatabaseError as exc:
                raise self._unreadable(exc) from None
            self._check_structure(problems)

    def _migrate(self) -> None:
        version = self._schema_version()
        if version == 0:
            self._create_schema()
            return
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for step in MIGRATIONS[target]:
                    if isinstance(step, str):
                        self.db.execute(step)
                    else:
                        step(self.db)
                self.db.execute(f"PRAGMA user_version={target}")
                self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self.db.execute("COMMIT")
            except BaseException as exc:
                self.db.execute("ROLLBACK")
                if isinstance(exc, RecordError):
                    raise StoreCorrupt(
                        f"{self.path} cannot be brought to schema version {target}: {exc}. Restore a backup "
                        f"with 'xrsched state import', or move the file away to start empty."
                    ) from None
                raise
            log.info("state database %s migrated to schema version %d", self.path, target)

    def _create_schema(self) -> None:
        """A brand-new file gets the current schema in one transaction, not every migration in turn."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for statement in CURRENT_SCHEMA:
                self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.created = True
        log.debug("state database %s created with schema version %d", self.path, SCHEMA_VERSION)

    # ----------------------------------------------------------------- reads

    def load_meta(self) -> str | None:
        """The stored scheduler-wide settings (JSON), if any."""
        if not self.version:
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key='scheduler'").fetchone()
        return row[0] if row else None

    def _snapshot_info(self) -> dict[str, Any] | None:
        """What the meta row ``snapshot`` says of the stored snapshot, if one is valid."""
        if self.version < 3:
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key='snapshot'").fetchone()
        return json.loads(row[0]) if row else None

    def _count_changes(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM snapshot_changes").fetchone()[0])

    def load_snapshot(self, decoder: TaskDecoder) -> snapshot.Loaded | None:
        """The stored snapshot with the tasks written since on top, read back, if one is valid
        and intact; None (and a log line saying why, when one is stored but unusable) to read
        the rows instead."""
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
        # Changes are still noted (another interpreter may read it); the next close replaces it.
        self._snapshot_unusable = True
        return None

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read transaction: every read inside sees the same moment, whatever a server
        writes meanwhile."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def iter_tasks(self) -> Iterator[tuple[Any, ...]]:
        """Every stored task row (the columns of :data:`records.TASK_COLUMNS`)."""
        for rows in self.iter_task_batches():
            yield from rows

    def iter_task_batches(self, size: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """Every stored task row, ``size`` rows at a time (start-up decodes them a batch at a time).

        Rows of a version 1 file (opened read-only) come converted to the current columns.
        """
        if not self.version:
            return
        if self.version == 1:
            yield from upgraded_v1_batches(self.db, size)
            return
        cursor = self.db.execute(f"SELECT {_COLUMNS} FROM tasks")  # noqa: S608 (fixed names)
        while rows := cursor.fetchmany(size):
            yield rows

    def iter_workers(self) -> Iterator[tuple[str, str]]:
        """(worker id, encoded row) for every stored worker."""
        if self.version:
            yield from self.db.execute("SELECT id, row FROM workers")

    def counts(self) -> dict[str, int]:
        """How many tasks, workers and history entries are stored."""
        if not self.version:
            return {"tasks": 0, "workers": 0, "history": 0}
        return {
            table: self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (fixed names)
            for table in ("tasks", "workers", "history")
        }

    def history(self, task_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The recorded transitions of one task, oldest first (at most ``limit``, the newest)."""
        if not self.version:
            return []
        rows = self.db.execute(
            "SELECT old, new, time, worker, host FROM history WHERE task_id=? ORDER BY seq DESC LIMIT ?",
            (task_id, limit),
        ).fetchall()
        return [
            {
                "task_id": task_id,
                "old_status": old or "",
                "new_status": new,
                "time": t,
                "worker": worker,
                "host": host,
            }
            for old, new, t, worker, host in reversed(rows)
        ]

    # ---------------------------------------------------------------- writes

    @contextmanager
    def _write_transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back if the body or the commit raises (unless
        SQLite already rolled back itself, as it does on some errors such as a full disk)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def write(self, batch: Batch) -> None:
        """Apply one (merged) batch in one transaction; durable when this returns."""
        self.verify()
        touched = (batch.task_rows.keys() | batch.removed_tasks) if self.snapshot_valid else ()
        stale = len(touched) + self.snapshot_changes > self._changes_kept
        noted = 0
        with self._write_transaction() as db:
            if touched and stale:
                db.execute("DELETE FROM meta WHERE key='snapshot'")  # the parts stay until the next one
                db.execute("DELETE FROM snapshot_changes")
            elif touched:
                noted = db.executemany(
                    "INSERT OR IGNORE INTO snapshot_changes(id) VALUES (?)", ((t,) for t in touched)
                ).rowcount
            if batch.task_rows:
                db.executemany(_INSERT_TASK, batch.task_rows.values())
            if batch.removed_tasks:
                db.executemany("DELETE FROM tasks WHERE id=?", ((t,) for t in batch.removed_tasks))
            if batch.worker_rows:
                db.executemany("INSERT OR REPLACE INTO workers(id, row) VALUES (?, ?)", batch.worker_rows.items())
            if batch.removed_workers:
                db.executemany("DELETE FROM workers WHERE id=?", ((w,) for w in batch.removed_workers))
            if batch.meta is not None:
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('scheduler', ?)", (batch.meta,))
            if batch.history:
                db.executemany(
                    "INSERT INTO history(task_id, old, new, time, worker, host) VALUES (?, ?, ?, ?, ?, ?)",
                    batch.history,
                )
        if touched and stale:
            self.snapshot_valid = False
            self.snapshot_changes = 0
        self.snapshot_changes += noted
        self._trim_history()

    def _trim_history(self) -> None:
        now = time.time()
        if self.history_days <= 0 or now - self._last_trim < 3600:
            return
        self._last_trim = now
        self.db.execute("DELETE FROM history WHERE time < ?", (now - self.history_days * 86400,))

    def replace_all(self, tasks: list[tuple[Any, ...]], workers: list[tuple[str, str]], meta: str) -> None:
        """Replace every record (used by ``xrsched state import``)."""
        self.verify()
        with self._write_transaction() as db:
            db.execute("DELETE FROM meta WHERE key='snapshot'")
            db.execute("DELETE FROM snapshot")
            db.execute("DELETE FROM snapshot_changes")
            db.execute("DELETE FROM tasks")
            db.execute("DELETE FROM workers")
            db.executemany(_INSERT_TASK, tasks)
            db.executemany("INSERT INTO workers(id, row) VALUES (?, ?)", workers)
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('scheduler', ?)", (meta,))
        self.snapshot_valid = False
        self.snapshot_changes = 0

    def write_snapshot(self) -> bool:
        """Store a snapshot of the task rows (replacing the last one) unless the stored one is
        exact with no task written since; True if one was written. Reads every row: for a clean
        stop, not a request."""
        self.verify()
        if (self.snapshot_valid and not self.snapshot_changes and not self._snapshot_unusable) or not self.version:
            return False
        with self._write_transaction() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM tasks ORDER BY id")  # noqa: S608 (fixed names)
            counter = _Counted(rows)
            blob = snapshot.build(counter, TaskDecoder(RetryPolicy()))
            db.execute("DELETE FROM snapshot")
            db.execute("DELETE FROM snapshot_changes")
            parts = range(0, len(blob), snapshot.PART_BYTES)
            db.executemany(
                "INSERT INTO snapshot(part, data) VALUES (?, ?)",
                ((n, memoryview(blob)[start : start + snapshot.PART_BYTES]) for n, start in enumerate(parts)),
            )
            info = {"format": snapshot.FORMAT, "python": snapshot.python_tag(), "bytes": len(blob),
                    "crc32": snapshot.checksum(blob), "tasks": counter.count}  # fmt: skip
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('snapshot', ?)", (json.dumps(info),))
        self.snapshot_valid = True
        self._snapshot_unusable = False
        self.snapshot_changes = 0
        self._changes_kept = max(CHANGES_KEPT, counter.count // 10)
        log.info("wrote a snapshot of the tasks to %s (%.0f MiB)", self.path, len(blob) / 2**20)
        return True

    def close(self) -> None:
        """Write the snapshot (with ``snapshot_on_close``), checkpoint the journal into the
        database (unless read-only) and close it."""
        if self.snapshot_on_close:
            try:
                self.write_snapshot()
            except (sqlite3.Error, RecordError, StoreError) as exc:
                log.warning("could not write a snapshot to %s: %s; the next start reads the task rows", self.path, exc)
        if self._check is not None:
            self._check.finish()  # its connection closes before the file is checkpointed
            self._check = None
        if not self.read_only:
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("could not checkpoint %s on close: %s", self.path, exc)
        self.db.close()


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


class _BackgroundCheck:
    """``PRAGMA quick_check`` of a state file on a connection of its own, in a daemon thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._result: list[tuple[Any, ...]] = []
        self._error: sqlite3.Error | None = None
        self._thread = threading.Thread(target=self._run, name="xrsched-store-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
            try:
                db.execute("PRAGMA busy_timeout=5000")
                self._result = db.execute("PRAGMA quick_check").fetchall()
            finally:
                db.close()
        except sqlite3.Error as exc:  # a file damaged enough stops the check itself
            self._error = exc

    def finish(self) -> None:
        """Wait until the check has finished."""
        self._thread.join()

    def problems(self) -> list[tuple[Any, ...]]:
        """What the check reported (``[("ok",)]`` when nothing is wrong), once it has finished;
        the SQLite error that stopped it, if one did."""
        self.finish()
        if self._error is not None:
            raise self._error
        return self._result
