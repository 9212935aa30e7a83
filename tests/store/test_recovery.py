"""The SQLite store: exact recovery, group commit, bad files, a full store, history, export/import."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from tests.waiting import join_all
from xrsched.core import Scheduler, SchedulerConfig
from xrsched.core.errors import Unavailable
from xrsched.service import SchedulerService
from xrsched.store import SQLiteStore, StoreCorrupt, StoreError, StoreTooNew, load_into
from xrsched.store.durability import snapshot_rows
from xrsched.store.exchange import export_state, import_state

CONFIG = SchedulerConfig(retry_delay=30, retry_count=2, disable_window=1000, disable_persist=500)


class Clock:
    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def durable_service(path: Path, clock: Clock, **config) -> SchedulerService:
    store = SQLiteStore(path / "state.sqlite3")
    core = Scheduler(dataclasses.replace(CONFIG, **config), {"db": 2})
    load_into(store, core, clock())
    return SchedulerService(core, clock=clock, store=store)


def build_rich_state(service: SchedulerService, clock: Clock) -> None:
    """A little of everything the store must keep."""
    call = service.call
    call("add_worker", "w1", {"workers": 2, "host": "h1"})
    call("add_task", task_id="A", worker="w1", family="Fam", params={"d": "2026-11-22", "blob": b"\x00\x01"},
         param_visibilities={"blob": 1}, priority=5, resources={"db": 1}, deps=["B", "C"])  # fmt: skip
    call("add_task", task_id="B", worker="w1", family="Fam", status="DONE")
    call("add_task", task_id="C", worker="w2", family="Fam", retry_policy_dict={"retry_count": 1})
    call("add_task", task_id="D", worker="w2", family="Other", deps=["A"])
    call("add_task", task_id="E", worker="w1", family="Gone")
    clock.now += 1
    reply = call("get_work", worker="w2", host="h2")
    assert reply["task_id"] == "C"
    call("set_task_status_message", "C", "half way")
    call("set_task_progress_percentage", "C", 50)
    call("add_task", task_id="C", worker="w2", status="FAILED", expl="Traceback: boom")  # disables (retry_count 1)
    call("add_task", task_id="E", worker="w1", status="FAILED", expl="oops")
    call("add_task_batcher", "w1", "Fam", ["d"], 10)
    call("send_scheduler_message", "w1", "A", "hello")
    call("update_resource", "gpu", 3)
    call("pause")


def comparable(rows: dict) -> dict:
    return {"tasks": rows["tasks"], "meta": rows["meta"], "workers": sorted(rows["workers"])}


def test_recovery_reproduces_the_state_exactly(tmp_path: Path):
    clock = Clock()
    first = durable_service(tmp_path, clock)
    build_rich_state(first, clock)
    before = snapshot_rows(first.core)
    counters = {w.id: (w.n_pending, w.n_unique, w.n_last) for w in first.core.workers.values()}
    first.close()

    second = durable_service(tmp_path, clock)
    core = second.core
    assert comparable(snapshot_rows(core)) == comparable(before)
    assert core.tasks["C"].status == "DISABLED" and core.tasks["C"].scheduler_disable_time is not None
    assert core.tasks["E"].status == "FAILED" and core.tasks["E"].retry == clock.now + 30
    assert core.tasks["A"].params["blob"] == b"\x00\x01"
    assert core.paused is True and core.resources["gpu"] == 3
    assert core.batchers["w1"]["Fam"] == (("d",), 10.0)
    assert {w.id: (w.n_pending, w.n_unique, w.n_last) for w in core.workers.values()} == counters
    assert second.call("ping", worker="w1")["rpc_messages"][0]["name"] == "dispatch_scheduler_message"
    # Timed rules go on after recovery: E is retried once its retry time passes.
    second.call("unpause")
    clock.now += 31
    second.run_maintenance()
    assert core.tasks["E"].status == "PENDING"
    second.close()


def test_workers_that_do_not_come_back_follow_the_disconnect_rules(tmp_path: Path):
    clock = Clock()
    first = durable_service(tmp_path, clock, worker_disconnect_delay=60)
    first.call("add_task", task_id="R", worker="w")
    assert first.call("get_work", worker="w")["task_id"] == "R"
    first.close()
    clock.now += 3600  # the server was down an hour: not held against the worker
    second = durable_service(tmp_path, clock, worker_disconnect_delay=60)
    assert second.core.tasks["R"].status == "RUNNING"
    second.run_maintenance()
    assert second.core.tasks["R"].status == "RUNNING"
    clock.now += 61
    second.run_maintenance()
    assert second.core.tasks["R"].status == "FAILED"
    second.close()


def test_concurrent_calls_share_commits(tmp_path: Path):
    service = durable_service(tmp_path, Clock())

    def client(n: int) -> None:
        for i in range(50):
            service.call("add_task", task_id=f"T{n}-{i}", worker=f"w{n}")

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    join_all(threads, 60)
    assert service.committer is not None
    assert service.committer.commits < 400, "group commit should fold concurrent calls together"
    service.close()
    store = SQLiteStore(tmp_path / "state.sqlite3")
    assert store.counts()["tasks"] == 400


def test_history_records_every_transition(tmp_path: Path):
    clock = Clock()
    service = durable_service(tmp_path, clock)
    service.call("add_task", task_id="H", worker="w")
    clock.now += 1
    service.call("get_work", worker="w", host="build-7")
    clock.now += 1
    service.call("add_task", task_id="H", worker="w", status="DONE")
    assert service.call("has_task_history") is False  # the bare core's setting
    entries = service.task_history("H")
    assert [(e["old_status"], e["new_status"]) for e in entries] == [("PENDING", "RUNNING"), ("RUNNING", "DONE")]
    assert entries[0]["host"] == "build-7" and entries[0]["worker"] == "w"
    service.close()


def test_a_full_store_gives_a_clear_fault_and_recovers_without_losing_anything(tmp_path: Path):
    service = durable_service(tmp_path, Clock())
    service.call("add_task", task_id="before", worker="w")
    db = service.store.db  # type: ignore[union-attr]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages}")  # SQLite now answers SQLITE_FULL, like a full disk
    big = {"payload": "x" * 200_000}
    with pytest.raises(Unavailable) as info:
        service.call("add_task", task_id="during", worker="w", params=big)
    assert "cannot be written" in info.value.message
    assert service.store_health().ok is False
    db.execute("PRAGMA max_page_count=1073741823")  # space is back
    service.call("add_task", task_id="after", worker="w")
    assert service.store_health().ok is True
    service.close()
    store = SQLiteStore(tmp_path / "state.sqlite3")
    ids = {row[0] for row in store.iter_tasks()}
    assert ids == {"before", "during", "after"}


def test_corrupt_truncated_foreign_and_newer_files_are_refused(tmp_path: Path):
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(os.urandom(8192))
    with pytest.raises(StoreCorrupt, match=r"garbage\.sqlite3"):
        SQLiteStore(garbage)

    service = durable_service(tmp_path, Clock())
    for i in range(300):
        service.call("add_task", task_id=f"T{i}", worker="w", params={"pad": "y" * 500})
    service.close()
    whole = (tmp_path / "state.sqlite3").read_bytes()
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(StoreCorrupt, match=r"truncated\.sqlite3"):
        load_into(SQLiteStore(truncated), Scheduler(), 0.0)

    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    with pytest.raises(StoreCorrupt, match="not an xrsched state file"):
        SQLiteStore(foreign)

    newer = tmp_path / "newer.sqlite3"
    SQLiteStore(newer).close()
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(StoreTooNew, match="schema version 99"):
        SQLiteStore(newer)


def test_export_import_round_trip(tmp_path: Path):
    clock = Clock()
    source = durable_service(tmp_path / "a", clock) if (tmp_path / "a").mkdir() is None else None
    assert source is not None
    build_rich_state(source, clock)
    source.close()
    exported = tmp_path / "backup.json"
    export_state(SQLiteStore(tmp_path / "a" / "state.sqlite3"), exported)
    (tmp_path / "b").mkdir()
    target = SQLiteStore(tmp_path / "b" / "state.sqlite3")
    counts = import_state(target, exported)
    assert counts["tasks"] == 5
    a, b = Scheduler(CONFIG), Scheduler(CONFIG)
    load_into(SQLiteStore(tmp_path / "a" / "state.sqlite3"), a, clock())
    load_into(target, b, clock())
    assert comparable(snapshot_rows(a)) == comparable(snapshot_rows(b))
    with pytest.raises(Exception, match="already holds tasks"):
        import_state(target, exported)


def test_dashboard_views_after_a_restart_equal_those_before(tmp_path: Path):
    """overview's counters and task_page's order are rebuilt from the recovered records, then kept."""
    clock = Clock()
    first = durable_service(tmp_path, clock)
    build_rich_state(first, clock)
    overview = first.call("overview")
    page = first.call("task_page", limit=500)
    info = first.call("task_info", "C")
    first.close()

    second = durable_service(tmp_path, clock)
    assert second.call("overview") == overview
    assert second.call("task_page", limit=500) == page
    assert second.call("task_info", "C") == info
    assert [(h["old_status"], h["new_status"]) for h in info["history"]] == [
        ("UNKNOWN", "PENDING"),  # a dependency of A before it was registered
        ("PENDING", "RUNNING"),
        ("RUNNING", "DISABLED"),
    ]
    clock.now += 1
    second.call("add_task", task_id="B", worker="w1", family="Fam", status="PENDING")  # stays DONE (cooldown)
    second.call("add_task", task_id="F", worker="w1", family="New")
    assert second.call("overview")["tasks"]["by_family"]["New"] == {"PENDING": 1}
    assert second.call("task_page", limit=1)["tasks"][0]["task_id"] == "F"
    second.close()


def test_an_import_decodes_every_params_text(tmp_path: Path):
    """Start-up checks only the framing of stored params; an import, from a file anyone may have
    edited, decodes each one."""
    clock = Clock()
    (tmp_path / "a").mkdir()
    source = durable_service(tmp_path / "a", clock)
    build_rich_state(source, clock)
    source.close()
    exported = tmp_path / "backup.json"
    export_state(SQLiteStore(tmp_path / "a" / "state.sqlite3"), exported)
    document = json.loads(exported.read_text())
    task_id, columns = next(iter(document["tasks"].items()))
    columns[-1] = '{"a":1},{"b":2}'
    exported.write_text(json.dumps(document))
    (tmp_path / "b").mkdir()
    target = SQLiteStore(tmp_path / "b" / "state.sqlite3")
    with pytest.raises(StoreError, match=f"task {task_id!r}: params are not a JSON object"):
        import_state(target, exported)
    assert target.counts()["tasks"] == 0
