"""A warm standby: a copy of the PostgreSQL store's records kept current while a server waits to lead.

A standby reads every record once (:meth:`WarmState.read_all`), decoded as a load decodes them,
then, every poll, only the rows written since (:meth:`WarmState.catch_up`): each task, worker and
settings row carries the change number of the write that last touched it, and
``xrsched_removed`` the number of the write that deleted a task or worker (schema version 4,
:mod:`.pgschema`; why ``last`` is safe to trust: :data:`~.pgschema.NEXT_CHANGE`). At takeover,
after the epoch bump (the old leader can commit nothing more), the new leader catches up once
more and restores its core from the copy (:meth:`WarmState.restore_into`), skipping the read and
the decode of every row. The copy holds the tasks not DONE (and every task written since) decoded,
with nothing indexed yet, and the DONE tasks as read, unbuilt (:mod:`.coldrows`, as a SQLite
snapshot holds them; those written or removed since are left out of them), so the restore is the
same :func:`~xrsched.core.restore.restore` a restart from a snapshot runs, at the same ``now``:
the state equals a full load's. When a quarter of the unbuilt tasks have changed, the standby
reads everything again.

When the copy cannot be trusted (an import replaced every record, removals were trimmed past the
copy's number, a read failed), it is read again in full; a takeover without a usable copy loads
the state in full as before (:class:`WarmStandby.take` returns None). Reads never write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from xrsched.core.coldtasks import ColdTasks
from xrsched.core.model import Task
from xrsched.core.scheduler import Scheduler

from .base import StoreError
from .coldrows import ColdColumns, split
from .durability import collector_paused, restore_decoded
from .pgschema import SELECT_CHANGED_TASKS, SELECT_TASKS
from .postgres import PostgresStore
from .records import RecordError, TaskDecoder, TaskRow, decode_meta, decode_worker

log = logging.getLogger("xrsched.store")

_BATCH = 10_000
_REMOVED_SINCE = "SELECT kind, id FROM xrsched_removed WHERE change > %s"
_WORKERS_SINCE = "SELECT id, row FROM xrsched_workers WHERE change > %s"


class NotWarm(Exception):
    """The copy cannot be brought up to date by changes alone (or reading was stopped)."""


@dataclass(frozen=True)
class Marks:
    """``xrsched_changes`` as one snapshot saw it."""

    last: int
    reset: int
    trimmed: int


class WarmState:
    """The records as stored at change number :attr:`mark` (None: not read yet). One thread at a time."""

    def __init__(self, store: PostgresStore, core: Scheduler) -> None:
        self.store = store
        #: The empty core the takeover restores into (its shared retry policy seeds the decoder).
        self.core = core
        self.decoder = TaskDecoder(core.shared_policy(core.config.retry_policy))
        #: The tasks decoded: those not DONE when read, and every task written since.
        self.tasks: dict[str, Task] = {}
        #: The DONE tasks as read, unbuilt; ``cold.replaced``: those changed or removed since.
        self.cold: ColdTasks | None = None
        self._cold_columns: ColdColumns | None = None
        self.workers: dict[str, str] = {}
        self.meta: str | None = None
        self.mark: int | None = None

    @property
    def worn(self) -> bool:
        """Whether so many DONE tasks read unbuilt changed since that reading again pays."""
        cold = self.cold
        return cold is not None and len(cold.replaced) > max(_BATCH, len(cold.ids) // 4)

    @property
    def task_count(self) -> int:
        """How many tasks the copy holds (built or not)."""
        cold = self.cold
        if cold is None:
            return len(self.tasks)
        left_out = len(cold.replaced.intersection(cold.ids)) if cold.replaced else 0
        return len(self.tasks) + len(cold.ids) - left_out

    def task_ids(self) -> set[str]:
        """The ids of the tasks in the copy (built or not)."""
        cold = self.cold
        unbuilt = set(cold.ids) - cold.replaced if cold is not None else set()
        return unbuilt | self.tasks.keys()

    def read_all(self, stop: threading.Event | None = None) -> None:
        """Read every record in one snapshot; NotWarm if ``stop`` is set meanwhile."""
        self.mark = None
        # Let the old copy go before the new one grows.
        self.tasks, self.cold, self._cold_columns, self.workers, self.meta = {}, None, None, {}, None
        with collector_paused(), _snapshot(self.store) as conn:
            marks = _marks(conn)
            meta = _meta(conn, None)
            workers = dict(conn.execute("SELECT id, row FROM xrsched_workers").fetchall())
            with conn.cursor(name="warm", binary=True) as cursor:
                cursor.itersize = _BATCH
                cursor.execute(SELECT_TASKS)  # type: ignore[arg-type]  (a fixed statement)
                hot, cold, columns = split(_batches(cursor, stop), self.decoder)
            tasks = {task.id: task for start in range(0, len(hot), _BATCH)
                     for task in self.decoder.decode_rows(hot[start : start + _BATCH])}  # fmt: skip
        self.tasks, self.cold, self._cold_columns = tasks, cold, columns
        self.workers, self.meta, self.mark = workers, meta, marks.last

    def catch_up(self) -> int:
        """Apply the changes written since :attr:`mark`; how many rows changed. NotWarm if the
        copy cannot be brought up to date that way (not read yet, replaced, trimmed past)."""
        mark = self.mark
        if mark is None:
            raise NotWarm("not read yet")
        with _snapshot(self.store) as conn:
            marks = _marks(conn)
            if marks.reset > mark:
                raise NotWarm(f"every record was replaced at change {marks.reset} (an import)")
            if marks.trimmed > mark:
                raise NotWarm(f"removals up to change {marks.trimmed} were trimmed; the copy is at {mark}")
            if marks.last == mark:
                return 0
            # Never prepared: a prepared statement's generic plan does not know how few rows are
            # above the mark and may scan every row, every poll.
            removed = conn.execute(_REMOVED_SINCE, (mark,), prepare=False).fetchall()
            workers = conn.execute(_WORKERS_SINCE, (mark,), prepare=False).fetchall()
            meta = _meta(conn, mark)
            with conn.cursor(binary=True) as cursor:
                rows = cursor.execute(SELECT_CHANGED_TASKS, (mark,), prepare=False).fetchall()  # type: ignore[arg-type]
        # Removals first: a row present now was written after any removal of its id. A task
        # read unbuilt and written or removed since is left out of the unbuilt ones.
        replaced = self.cold.replaced if self.cold is not None else set()
        for kind, record_id in removed:
            if kind == "task":
                self.tasks.pop(record_id, None)
                replaced.add(record_id)
            else:
                self.workers.pop(record_id, None)
        self.workers.update(workers)
        for task in self.decoder.decode_rows(rows):
            self.tasks[task.id] = task
            replaced.add(task.id)
        if meta is not None:
            self.meta = meta
        self.mark = marks.last
        return len(removed) + len(workers) + len(rows) + (meta is not None)

    def restore_into(self, now: float) -> Scheduler:
        """Fill :attr:`core` from the copy as a full load at ``now`` would; the copy is used up
        (restoring fills the tasks' derived fields), so this state is not warm any more."""
        if self.mark is None:
            raise NotWarm("not read yet")
        core, tasks, cold, self.mark, self.tasks, self.cold = self.core, self.tasks, self.cold, None, {}, None
        if cold is not None and self._cold_columns is not None:
            cold.top_seq = self._cold_columns.top_seq(cold.replaced)
        meta = decode_meta(self.meta)
        workers = [decode_worker(worker_id, row, now) for worker_id, row in self.workers.items()]
        with collector_paused():
            restore_decoded(core, self.decoder, tasks.values(), workers, meta, now, cold)
        return core


class WarmStandby:
    """The thread that keeps a :class:`WarmState` current, every ``interval`` seconds."""

    def __init__(self, store: PostgresStore, core: Scheduler, interval: float) -> None:
        self.state = WarmState(store, core)
        self.interval = interval
        self._stop = threading.Event()
        self._failing = ""
        self._thread = threading.Thread(target=self._run, name="xrsched-warm-standby", daemon=True)

    def start(self) -> None:
        """Start reading (in full, then the changes)."""
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the thread (a full read in progress gives up); False if it did not end in time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def take(self, now: float) -> Scheduler | None:
        """Stop, catch up once more and restore the core (call after the epoch bump); None when
        the copy is not usable: the caller loads in full."""
        if not self.stop():
            log.warning("warm standby: the copy is still being read; loading the state in full")
            return None
        state = self.state
        try:
            changed = state.catch_up()
        except NotWarm as exc:
            log.warning("warm standby: %s; loading the state in full", exc)
            return None
        except (psycopg.Error, StoreError, RecordError) as exc:
            log.warning("warm standby: reading the last changes failed (%s); loading the state in full", _line(exc))
            return None
        log.info("warm standby: %d rows changed since the last poll; restoring from the copy", changed)
        try:
            return state.restore_into(now)
        except Exception:  # a fault of the copy alone: the rows themselves may still load
            log.exception("warm standby: restoring from the copy failed; loading the state in full")
            return None

    def _run(self) -> None:
        state = self.state
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if state.mark is None:
                    state.read_all(self._stop)
                    log.info("standby: warm at change %d (%d tasks, %d workers read in %.1fs)", state.mark,
                             state.task_count, len(state.workers), time.monotonic() - started)  # fmt: skip
                else:
                    state.catch_up()
                    if state.worn:
                        raise NotWarm("many of the tasks read unbuilt changed since")
                self._failing = ""
            except NotWarm as exc:
                if not self._stop.is_set():
                    log.info("warm standby: %s; reading every record again", exc)
                    state.mark = None
                    continue
            except (psycopg.Error, StoreError, RecordError) as exc:
                state.mark = None  # never trust a copy a failed read may have left half applied
                if _line(exc) != self._failing:
                    self._failing = _line(exc)
                    log.warning("warm standby: reading the store failed (%s); retrying", self._failing)
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))


@contextmanager
def _snapshot(store: PostgresStore) -> Iterator[psycopg.Connection]:
    """A read-only REPEATABLE READ transaction on a pool connection: every read sees one moment."""
    with store.pool.connection() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        try:
            with conn.transaction():
                yield conn
        finally:
            conn.isolation_level = None
            conn.read_only = None


def _batches(cursor: psycopg.Cursor[Any], stop: threading.Event | None) -> Iterator[list[TaskRow]]:
    """The rows of a server-side cursor, a batch at a time; NotWarm once ``stop`` is set."""
    while rows := cursor.fetchmany(_BATCH):
        if stop is not None and stop.is_set():
            raise NotWarm("stopped while reading")
        yield rows


def _marks(conn: psycopg.Connection) -> Marks:
    row = conn.execute("SELECT last, reset, trimmed FROM xrsched_changes WHERE id = 1").fetchone()
    if row is None:
        raise StoreError("xrsched_changes has no row; the schema is damaged")
    return Marks(*map(int, row))


def _meta(conn: psycopg.Connection, since: int | None) -> str | None:
    """The settings row (changed after ``since`` unless None), if any."""
    if since is None:
        row = conn.execute("SELECT value FROM xrsched_meta WHERE key = 'scheduler'").fetchone()
    else:
        row = conn.execute(
            "SELECT value FROM xrsched_meta WHERE key = 'scheduler' AND change > %s", (since,)
        ).fetchone()
    return row[0] if row else None


def _line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
