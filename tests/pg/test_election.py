"""The election against a real PostgreSQL: a stalled leader's open write transaction (it holds
the epoch row's share lock) does not block a takeover for longer than the stall timeout."""

from __future__ import annotations

import contextlib
import threading

import psycopg
import pytest

from xrsched.store.election import ElectionHooks, LeaderElection
from xrsched.store.pgurl import parse_store_url
from xrsched.store.postgres import PostgresStore


class Recorder(ElectionHooks):
    def __init__(self) -> None:
        self.elected_at: list[int] = []
        self.event = threading.Event()

    def elected(self, epoch: int) -> None:
        self.elected_at.append(epoch)
        self.event.set()


def test_a_stalled_write_transaction_does_not_block_the_takeover_for_ever(pg_url):
    target = parse_store_url(pg_url)
    stalled = PostgresStore(target, stall_timeout=1.0)
    conn = stalled.pool.getconn()  # the old leader, stopped in the middle of a write
    conn.execute("SELECT epoch FROM xrsched_leader WHERE id = 1 FOR SHARE")
    hooks = Recorder()
    election = LeaderElection(target, hooks, advertise_url="https://b:8082/RPC2", lock_check_interval=0.2,
                              takeover_delay=1.0)  # fmt: skip
    election.start()
    try:
        assert hooks.event.wait(10), "the takeover waited on the stalled transaction"
        assert hooks.elected_at == [1]
        with pytest.raises(psycopg.Error, match="idle-in-transaction timeout"):
            conn.execute("SELECT 1")  # PostgreSQL ended the stalled session
    finally:
        election.stop()
        stalled.pool.putconn(conn)
        stalled.close()


def test_a_write_stalled_mid_pipeline_is_ended_by_the_new_leader(pg_url):
    """A leader stopped while its write's statements are on the wire, before their Sync, holds
    the share lock in a session PostgreSQL does not count as idle, so no timeout of its own ends
    it. The standby that took the leader lock ends that session and takes over."""
    target = parse_store_url(pg_url)
    PostgresStore(target, stall_timeout=1.0).close()  # the schema
    stalled = psycopg.connect(pg_url)
    stalled.execute("SET idle_in_transaction_session_timeout = 1000")  # as the store's pool sets it
    stalled.commit()
    in_pipeline = stalled.pipeline()
    in_pipeline.__enter__()
    election = LeaderElection(target, hooks := Recorder(), advertise_url="https://b:8082/RPC2",
                              lock_check_interval=0.2, takeover_delay=1.0)  # fmt: skip
    try:
        stalled.execute("SELECT epoch FROM xrsched_leader WHERE id = 1 FOR SHARE")
        stalled.pgconn.send_flush_request()  # sent and run; no Sync follows: the session is not
        stalled.pgconn.flush()  # idle in a transaction, it waits for the rest of a pipeline
        pid = stalled.info.backend_pid
        with psycopg.connect(pg_url, autocommit=True) as watcher:
            held = watcher.execute(
                "SELECT a.state, l.mode FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                "WHERE a.pid = %s AND l.relation = 'xrsched_leader'::regclass AND l.granted",
                (pid,),
            ).fetchall()
            assert held == [("active", "RowShareLock")], held
        election.start()
        assert hooks.event.wait(15), "the takeover waited on the stalled write for ever"
        assert hooks.elected_at == [1]
        with psycopg.connect(pg_url, autocommit=True) as watcher:
            gone = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            assert gone == (0,)  # the new leader ended the old leader's session
    finally:
        election.stop()
        with contextlib.suppress(psycopg.Error):  # its session was ended under it
            in_pipeline.__exit__(None, None, None)
        with contextlib.suppress(psycopg.Error):
            stalled.close()
