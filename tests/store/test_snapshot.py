"""The SQLite store's snapshot of the task rows: written at a clean close, dropped with the first
change to a task, checked before use, and never a different state from the rows."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from xrsched.core import Scheduler
from xrsched.core.coldtasks import TaskTable
from xrsched.service import SchedulerService
from xrsched.store import Batch, SQLiteStore, load_into
from xrsched.store.durability import snapshot_rows
from xrsched.store.exchange import export_state, import_state
from xrsched.store.records import encode_task

from .test_recovery import CONFIG, Clock, build_rich_state, comparable

DATA = Path(__file__).parent / "data"


def service(path: Path, clock: Clock) -> SchedulerService:
    store = SQLiteStore(path, snapshot_on_close=True)
    core = Scheduler(CONFIG, {"db": 2})
    load_into(store, core, clock())
    return SchedulerService(core, clock=clock, store=store)


def loaded(path: Path, now: float) -> tuple[Scheduler, SQLiteStore]:
    store = SQLiteStore(path, snapshot_on_close=True)
    core = Scheduler(CONFIG, {"db": 2})
    load_into(store, core, now)
    return core, store


def view(core: Scheduler) -> dict[str, Any]:
    """What a restore must reproduce: the records and the indexes built from them."""
    tasks = core.tasks
    cold = tasks.cold_ids() if isinstance(tasks, TaskTable) else []
    records = {**{task_id: tasks.peek(task_id) for task_id in cold}, **dict(dict.items(tasks))}
    return {
        "statuses": {
            tid: (t.status, t.unmet, t.blocked, t.stakeholders, t.workers, t.remove) for tid, t in records.items()
        },
        "by_status": {status: set(ids) for status, ids in core.by_status.items()},
        "dependents": {dep: set(core.dependents(dep)) for dep in core.rdeps},
        "related": {w.id: set(w.related) for w in core.workers.values()},
        "counters": {w.id: (w.n_pending, w.n_unique, w.n_last) for w in core.workers.values()},
        "deadlines": sorted((when, kind, key) for when, _, kind, key in core.deadlines._heap),
        "ready": core.n_ready,
    }


def rows_view(path: Path, now: float) -> dict[str, Any]:
    """The view of a start from the rows of ``path`` (a copy without its snapshot)."""
    copy = path.with_name("rows-only.sqlite3")
    shutil.copy(path, copy)
    with sqlite3.connect(copy) as db:
        db.execute("DELETE FROM meta WHERE key='snapshot'")
    db.close()
    core, store = loaded(copy, now)
    assert not isinstance(core.tasks, TaskTable)
    store.db.close()
    return view(core)


def stored_snapshot(path: Path) -> tuple[dict[str, Any] | None, int]:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT value FROM meta WHERE key='snapshot'").fetchone()
        parts = db.execute("SELECT count(*) FROM snapshot").fetchone()[0]
    db.close()
    return (json.loads(row[0]) if row else None), parts


@pytest.fixture
def state(tmp_path: Path) -> tuple[Path, Clock]:
    """A closed state file with a little of everything, and a snapshot of it."""
    clock = Clock()
    first = service(tmp_path / "state.sqlite3", clock)
    build_rich_state(first, clock)
    first.call("unpause")
    first.call("add_task", task_id="F", worker="w1", family="Fam", status="DONE", deps=["B"])
    first.close()
    return tmp_path / "state.sqlite3", clock


def test_a_clean_close_writes_a_snapshot_and_a_start_reads_it_with_done_tasks_cold(state, caplog):
    path, clock = state
    info, parts = stored_snapshot(path)
    assert info is not None and info["bytes"] > 0 and parts == 1
    rows_copy = path.with_name("rows.sqlite3")
    shutil.copy(path, rows_copy)
    with sqlite3.connect(rows_copy) as db:
        db.execute("DELETE FROM meta WHERE key='snapshot'")
    db.close()

    with caplog.at_level(logging.WARNING, logger="xrsched.store"):
        core, store = loaded(path, clock())
        eager, eager_store = loaded(rows_copy, clock())
    assert not caplog.records
    assert isinstance(core.tasks, TaskTable) and sorted(core.tasks.cold_ids()) == ["B", "F"]
    assert not isinstance(eager.tasks, TaskTable)
    assert view(core) == view(eager)
    assert comparable(snapshot_rows(core)) == comparable(snapshot_rows(eager))
    store.close()
    eager_store.close()


def changes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        ids = {row[0] for row in db.execute("SELECT id FROM snapshot_changes")}
    db.close()
    return ids


def test_tasks_written_after_the_snapshot_are_noted_and_read_from_their_rows_on_top(state):
    path, clock = state
    second = service(path, clock)
    assert second.store.snapshot_valid and second.store.snapshot_changes == 0
    second.call("add_worker", "w9", {"workers": 1})  # workers are not in the snapshot
    assert changes(path) == set()
    clock.now += 3600  # past the cooldown that keeps a DONE task DONE
    second.call("add_task", task_id="B", worker="w1", status="PENDING")  # B was DONE (and cold)
    second.call("add_task", task_id="G", worker="w1", family="New", status="DONE")
    assert changes(path) == {"B", "G"} and second.store.snapshot_changes == 2  # noted before the reply
    assert stored_snapshot(path)[0] is not None
    expected = snapshot_rows(second.core)
    # A start now (as after a crash) reads the snapshot, with B and G from their rows.
    core, store = loaded(path, clock())
    assert isinstance(core.tasks, TaskTable) and sorted(core.tasks.cold_ids()) == ["F"]
    assert core.tasks.hot("B").status == "PENDING" and core.tasks.hot("G").status == "DONE"
    assert comparable(snapshot_rows(core))["tasks"] == comparable(expected)["tasks"]
    store.db.close()
    second.close()  # a fresh snapshot; nothing noted since
    assert changes(path) == set()
    again, store = loaded(path, clock())
    assert isinstance(again.tasks, TaskTable) and again.tasks["B"].status == "PENDING"
    assert comparable(snapshot_rows(again))["tasks"] == comparable(expected)["tasks"]
    store.close()


def test_past_the_limit_of_changes_the_snapshot_is_dropped(state, monkeypatch):
    path, clock = state
    monkeypatch.setattr("xrsched.store.snapshot_tables.CHANGES_KEPT", 2)
    second = service(path, clock)
    second.call("add_task", task_id="N1", worker="w1")
    second.call("add_task", task_id="N2", worker="w1")
    assert second.store.snapshot_valid and changes(path) == {"N1", "N2"}
    second.call("add_task", task_id="N3", worker="w1")
    assert not second.store.snapshot_valid
    assert stored_snapshot(path)[0] is None and changes(path) == set()
    expected = snapshot_rows(second.core)
    core, store = loaded(path, clock())
    assert not isinstance(core.tasks, TaskTable)  # the rows, until the next clean stop
    assert comparable(snapshot_rows(core))["tasks"] == comparable(expected)["tasks"]
    store.db.close()
    second.close()
    assert stored_snapshot(path)[0] is not None


def test_a_close_without_changes_keeps_the_snapshot_as_it_is(state):
    path, clock = state
    info, _ = stored_snapshot(path)
    _, store = loaded(path, clock())
    assert store.write_snapshot() is False
    store.close()
    assert stored_snapshot(path)[0] == info


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "another python", "another format"])
def test_a_damaged_or_foreign_snapshot_is_refused_and_the_rows_are_read(state, caplog, damage):
    path, clock = state
    expected, store = loaded(path, clock())
    expected_view = view(expected)
    store.db.close()
    with sqlite3.connect(path) as db:
        blob = bytearray(db.execute("SELECT data FROM snapshot").fetchone()[0])
        info = json.loads(db.execute("SELECT value FROM meta WHERE key='snapshot'").fetchone()[0])
        if damage == "flip a byte":
            blob[len(blob) // 2] ^= 0x01
        elif damage == "truncate":
            del blob[-10:]
        elif damage == "another python":
            info["python"] = "cpython-3.99-m4"
        else:
            info["format"] = 99
        db.execute("UPDATE snapshot SET data=?", (bytes(blob),))
        db.execute("UPDATE meta SET value=? WHERE key='snapshot'", (json.dumps(info),))
    db.close()
    with caplog.at_level(logging.WARNING, logger="xrsched.store"):
        core, store = loaded(path, clock())
    assert not isinstance(core.tasks, TaskTable)
    assert view(core) == expected_view
    [record] = caplog.records
    assert "cannot be used" in record.getMessage() and "reading the task rows instead" in record.getMessage()
    # Changes are still noted: an interpreter that can read that snapshot must see them.
    row = encode_task(core.tasks["B"], CONFIG.retry_policy)
    store.write(Batch(task_rows={"G": ("G", *row[1:])}))
    assert changes(path) == {"G"}
    store.close()  # a fresh, valid snapshot replaces it
    assert changes(path) == set()
    again, store = loaded(path, clock())
    assert isinstance(again.tasks, TaskTable) and "G" in again.tasks
    assert view(again) == rows_view(path, clock())
    store.close()


def test_an_import_drops_the_snapshot(state, tmp_path):
    path, _ = state
    store = SQLiteStore(path)
    export_state(store, tmp_path / "export.json")
    import_state(store, tmp_path / "export.json", force=True)
    assert not store.snapshot_valid
    store.close()
    assert stored_snapshot(path) == (None, 0)


def test_a_version_2_file_made_before_snapshots_migrates_and_loads(tmp_path, caplog):
    """``data/state-v2.sqlite3`` was written by the code before this change (schema version 2):
    ``build_rich_state`` plus a DONE task F depending on B, closed cleanly."""
    path = tmp_path / "state.sqlite3"
    shutil.copy(DATA / "state-v2.sqlite3", path)
    with caplog.at_level(logging.INFO, logger="xrsched.store"):
        core, store = loaded(path, 20_000.0)
    assert "migrated to schema version 3" in caplog.text
    assert "migrated to schema version 4" in caplog.text  # PostgreSQL's version: nothing to do here
    assert store.version == 4 and not store.snapshot_valid
    assert sorted(core.tasks) == ["A", "B", "C", "D", "E", "F"]
    assert core.tasks["F"].status == "DONE" and core.tasks["C"].status == "DISABLED"
    assert core.tasks["A"].params["blob"] == b"\x00\x01"
    eager_view = view(core)
    store.close()
    again, store = loaded(path, 20_000.0)
    assert isinstance(again.tasks, TaskTable)
    assert view(again) == eager_view
    store.close()
