"""PostgresStore: the scheduler's records in PostgreSQL, shared by a leader and its standbys.

Same interface and durability contract as :class:`~xrsched.store.sqlite.SQLiteStore`: a batch
is one transaction, committed (``synchronous_commit`` on) before :meth:`write` returns, and the
group committer in front of it lets many calls share one. Writes go through a small
``psycopg_pool`` pool (connections checked before use, replaced when they break); every write
transaction first reads the fencing epoch under a share lock and refuses to go on unless it is
this server's (:class:`~xrsched.store.base.Fenced`): a leader that was replaced never writes
again, even if it has not noticed yet. A takeover's epoch bump waits for a write in flight.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from .base import Batch, Fenced, ReplyRow, StoreConnectionError, StoreError, StoreTooNew
from .migrations import SCHEMA_VERSION
from .pgschema import (
    CURRENT_SCHEMA,
    INSERT_HISTORY,
    INSERT_REPLY,
    MIGRATIONS,
    NEXT_CHANGE,
    REMOVE_ROWS,
    SCHEMA_LOCK_KEY,
    SELECT_TASKS,
    UPSERT_META,
    UPSERT_TASK,
    UPSERT_WORKER,
)
from .pgurl import PgTarget

log = logging.getLogger("xrsched.store")

#: libpq TCP keepalives: a silent peer is noticed after idle + interval * count seconds.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 2, "keepalives_interval": 1, "keepalives_count": 2}
CONNECT_TIMEOUT = 5
#: How long answers to request ids are kept in the database, and how many at most.
REPLY_TTL = 3600.0
REPLY_CAPACITY = 65_536
#: How long the ids of deleted tasks and workers are kept for standbys; one that last read
#: longer ago than this reads everything again.
REMOVED_TTL = 600.0
_TRIM_EVERY = 60.0
_READ_EPOCH = "SELECT epoch FROM xrsched_leader WHERE id = 1 FOR SHARE"


def connection_problem(target: PgTarget, exc: BaseException) -> StoreConnectionError:
    """A one-line reason a connection failed (libpq's text spans several lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = text.removeprefix("connection failed: ")
    return StoreConnectionError(f"cannot connect to {target.display}: {text}")


def connect(target: PgTarget, **extra: Any) -> psycopg.Connection:
    """One connection with keepalives and a connect timeout; StoreConnectionError on failure."""
    try:
        return psycopg.connect(**target.conninfo(connect_timeout=CONNECT_TIMEOUT, **KEEPALIVES), **extra)
    except psycopg.Error as exc:
        raise connection_problem(target, exc) from None


class PostgresStore:
    """Durable records in a PostgreSQL database (``--store postgresql://...``). Thread-safe."""

    kind = "postgresql"
    keeps_replies = True

    def __init__(
        self,
        target: PgTarget,
        *,
        history_days: float = 30.0,
        pool_size: int = 4,
        stall_timeout: float = 5.0,
        reply_ttl: float = REPLY_TTL,
        reply_capacity: int = REPLY_CAPACITY,
        removed_ttl: float = REMOVED_TTL,
    ) -> None:
        self.target = target
        self.removed_ttl = removed_ttl
        self.reply_ttl = reply_ttl
        self.reply_capacity = reply_capacity
        #: Seconds PostgreSQL lets one of our sessions sit in an open transaction (or silent on the
        #: network) before ending it: a stopped or cut-off leader must not hold the epoch row's
        #: share lock, and with it every takeover, for longer (the servers pass takeover_delay).
        self.stall_timeout = stall_timeout
        self.path = target.display
        self.history_days = history_days
        #: The epoch this server leads at; writes are refused unless the database agrees. None:
        #: not fenced (the offline tools, which run while no server does).
        self.epoch: int | None = None
        #: Called (once per epoch) when a write finds that another server took over.
        self.on_fenced: Callable[[], None] | None = None
        self._last_trim = 0.0
        self._reader: psycopg.Connection | None = None
        with connect(target) as conn:
            self.created = self._prepare_schema(conn)
        self.pool = ConnectionPool(
            kwargs=target.conninfo(connect_timeout=CONNECT_TIMEOUT, **KEEPALIVES),
            min_size=1,
            max_size=pool_size,
            # No check on every checkout (a round trip per batch): a connection that broke fails
            # its write, the pool drops it, and the committer retries on a fresh one.
            timeout=10.0,
            # A failed reconnection is not retried in the background for minutes: the next write
            # asks the pool for a connection again, which connects on demand.
            reconnect_timeout=0,
            name="xrsched-store",
            configure=self._configure,
            open=False,
        )
        self.pool.open(wait=False)

    def _configure(self, conn: psycopg.Connection) -> None:
        """Each pool session: bounded time idle in a transaction, keepalives on PostgreSQL's side."""
        conn.autocommit = True
        conn.execute(f"SET idle_in_transaction_session_timeout = {int(self.stall_timeout * 1000)}")
        keepalive = max(1, int(self.stall_timeout / 4))
        conn.execute(f"SET tcp_keepalives_idle = {keepalive}")
        conn.execute(f"SET tcp_keepalives_interval = {keepalive}")
        conn.execute("SET tcp_keepalives_count = 2")
        conn.autocommit = False

    # ---------------------------------------------------------------- schema

    def _prepare_schema(self, conn: psycopg.Connection) -> bool:
        """Create or migrate the schema (one server at a time); True if it was created now."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            version = self._schema_version(conn)
            if version is None:
                for statement in CURRENT_SCHEMA:
                    conn.execute(statement)  # type: ignore[arg-type]  (fixed statements)
                log.info("created the xrsched schema (version %d) in %s", SCHEMA_VERSION, self.path)
                return True
            if version > SCHEMA_VERSION:
                raise StoreTooNew(
                    f"{self.path} has schema version {version}, newer than this xrsched understands "
                    f"({SCHEMA_VERSION}). Upgrade xrsched on this server."
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS.get(target, ()):
                    conn.execute(statement)  # type: ignore[arg-type]
                conn.execute("UPDATE xrsched_schema SET version = %s", (target,))
                log.info("%s migrated to schema version %d", self.path, target)
        return False

    @staticmethod
    def _schema_version(conn: psycopg.Connection) -> int | None:
        exists = conn.execute("SELECT to_regclass('xrsched_schema') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return None
        row = conn.execute("SELECT version FROM xrsched_schema WHERE id = 1").fetchone()
        if row is None:
            raise StoreError(f"{conn.info.dbname}: xrsched_schema has no version row; the schema is damaged")
        return int(row[0])

    # ----------------------------------------------------------------- reads

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        if self._reader is not None:
            yield self._reader
            return
        try:
            with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StoreError(f"{self.path}: no database connection available ({exc})") from None

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One REPEATABLE READ transaction: every read inside sees the same moment."""
        with self.pool.connection() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            try:
                with conn.transaction():
                    self._reader = conn
                    yield
            finally:
                self._reader = None
                conn.isolation_level = None

    def load_meta(self) -> str | None:
        """The stored scheduler-wide settings (JSON), if any."""
        with self._connection() as conn:
            row = conn.execute("SELECT value FROM xrsched_meta WHERE key = 'scheduler'").fetchone()
        return row[0] if row else None

    def iter_tasks(self) -> Iterator[tuple[Any, ...]]:
        """Every stored task row (the columns of :data:`records.TASK_COLUMNS`)."""
        for rows in self.iter_task_batches():
            yield from rows

    def iter_task_batches(self, size: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """Every stored task row, ``size`` rows at a time, through a server-side cursor (binary:
        numbers arrive as they are stored, not as text to parse; a third less time)."""
        with self._connection() as conn, _in_transaction(conn), conn.cursor(name="tasks", binary=True) as cursor:
            cursor.itersize = size
            cursor.execute(SELECT_TASKS)  # type: ignore[arg-type]
            while rows := cursor.fetchmany(size):
                yield rows

    def iter_workers(self) -> Iterator[tuple[str, str]]:
        """(worker id, encoded row) for every stored worker."""
        with self._connection() as conn:
            rows = conn.execute("SELECT id, row FROM xrsched_workers").fetchall()
        yield from rows

    def load_replies(self, limit: int | None = None) -> list[ReplyRow]:
        """The newest remembered answers to request ids, oldest first (at most ``limit``,
        default the capacity), none older than the time they are kept."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT caller, request_id, method, answer, time FROM xrsched_replies WHERE time >= %s "
                "ORDER BY seq DESC LIMIT %s",
                (time.time() - self.reply_ttl, self.reply_capacity if limit is None else limit),
            ).fetchall()
        return list(reversed(rows))

    def counts(self) -> dict[str, int]:
        """How many tasks, workers and history entries are stored."""
        with self._connection() as conn:
            return {
                table: conn.execute(f"SELECT count(*) FROM xrsched_{table}").fetchone()[0]  # type: ignore[index]  # noqa: S608
                for table in ("tasks", "workers", "history")
            }

    def history(self, task_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The recorded transitions of one task, oldest first (at most ``limit``, the newest)."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT old, new, time, worker, host FROM xrsched_history WHERE task_id = %s "
                "ORDER BY seq DESC LIMIT %s",
                (task_id, limit),
            ).fetchall()
        return [
            {"task_id": task_id, "old_status": old or "", "new_status": new, "time": t, "worker": worker, "host": host}
            for old, new, t, worker, host in reversed(rows)
        ]

    def leader(self) -> tuple[int, str | None]:
        """The current epoch and the leader's advertised URL (None before any leader)."""
        with self._connection() as conn:
            row = conn.execute("SELECT epoch, url FROM xrsched_leader WHERE id = 1").fetchone()
        return (int(row[0]), row[1]) if row else (0, None)

    # ---------------------------------------------------------------- writes

    def write(self, batch: Batch) -> None:
        """Apply one batch in one transaction, fenced by the epoch; durable when this returns.

        The statements go out in one pipeline (one round trip, not one per statement); the epoch
        read under its share lock is checked before the commit, so a stale leader rolls back.
        A batch that changes records takes the next change number first (see
        :data:`~xrsched.store.pgschema.NEXT_CHANGE`) and its rows carry it, for warm standbys.
        """
        epoch = self.epoch
        if epoch is not None and epoch < 0:
            raise Fenced("this server stepped down; it does not write any more")
        now = time.time()
        with self._connection() as conn, conn.transaction():
            with conn.pipeline(), conn.cursor() as cur:
                fence = conn.execute(_READ_EPOCH) if epoch is not None else None
                if batch.task_rows or batch.removed_tasks or batch.worker_rows or batch.removed_workers or batch.meta:
                    cur.execute(NEXT_CHANGE)
                if batch.task_rows:
                    cur.executemany(UPSERT_TASK, list(batch.task_rows.values()))
                if batch.removed_tasks:
                    cur.execute(REMOVE_ROWS["task"], (list(batch.removed_tasks), now))
                if batch.worker_rows:
                    cur.executemany(UPSERT_WORKER, list(batch.worker_rows.items()))
                if batch.removed_workers:
                    cur.execute(REMOVE_ROWS["worker"], (list(batch.removed_workers), now))
                if batch.meta is not None:
                    cur.execute(UPSERT_META, (batch.meta,))
                if batch.history:
                    cur.executemany(INSERT_HISTORY, [_no_nul(row) for row in batch.history])
                if batch.replies:
                    cur.executemany(INSERT_REPLY, batch.replies)
            if fence is not None:
                self._check_epoch(fence.fetchone(), epoch)  # raises before the commit
        self._trim()

    def _check_epoch(self, row: tuple[Any, ...] | None, epoch: int | None) -> None:
        """Fencing: refuse unless the epoch read (under a share lock, which makes a takeover's
        bump wait for this transaction) is this server's."""
        if epoch is None:
            return
        current = int(row[0]) if row else -1
        if current != epoch:
            if self.epoch == epoch:  # report once per epoch: the first write that finds out
                self.epoch = -1
                log.error("fenced: epoch %d took over from this server's epoch %d; stepping down", current, epoch)
                if self.on_fenced is not None:
                    self.on_fenced()
            raise Fenced(f"another server leads now (epoch {current}); this one stepped down")

    def _trim(self) -> None:
        """Now and then: history past ``history_days``, answers past their time or count, ids of
        removed records past ``removed_ttl`` (raising the horizon standbys check)."""
        now = time.time()
        if now - self._last_trim < _TRIM_EVERY:
            return
        self._last_trim = now
        with self._connection() as conn, conn.transaction():
            conn.execute("DELETE FROM xrsched_replies WHERE time < %s", (now - self.reply_ttl,))
            conn.execute(
                "DELETE FROM xrsched_replies WHERE seq <= (SELECT max(seq) FROM xrsched_replies) - %s",
                (self.reply_capacity,),
            )
            if self.history_days > 0:
                conn.execute("DELETE FROM xrsched_history WHERE time < %s", (now - self.history_days * 86400,))
            self.trim_removed(conn, now - self.removed_ttl)

    @staticmethod
    def trim_removed(conn: psycopg.Connection, before: float) -> None:
        """Forget the removals recorded before ``before``; a standby that last read a change
        number below the highest one forgotten must read everything again."""
        conn.execute(
            "WITH gone AS (DELETE FROM xrsched_removed WHERE time < %s RETURNING change) "
            "UPDATE xrsched_changes SET trimmed = greatest(trimmed, (SELECT max(change) FROM gone)) "
            "WHERE id = 1 AND EXISTS (SELECT 1 FROM gone)",
            (before,),
        )

    def replace_all(self, tasks: list[tuple[Any, ...]], workers: list[tuple[str, str]], meta: str) -> None:
        """Replace every record (``xrsched state import``), in one transaction."""
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            if self.epoch is not None:
                self._check_epoch(conn.execute(_READ_EPOCH).fetchone(), self.epoch)
            # Standbys cannot follow a replacement row by row: ``reset`` sends them to read it all.
            cur.execute(NEXT_CHANGE + " RETURNING last")
            change = cur.fetchone()[0]  # type: ignore[index]
            cur.execute("UPDATE xrsched_changes SET reset = last WHERE id = 1")
            cur.execute("DELETE FROM xrsched_tasks")
            cur.execute("DELETE FROM xrsched_workers")
            cur.execute("DELETE FROM xrsched_replies")
            cur.execute("DELETE FROM xrsched_removed")
            with cur.copy("COPY xrsched_tasks(id, head, time, updated, seq, data, change) FROM STDIN") as copy:
                for row in tasks:
                    copy.write_row((*row, change))
            cur.executemany(UPSERT_WORKER, workers)
            cur.execute(UPSERT_META, (meta,))

    def close(self) -> None:
        """Close the pool's connections."""
        self.pool.close()


@contextmanager
def _in_transaction(conn: psycopg.Connection) -> Iterator[None]:
    """A transaction unless one is open already (a server-side cursor needs one)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        yield
        return
    with conn.transaction():
        yield


def _no_nul(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """PostgreSQL text cannot hold NUL; worker and host names come from clients."""
    return tuple(value.replace("\x00", "?") if isinstance(value, str) else value for value in row)
