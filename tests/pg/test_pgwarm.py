"""Warm standby (xrsched.store.pgwarm) against a real PostgreSQL: change numbers (schema
version 4), the copy a standby keeps current by reading only the changes, and a takeover's
restore from that copy, which must equal a full load exactly (every record, every index, the
replies to the same calls afterwards)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any

import pytest

from tests.core.test_cold_tasks import fingerprint
from tests.pg.stores import open_store
from tests.store.test_recovery import CONFIG, Clock, build_rich_state
from tests.waiting import join_all, wait_for
from xrsched.core import Scheduler
from xrsched.core.coldtasks import TaskTable
from xrsched.core.errors import SchedulerError
from xrsched.service import SchedulerService
from xrsched.store import Batch, load_into
from xrsched.store.durability import snapshot_rows
from xrsched.store.exchange import export_state, import_state
from xrsched.store.pgschema import NEXT_CHANGE
from xrsched.store.pgwarm import NotWarm, WarmStandby, WarmState
from xrsched.store.postgres import PostgresStore

WARM_CONFIG = dataclasses.replace(CONFIG, remove_delay=50, worker_disconnect_delay=30)


def stored_rich_state(pg_url: str, clock: Clock) -> PostgresStore:
    """A store on ``pg_url`` after a leader wrote :func:`build_rich_state` and closed."""
    first = leader(pg_url, clock)
    build_rich_state(first, clock)
    first.close()
    return open_store(pg_url)


def new_core() -> Scheduler:
    return Scheduler(WARM_CONFIG, {"db": 2})


def leader(url: str, clock: Clock) -> SchedulerService:
    store = open_store(url)
    core = new_core()
    load_into(store, core, clock())
    return SchedulerService(core, clock=clock, store=store)


def maintain(service: SchedulerService) -> None:
    """Run the timed rules and wait until their changes are stored."""
    service.run_maintenance()
    assert service.committer is not None
    service.committer.flush()


def full_load(url: str, now: float) -> Scheduler:
    core = new_core()
    load_into(open_store(url), core, now)
    return core


def marks(conn: Any) -> tuple[int, int, int]:
    return conn.execute("SELECT last, reset, trimmed FROM xrsched_changes").fetchone()


def same_replies(a: Scheduler, b: Scheduler, now: float) -> None:
    """The same calls to both give the same replies and leave the same records and indexes."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_work", {"worker": "w1", "host": "h1"}),
        ("add_task", {"task_id": "New", "worker": "w2", "deps": ["A", "E"]}),
        ("get_work", {"worker": "w2", "host": "h2"}),
        ("task_list", {"status": "", "upstream_status": ""}),
        ("dep_graph", {"task_id": "D"}),
        ("add_task", {"task_id": "B", "worker": "w1", "status": "PENDING"}),
        ("get_work", {"worker": "w1", "host": "h1"}),
    ]
    for step, (method, kwargs) in enumerate(calls):
        replies = []
        for sched in (a, b):
            try:
                replies.append(getattr(sched, method)(**kwargs, now=now + step))
            except SchedulerError as exc:
                replies.append((type(exc), str(exc)))
        assert replies[0] == replies[1], method
        assert fingerprint(a) == fingerprint(b), method


# ------------------------------------------------------------------------ change numbers


def test_every_write_that_changes_records_takes_the_next_change_number(pg_url, pg_cluster):
    store = open_store(pg_url)
    store.write(Batch(task_rows={"T": ("T", '["PENDING","F",null,0,true,[],[]]', 1.0, 1.0, 1, "{}")}))
    store.write(Batch(worker_rows={"w": "[1.0, {}, false, [], null]"}, meta='{"paused": true}'))
    store.write(Batch(history=[("T", None, "PENDING", 1.0, "w", None)]))  # history only: no number
    store.write(Batch(removed_tasks={"T", "never-stored"}, removed_workers={"w"}))
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        assert marks(conn) == (3, 0, 0)
        assert conn.execute("SELECT value, change FROM xrsched_meta").fetchone() == ('{"paused": true}', 2)
        removed = conn.execute("SELECT kind, id, change FROM xrsched_removed ORDER BY kind").fetchall()
        assert removed == [("task", "T", 3), ("worker", "w", 3)]


def test_writes_are_numbered_in_commit_order_a_second_writer_waits_for_the_first(pg_url, pg_cluster):
    """Two overlapping writers (two connections as two leaders' writes would be): the second's
    number is taken only once the first has committed, so a reader that saw ``last = n`` can never
    see a lower number appear later. With a sequence, the second would commit 2 while 1 is
    still in flight."""
    open_store(pg_url)
    database = pg_url.rsplit("/", 1)[1]
    first, second, reader = (pg_cluster.connect(database) for _ in range(3))
    for conn in (first, second, reader):
        conn.autocommit = False
    try:
        first.execute(NEXT_CHANGE)
        first.execute("UPDATE xrsched_meta SET change = 0")  # some write of its own, in flight
        taken: list[int] = []

        def take_the_next_number() -> None:
            taken.append(second.execute(NEXT_CHANGE + " RETURNING last").fetchone()[0])
            second.commit()

        waiter = threading.Thread(target=take_the_next_number, daemon=True)
        waiter.start()
        time.sleep(0.5)
        assert waiter.is_alive() and not taken  # waits for the first writer
        assert marks(reader)[0] == 0  # nothing visible yet
        reader.rollback()
        first.commit()
        join_all([waiter], 10)
        assert taken == [2]
        assert marks(reader)[0] == 2
    finally:
        for conn in (first, second, reader):
            conn.close()


def test_a_version_3_database_migrates_to_change_numbers(pg_url, pg_cluster):
    clock = Clock()
    service = leader(pg_url, clock)
    build_rich_state(service, clock)
    service.close()
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:  # back to version 3's layout
        for table in ("meta", "tasks", "workers"):
            conn.execute(f"ALTER TABLE xrsched_{table} DROP COLUMN change")
        conn.execute("DROP TABLE xrsched_changes, xrsched_removed")
        conn.execute("UPDATE xrsched_schema SET version = 3")
    warm = WarmState(open_store(pg_url), new_core())
    warm.read_all()
    assert warm.mark == 0 and warm.task_ids() == {"A", "B", "C", "D", "E"}
    again = leader(pg_url, clock)
    again.call("add_task", task_id="F", worker="w1")
    again.close()
    assert warm.catch_up() == 1 and "F" in warm.task_ids()
    assert warm.task_count == len(warm.task_ids()) == 6


# ------------------------------------------------------------------- the warm copy


def test_a_warm_takeover_equals_a_full_load_after_a_real_leaders_writes(pg_url):
    """A standby reads everything early, then polls while a real leader keeps writing: new and
    re-registered tasks, removals after remove_delay (some re-added under the same id), worker
    rows added and dropped, settings. Its restore equals a full load at the same moment."""
    clock = Clock()
    first = leader(pg_url, clock)
    build_rich_state(first, clock)
    call = first.call
    # DONE when read: kept unbuilt by the standby, some of them through the takeover.
    call("add_task", task_id="K1", worker="w1", status="DONE")
    call("add_task", task_id="K2", worker="w1", status="DONE", deps=["A", "K1"])
    call("add_task", task_id="K3", worker="w3", status="DONE", deps=["K1"])
    call("add_task", task_id="K4", worker="w1", status="DONE", deps=["K3", "Nowhere"])
    warm = WarmState(open_store(pg_url), new_core())
    warm.read_all()
    assert warm.cold is not None and {"B", "K1", "K2", "K3", "K4"} <= set(warm.cold.ids)
    call("unpause")
    call("add_task", task_id="G", worker="w3", family="Late", deps=["A"])
    assert warm.catch_up() > 0
    call("add_task", task_id="E", worker="w1", family="Gone", status="DONE")  # re-registered
    call("add_worker", "w4", {"workers": 1, "host": "h4"})
    call("add_task", task_id="H", worker="w4", status="DONE")
    clock.now += 40  # w2, w3, w4 silent past worker_disconnect_delay; w1 keeps calling
    call("ping", worker="w1")
    maintain(first)  # drops w2..w4: their tasks lose stakeholders, removal times set
    assert warm.catch_up() > 0
    clock.now += 60  # past remove_delay: tasks nobody holds are removed
    call("ping", worker="w1")
    maintain(first)
    assert warm.catch_up() > 0
    call("add_task", task_id="H", worker="w1", status="PENDING")  # removed, then back
    call("update_resource", "gpu", 5)
    first.close()  # every write committed
    assert warm.catch_up() > 0
    assert warm.catch_up() == 0
    now = clock.now + 1
    loaded = full_load(pg_url, now)
    removed_some = {"B", "C", "G"} - set(loaded.tasks)
    assert removed_some, "the test needs removals"
    assert "H" in loaded.tasks and "w4" not in loaded.workers
    assert warm.task_count == len(warm.task_ids()) == len(loaded.tasks)
    restored = warm.restore_into(now)
    assert isinstance(restored.tasks, TaskTable) and {"K2", "K4"} <= set(restored.tasks.cold_ids())
    assert fingerprint(restored) == fingerprint(loaded)
    assert sorted(restored.workers) == sorted(loaded.workers)
    assert (restored.paused, restored.resources, restored.batchers) == (loaded.paused, loaded.resources,
                                                                       loaded.batchers)  # fmt: skip
    same_replies(restored, loaded, now + 1)


def test_a_task_read_unbuilt_then_removed_leaves_the_next_creation_number_as_a_full_load_does(pg_url):
    clock = Clock()
    first = leader(pg_url, clock)
    build_rich_state(first, clock)
    first.call("add_task", task_id="Last", worker="w1", status="DONE")  # the highest creation number
    first.close()
    store = open_store(pg_url)
    warm = WarmState(store, new_core())
    warm.read_all()
    store.write(Batch(removed_tasks={"Last"}))
    assert warm.catch_up() == 1
    restored = warm.restore_into(clock.now)
    loaded = full_load(pg_url, clock.now)
    assert restored.next_seq() == loaded.next_seq()
    assert fingerprint(restored) == fingerprint(loaded)


def test_a_standby_behind_the_trim_horizon_or_an_import_reads_everything_again(pg_url, tmp_path):
    clock = Clock()
    store = stored_rich_state(pg_url, clock)
    warm = WarmState(store, new_core())
    warm.read_all()
    store.write(Batch(removed_tasks={"E"}))
    with store.pool.connection() as conn:
        PostgresStore.trim_removed(conn, time.time() + 1)  # the removal of E is forgotten
    with pytest.raises(NotWarm, match="trimmed"):
        warm.catch_up()
    warm.read_all()
    assert "E" not in warm.task_ids() and warm.catch_up() == 0

    export_state(store, tmp_path / "export.json")
    import_state(store, tmp_path / "export.json", force=True)
    with pytest.raises(NotWarm, match="replaced"):
        warm.catch_up()


def test_the_standby_thread_warms_polls_and_falls_back_when_it_cannot_catch_up(pg_url):
    clock = Clock()
    first = leader(pg_url, clock)
    build_rich_state(first, clock)
    store = open_store(pg_url)
    standby = WarmStandby(store, new_core(), interval=0.05)
    standby.start()
    deadline = time.monotonic() + 30
    while standby.state.mark is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.call("add_task", task_id="Z", worker="w1")
    mark = standby.state.mark
    while standby.state.mark == mark and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "Z" in standby.state.task_ids()  # polled while waiting
    first.call("add_task", task_id="Y", worker="w1")  # read only at takeover
    first.close()
    restored = standby.take(clock.now)
    assert restored is not None and {"Y", "Z"} <= set(restored.tasks)
    assert fingerprint(restored) == fingerprint(full_load(pg_url, clock.now))

    behind = WarmStandby(store, new_core(), interval=60)
    behind.state.read_all()
    store.write(Batch(removed_tasks={"Y"}))
    with store.pool.connection() as conn:
        PostgresStore.trim_removed(conn, time.time() + 1)
    assert behind.take(clock.now) is None  # the caller loads in full
    assert WarmStandby(store, new_core(), interval=60).take(clock.now) is None  # never read


def test_a_copy_that_cannot_be_restored_leaves_the_takeover_to_a_full_load(pg_url, caplog):
    clock = Clock()
    store = stored_rich_state(pg_url, clock)
    standby = WarmStandby(store, new_core(), interval=60)
    standby.state.read_all()
    standby.state.workers["w1"] = "{not a worker row"  # the copy alone is damaged: the rows are fine
    with caplog.at_level(logging.ERROR, logger="xrsched.store"):
        assert standby.take(clock.now) is None  # the caller loads in full
    assert "restoring from the copy failed; loading the state in full" in caplog.text
    assert full_load(pg_url, clock.now).workers  # and that load works


def test_a_failed_poll_drops_the_copy_and_the_standby_reads_everything_again(pg_url, pg_cluster, caplog):
    clock = Clock()
    first = leader(pg_url, clock)
    build_rich_state(first, clock)
    first.close()
    standby = WarmStandby(open_store(pg_url), new_core(), interval=0.05)
    standby.start()
    try:
        wait_for(lambda: standby.state.mark is not None, 30, "the first full read")
        with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
            conn.execute("ALTER TABLE xrsched_changes RENAME TO xrsched_changes_away")
            wait_for(lambda: standby.state.mark is None, 30, "the failed poll to drop the copy")
            assert standby.take(clock.now) is None  # a takeover now loads in full
    finally:
        standby.stop()
    assert "reading the store failed" in caplog.text
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        conn.execute("ALTER TABLE xrsched_changes_away RENAME TO xrsched_changes")
    again = WarmStandby(open_store(pg_url), new_core(), interval=0.05)
    again.start()
    wait_for(lambda: again.state.mark is not None, 30, "a full read again")
    restored = again.take(clock.now)
    assert restored is not None and fingerprint(restored) == fingerprint(full_load(pg_url, clock.now))


def test_when_many_tasks_read_unbuilt_change_the_standby_reads_everything_again(pg_url, caplog):
    caplog.set_level(logging.INFO, logger="xrsched.store")
    core = new_core()
    for i in range(10_001):
        core.add_task(task_id=f"D{i:05}", worker="w", status="DONE", now=1000.0)
    rows = snapshot_rows(core)["tasks"]
    store = open_store(pg_url)
    store.write(Batch(task_rows=rows))
    standby = WarmStandby(store, new_core(), interval=0.05)
    standby.start()
    try:
        wait_for(lambda: standby.state.mark is not None, 60, "the first full read")
        assert standby.state.cold is not None and len(standby.state.cold.ids) == 10_001
        store.write(Batch(task_rows=rows))  # every one written again
        wait_for(lambda: "many of the tasks read unbuilt changed" in caplog.text, 60, "the standby to notice")
        wait_for(lambda: standby.state.mark is not None and not standby.state.tasks, 60, "a fresh full read")
        assert standby.state.cold is not None and not standby.state.cold.replaced
    finally:
        standby.stop()
