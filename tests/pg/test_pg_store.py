"""PostgresStore against a real PostgreSQL: the SQLite store's recovery and group-commit tests,
plus schema rules, fencing by epoch, answers to request ids kept with the state, and
export/import (SQLite state into PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from tests.pg.stores import open_store
from tests.store.test_recovery import CONFIG, Clock, build_rich_state, comparable
from tests.waiting import join_all, wait_for
from xrsched.core import Scheduler
from xrsched.core.errors import Unavailable
from xrsched.requestid import CURRENT_REQUEST_ID
from xrsched.service import SchedulerService
from xrsched.store import Batch, Fenced, SQLiteStore, StoreTooNew, load_into
from xrsched.store.durability import snapshot_rows
from xrsched.store.exchange import export_state, import_state
from xrsched.store.postgres import PostgresStore


def durable_service(store: PostgresStore, clock: Clock, **config) -> SchedulerService:
    core = Scheduler(dataclasses.replace(CONFIG, **config), {"db": 2})
    load_into(store, core, clock())
    return SchedulerService(core, clock=clock, store=store)


def test_recovery_reproduces_the_state_exactly(pg_url):
    clock = Clock()
    store = open_store(pg_url)
    assert store.created
    first = durable_service(store, clock)
    build_rich_state(first, clock)
    before = snapshot_rows(first.core)
    first.close()

    again = open_store(pg_url)
    assert not again.created
    second = durable_service(again, clock)
    assert comparable(snapshot_rows(second.core)) == comparable(before)
    assert second.core.tasks["A"].params["blob"] == b"\x00\x01"
    assert second.core.paused is True and second.core.resources["gpu"] == 3
    entries = second.task_history("C")
    assert [e["new_status"] for e in entries][-1] == "DISABLED"
    second.close()


def test_concurrent_calls_share_commits(pg_url):
    service = durable_service(open_store(pg_url), Clock())

    def client(n: int) -> None:
        for i in range(50):
            service.call("add_task", task_id=f"T{n}-{i}", worker=f"w{n}")

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    join_all(threads, 60)
    assert service.committer is not None and service.committer.commits < 400
    service.close()
    assert open_store(pg_url).counts()["tasks"] == 400


def test_a_newer_schema_is_refused(pg_url, pg_cluster):
    open_store(pg_url).close()
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        conn.execute("UPDATE xrsched_schema SET version = 99")
    with pytest.raises(StoreTooNew, match="schema version 99"):
        open_store(pg_url)


def test_servers_starting_together_create_the_schema_once(pg_url):
    stores: list[PostgresStore] = []
    threads = [threading.Thread(target=lambda: stores.append(open_store(pg_url))) for _ in range(4)]
    for t in threads:
        t.start()
    join_all(threads, 60)
    assert sorted(store.created for store in stores) == [False, False, False, True]
    for store in stores:
        store.close()


def test_a_write_under_a_stale_epoch_is_refused_and_reported_once(pg_url, pg_cluster):
    store = open_store(pg_url)
    fenced: list[bool] = []
    store.on_fenced = lambda: fenced.append(True)
    store.epoch = 0
    store.write(Batch(meta='{"paused": false}'))
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        conn.execute("UPDATE xrsched_leader SET epoch = 1")  # what a takeover does
    for _ in range(2):
        with pytest.raises(Fenced, match=r"another server leads now|stepped down"):
            store.write(Batch(meta='{"paused": true}'))
    assert fenced == [True]
    assert store.load_meta() == '{"paused": false}'


def test_a_fenced_service_answers_503_and_keeps_nothing(pg_url, pg_cluster):
    store = open_store(pg_url)
    store.epoch = 0
    service = durable_service(store, Clock())
    service.call("add_task", task_id="kept", worker="w")
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        conn.execute("UPDATE xrsched_leader SET epoch = 5")
    with pytest.raises(Unavailable, match="another server leads now") as refused:
        service.call("add_task", task_id="lost", worker="w")
    assert "will be saved" not in refused.value.message
    service.abandon()
    assert {row[0] for row in open_store(pg_url).iter_tasks()} == {"kept"}


def test_a_fenced_leader_refuses_every_call_begun_after_the_takeover_on_many_threads(pg_url, pg_cluster):
    store = open_store(pg_url)
    store.epoch = 0
    service = durable_service(store, Clock())
    taken_over = threading.Event()
    acknowledged: list[str] = []
    late_answers: list[str] = []  # calls begun after the takeover that were not refused

    def client(n: int) -> None:
        for i in range(200):
            task_id, after = f"T{n}-{i}", taken_over.is_set()
            try:
                service.call("add_task", task_id=task_id, worker=f"w{n}")
            except Unavailable as exc:
                assert "another server leads now" in exc.message or "stepped down" in exc.message
                if after:
                    return
                continue
            acknowledged.append(task_id)
            if after:
                late_answers.append(task_id)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(6)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(acknowledged) >= 30, 30, "calls to commit before the takeover")
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        conn.execute("UPDATE xrsched_leader SET epoch = 7")  # waits for a write in flight
    taken_over.set()
    join_all(threads, 60)
    assert late_answers == []
    service.abandon()
    assert {row[0] for row in open_store(pg_url).iter_tasks()} == set(acknowledged)


def test_answers_to_request_ids_are_stored_with_the_change(pg_url):
    clock = Clock()
    service = durable_service(open_store(pg_url), clock)
    service.call("add_task", task_id="T", worker="w")
    token = CURRENT_REQUEST_ID.set("req-1")
    try:
        first = service.call("get_work", worker="w")
    finally:
        CURRENT_REQUEST_ID.reset(token)
    assert first["task_id"] == "T"
    service.close()

    store = open_store(pg_url)
    rows = store.load_replies()
    assert [(r[1], r[2]) for r in rows] == [("req-1", "get_work")]
    successor = durable_service(store, clock)
    successor.seed_replies(rows)
    successor.call("add_task", task_id="U", worker="w")
    token = CURRENT_REQUEST_ID.set("req-1")
    try:
        again = successor.call("get_work", worker="w")  # the retry across the "failover"
    finally:
        CURRENT_REQUEST_ID.reset(token)
    assert again == first
    assert successor.core.tasks["U"].status == "PENDING"
    successor.close()


def test_export_import_and_an_sqlite_state_moves_into_postgresql(pg_url, tmp_path: Path):
    clock = Clock()
    sqlite = SQLiteStore(tmp_path / "state.sqlite3")
    core = Scheduler(CONFIG, {"db": 2})
    source = SchedulerService(core, clock=clock, store=sqlite)
    build_rich_state(source, clock)
    before = snapshot_rows(source.core)
    source.close()
    exported = tmp_path / "backup.json"
    export_state(SQLiteStore(tmp_path / "state.sqlite3", read_only=True), exported)

    target = open_store(pg_url)
    assert import_state(target, exported) == {"tasks": 5, "workers": 2}
    loaded = durable_service(target, clock)
    assert comparable(snapshot_rows(loaded.core)) == comparable(before)
    loaded.close()
    again = tmp_path / "again.json"
    assert export_state(open_store(pg_url), again)["tasks"] == 5


def test_answers_are_bounded_and_expire(pg_url, pg_cluster):
    store = open_store(pg_url, reply_ttl=600.0, reply_capacity=3)
    now = time.time()
    rows = [("w", "old", "ping", "true", now - 601)]
    rows += [("w", f"r{i}", "ping", "true", now) for i in range(5)]
    store.write(Batch(replies=rows))  # the first write trims: nothing was old or over yet
    assert [r[1] for r in store.load_replies()] == ["r2", "r3", "r4"]  # newest 3, none expired
    store._last_trim = 0.0  # the next write trims again (every minute otherwise)
    store.write(Batch(replies=[("w", "r5", "ping", "true", now)]))
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        kept = [row[0] for row in conn.execute("SELECT request_id FROM xrsched_replies ORDER BY seq")]
    assert kept == ["r3", "r4", "r5"]
