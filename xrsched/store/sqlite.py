"""SQLiteStore: the embedded default store, one SQLite database in WAL mode.

Tables hold the live records (one row per task and per worker) plus the scheduler-wide
settings and the task history. The row tables *are* the snapshot and the WAL is the journal:
SQLite checkpoints the journal into the database as it goes, so the file and start-up time
follow the live state, not the history of changes. History is trimmed to ``history_days``.

Opening the file (identity, structure check, schema creation and migration) lives in
:mod:`.sqlite_schema`. A server's store also keeps a snapshot of the task rows and notes the
tasks written since (:mod:`.snapshot_tables`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import Batch, StoreError
from .migrations import SCHEMA_VERSION, upgraded_v1_batches
from .records import TASK_COLUMNS, RecordError
from .snapshot_tables import SnapshotTables
from .sqlite_schema import BackgroundCheck, SQLiteSchema
from .writer_process import ProcessWriter

log = logging.getLogger("xrsched.store")

_COLUMNS = ", ".join(TASK_COLUMNS)
_INSERT_TASK = f"INSERT OR REPLACE INTO tasks({_COLUMNS}) VALUES ({', '.join('?' * len(TASK_COLUMNS))})"  # noqa: S608


class SQLiteStore(SQLiteSchema, SnapshotTables):
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

    With ``writer_process`` (the server), :meth:`write` hands each batch to a writer process
    (:mod:`.writer_process`), started now, which writes it on a connection of its own and
    answers once it is durable; this connection reads, and writes again once :meth:`close`
    has ended that process. The writer opens its store with ``checked_by_server``: the server
    checked and migrated the file, and waits for the check's verdict before handing it a batch.
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
        writer_process: bool = False,
        checked_by_server: bool = False,
    ) -> None:
        if sync not in ("full", "normal"):
            raise StoreError(f"sync must be 'full' or 'normal', not {sync!r}")
        self.path = path
        self.history_days = history_days
        self.read_only = read_only
        self.snapshot_on_close = snapshot_on_close and not read_only
        self._last_trim = 0.0
        self._check: BackgroundCheck | None = None
        self._writer: ProcessWriter | None = None
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
            if checked_by_server:
                self._check_checked_version()
            elif check_in_background and not read_only and self._schema_version() == SCHEMA_VERSION:
                self._check = BackgroundCheck(path)
            else:
                self._check_structure(self.db.execute("PRAGMA quick_check").fetchall())
            if not read_only:
                self._migrate()
            #: The schema version of the file (0: nothing stored yet).
            self.version: int = self._schema_version()
            self._open_snapshot()
        except sqlite3.DatabaseError as exc:
            raise self._unreadable(exc) from None
        if writer_process and not read_only:
            self._writer = ProcessWriter(path, sync=sync, history_days=history_days)

    @property
    def writer_pid(self) -> int | None:
        """The id of the writer process (``writer_process``), if one runs now."""
        return self._writer.pid if self._writer is not None else None

    # ----------------------------------------------------------------- reads

    def load_meta(self) -> str | None:
        """The stored scheduler-wide settings (JSON), if any."""
        if not self.version:
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key='scheduler'").fetchone()
        return row[0] if row else None

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

    def write(self, batch: Batch, *, mark: str | None = None) -> None:
        """Apply one (merged) batch in one transaction; durable when this returns. ``mark`` (a
        writer process's name for the batch) is stored with it: see :meth:`written_mark`."""
        self.verify()
        if self._writer is not None:
            self._writer.write(batch)
            return
        with self._write_transaction() as db:
            if mark is not None:
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('writer', ?)", (mark,))
            noted = self._note_task_writes(db, batch)
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
        self._noted(noted)
        self._trim_history()

    def written_mark(self) -> str | None:
        """The mark of the last batch written with one (by a writer process), if any."""
        row = self.db.execute("SELECT value FROM meta WHERE key='writer'").fetchone()
        return row[0] if row else None

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
            self._drop_snapshot(db, parts=True)
            db.execute("DELETE FROM tasks")
            db.execute("DELETE FROM workers")
            db.executemany(_INSERT_TASK, tasks)
            db.executemany("INSERT INTO workers(id, row) VALUES (?, ?)", workers)
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('scheduler', ?)", (meta,))
        self._noted(None)

    def close(self) -> None:
        """Write the snapshot (with ``snapshot_on_close``), checkpoint the journal into the
        database (unless read-only) and close it."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._reread_snapshot_state()  # what the writer noted since
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
