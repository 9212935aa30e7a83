"""The election against a real PostgreSQL: a stalled leader's open write transaction (it holds
the epoch row's share lock) does not block a takeover for longer than the stall timeout."""

from __future__ import annotations

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
