"""Leader election among servers sharing a PostgreSQL store: one advisory lock, one epoch.

Each server runs one :class:`LeaderElection` thread with a connection of its own (never from
the pool). A standby tries ``pg_try_advisory_lock`` every ``lock_check_interval``; the winner
bumps the epoch in ``xrsched_leader`` (the fencing token every write checks) and records its
advertised URL, then the server loads the state and serves. The leader checks its session
every ``lock_check_interval``.

The bound that keeps two leaders from serving at once: the lock session runs with
``idle_session_timeout = takeover_delay``, so PostgreSQL ends it (and frees the lock) at the
earliest ``takeover_delay`` after the leader's last check was sent; the leader's lease ends
``LEASE_FRACTION * takeover_delay`` after that same moment, and it answers nothing as leader
past its lease. A leader that is stopped, partitioned or starved therefore stops serving
before any standby can take the lock; its writes are refused by the epoch in any case, and a
write of its that stalled mid-transaction and holds the epoch row is ended by the new leader
(:func:`_end_stalled_writers`). TCP
keepalives on both ends (libpq's and the session's ``tcp_keepalives_*``) make a dead peer's
connection fail in seconds rather than the kernel's two hours.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from .base import StoreConnectionError
from .pgschema import LEADER_LOCK_KEY
from .pgurl import PgTarget
from .postgres import connect

log = logging.getLogger("xrsched.store")

#: The share of ``takeover_delay`` a leader serves after its last confirmed check.
LEASE_FRACTION = 0.6


class ElectionHooks:
    """What the election tells the server; the runtime implements these."""

    def following(self, epoch: int, leader_url: str | None) -> None:
        """A standby's view of who leads (None: nobody known)."""

    def elected(self, epoch: int) -> None:
        """This server won at ``epoch``: load the state, then call ``LeaderElection.serving``."""

    def renewed(self, lease_until: float) -> None:
        """The lock is confirmed held: serve as leader until ``lease_until`` (monotonic)."""

    def lost(self, reason: str) -> None:
        """The lock is gone (or another server took over): stop serving as leader at once."""

    def unreachable(self, reason: str) -> None:
        """A standby cannot reach the database (it keeps trying)."""


class LeaderElection:
    """The election thread of one server (see the module's docstring for the timing bound)."""

    def __init__(
        self,
        target: PgTarget,
        hooks: ElectionHooks,
        *,
        advertise_url: str,
        lock_check_interval: float = 1.0,
        takeover_delay: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if takeover_delay < 2 * lock_check_interval:
            raise ValueError("takeover_delay must be at least twice lock_check_interval")
        self.target = target
        self.hooks = hooks
        self.advertise_url = advertise_url
        self.interval = lock_check_interval
        self.takeover_delay = takeover_delay
        self._clock = clock
        self._conn: psycopg.Connection | None = None
        self._epoch: int | None = None
        self._last_problem = ""
        self._resign = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def epoch(self) -> int | None:
        """The epoch this server leads at, or None while it does not lead."""
        return self._epoch

    def start(self) -> None:
        """Start the election thread."""
        self._thread = threading.Thread(target=self._run, name="xrsched-election", daemon=True)
        self._thread.start()

    def resign(self) -> None:
        """Give up the lock (fenced by a newer leader, or shutting down); thread-safe."""
        self._resign.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and close the lock session (which releases the lock)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()

    # ---------------------------------------------------------------- the loop

    def _run(self) -> None:
        while not self._stop.is_set():
            started = self._clock()
            try:
                if self._epoch is None:
                    self._try_to_lead()
                else:
                    self._check_lead(started)
            except (psycopg.Error, StoreConnectionError, OSError) as exc:
                self._drop(f"lock session failed: {_one_line(exc)}")
            self._stop.wait(max(0.0, self.interval - (self._clock() - started)))

    def _session(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            conn = connect(self.target, autocommit=True)
            delay_ms = int(self.takeover_delay * 1000)
            conn.execute(f"SET idle_session_timeout = {delay_ms}")
            # The epoch bump waits for a write in flight; not for ever on a stalled old leader's.
            conn.execute(f"SET lock_timeout = {delay_ms}")
            keepalive = max(1, int(self.takeover_delay / 4))
            for name in ("tcp_keepalives_idle", "tcp_keepalives_interval"):
                conn.execute(f"SET {name} = {keepalive}")
            conn.execute("SET tcp_keepalives_count = 2")
            conn.execute(f"SET application_name = 'xrsched election {self.advertise_url[:40]}'")
            self._conn = conn
        return self._conn

    def _try_to_lead(self) -> None:
        conn = self._session()
        sent = self._clock()
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()
        if self._last_problem:
            log.info("election: the database answers again")
            self._last_problem = ""
        if not row or not row[0]:
            epoch, url = self._leader_row(conn)
            self.hooks.following(epoch, url)
            return
        try:
            row = self._bump_epoch(conn)
        except psycopg.errors.LockNotAvailable:
            if not _end_stalled_writers(conn):
                raise
            row = self._bump_epoch(conn)
        if row is None:
            raise StoreConnectionError("xrsched_leader has no row; the schema is damaged")
        self._epoch = int(row[0])
        self._resign.clear()
        log.warning("elected leader at epoch %d; loading the state", self._epoch)
        self.hooks.renewed(sent + LEASE_FRACTION * self.takeover_delay)
        self.hooks.elected(self._epoch)

    def _check_lead(self, started: float) -> None:
        if self._resign.is_set():
            self._drop("resigned")
            return
        conn = self._session()
        sent = self._clock()
        row = conn.execute(
            "SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
            "AND granted), (SELECT epoch FROM xrsched_leader WHERE id = 1)"
        ).fetchone()
        held, epoch = (int(row[0]), int(row[1])) if row else (0, -1)
        if not held:
            self._drop("the leader lock is no longer held")
        elif epoch != self._epoch:
            self._drop(f"epoch {epoch} took over from epoch {self._epoch}")
        else:
            self.hooks.renewed(sent + LEASE_FRACTION * self.takeover_delay)

    def _drop(self, reason: str) -> None:
        """Close the lock session; if leading, step down at once."""
        was = self._epoch
        self._epoch = None
        self._close()
        if was is not None:
            log.error("stepping down from epoch %d: %s", was, reason)
            self.hooks.lost(reason)
        else:
            if reason != self._last_problem:  # once per distinct problem, not every interval
                log.warning("election: %s; retrying every %.1fs", reason, self.interval)
            self.hooks.unreachable(reason)
        self._last_problem = reason

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            with contextlib.suppress(psycopg.Error):  # gone either way: PostgreSQL frees the lock with it
                conn.close()

    def _bump_epoch(self, conn: psycopg.Connection) -> tuple[Any, ...] | None:
        with conn.transaction():
            return conn.execute(
                "UPDATE xrsched_leader SET epoch = epoch + 1, url = %s, since = extract(epoch from now()) "
                "WHERE id = 1 RETURNING epoch",
                (self.advertise_url,),
            ).fetchone()

    @staticmethod
    def _leader_row(conn: psycopg.Connection) -> tuple[int, str | None]:
        row = conn.execute("SELECT epoch, url FROM xrsched_leader WHERE id = 1").fetchone()
        return (int(row[0]), row[1]) if row else (0, None)


@contextlib.contextmanager
def hold_leader_lock(target: PgTarget) -> Iterator[bool]:
    """Hold the leader lock for the block if nobody does (yields False if a server leads):
    the offline tools write while no server can."""
    with connect(target, autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()
        yield bool(row and row[0])


def _end_stalled_writers(conn: psycopg.Connection) -> int:
    """End the sessions that hold the epoch row's share lock (a write's fence) although this
    server holds the leader lock and its epoch bump waited ``lock_timeout`` (``takeover_delay``)
    for them; how many were ended.

    Such a write belongs to an old leader that stopped in the middle of it: a stopped or frozen
    process keeps its connection open, and a transaction caught between the statements of a
    pipeline and their Sync is not idle, so ``idle_in_transaction_session_timeout`` never ends
    it. That leader's lease is over (it could not have lost the leader lock otherwise), so its
    write can only end refused: ending its session rolls it back and lets the takeover go on.
    Needs the right to signal those sessions (the same database role, or ``pg_signal_backend``).
    """
    try:
        ended = conn.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'relation' "
            "AND relation = 'xrsched_leader'::regclass AND mode = 'RowShareLock' AND granted "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    except psycopg.errors.InsufficientPrivilege as exc:
        log.error("election: a stalled write of the old leader holds the takeover, and this role may not "
                  "end its session (%s): grant it pg_signal_backend or use the same role", _one_line(exc))  # fmt: skip
        return 0
    pids = [pid for pid, done in ended if done]
    if pids:
        log.warning("election: ended the old leader's stalled write session(s) %s that held the takeover",
                    ", ".join(map(str, pids)))  # fmt: skip
    return len(pids)


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
