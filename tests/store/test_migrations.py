"""Schema migrations: a version 1 database (and export) comes back exactly as version 2 stores it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from xrsched.core import Scheduler, SchedulerConfig
from xrsched.core.config import RetryPolicy
from xrsched.core.model import Task
from xrsched.core.restore import meta_of
from xrsched.store import SQLiteStore, StoreCorrupt, load_into
from xrsched.store.base import Batch
from xrsched.store.durability import snapshot_rows
from xrsched.store.exchange import import_state
from xrsched.store.migrations import _SCHEMA_V1, SCHEMA_VERSION, SEP_V1, TASK_COLUMNS_V1
from xrsched.store.records import dumps, encode_meta, encode_task, encode_worker
from xrsched.store.sqlite_schema import APPLICATION_ID

CONFIG = SchedulerConfig(retry_delay=30, retry_count=3, disable_persist=500)
COLD_V1 = (
    "resources_running",
    "param_visibilities",
    "expl",
    "accepts_messages",
    "tracking_url",
    "status_message",
    "progress_percentage",
    "message_responses",
    "batchable",
    "failures",
    "first_failure_time",
)


def encode_task_v1(task: Task, default_policy: RetryPolicy) -> tuple[Any, ...]:
    """The task row as xrsched wrote it with schema version 1."""
    cold = {name: getattr(task, name) for name in COLD_V1 if getattr(task, name) not in (None, False)}
    if task.retry_policy != default_policy:
        policy = task.retry_policy
        cold["retry_policy"] = [policy.retry_count, policy.disable_hard_timeout, policy.disable_window]
    return (
        task.id, task.status, SEP_V1.join(task.deps), SEP_V1.join(task.stakeholders), SEP_V1.join(task.workers),
        task.priority, task.time, task.updated, task.seq, task.family, task.module,
        dumps(task.params) if task.params else None, dumps(task.resources) if task.resources else None,
        task.worker_running, task.time_running, task.retry, task.remove, task.scheduler_disable_time,
        1 if task.runnable else 0, task.batch_id, dumps(cold) if cold else None,
    )  # fmt: skip


def rich_core() -> Scheduler:
    core = Scheduler(CONFIG, {"db": 2})
    core.add_worker("w1", {"workers": 2, "host": "h1"}, now=1.0)
    params = {"d": "2026-11-22", "blob": b"\x00\x01"}
    core.add_task(task_id="A", worker="w1", family="Fam", params=params, param_visibilities={"blob": 1},
                  priority=5, resources={"db": 1}, deps=["B", "C"], now=1.0)  # fmt: skip
    core.add_task(task_id="B", worker="w1", family="Fam", status="DONE", now=1.0)
    core.add_task(task_id="C", worker="w2", family="Fam", module="pipelines.fam", now=1.0)
    core.add_task(task_id="C", worker="w1", family="Fam", retry_policy_dict={"retry_count": 1}, now=1.1)
    core.add_task(task_id="D", worker="w2", family="Other", deps=["A", "gone"], now=1.2)
    core.add_task(task_id="E", worker="w1", family="Gone", now=1.3)
    core.add_task(task_id="F", worker="w2", family="Fam", now=1.4)
    running = core.get_work(worker="w2", host="h2", now=2.0)["task_id"]
    core.set_task_status_message(running, "half way", now=2.1)
    core.add_task(task_id="E", worker="w1", status="FAILED", expl="oops", now=2.2)
    core.add_task_batcher("w1", "Fam", ["d"], 10, now=2.3)
    return core


def write_v1(path: Path, core: Scheduler) -> list[tuple[Any, ...]]:
    rows = [encode_task_v1(task, CONFIG.retry_policy) for task in core.tasks.values()]
    with sqlite3.connect(path) as db:
        for statement in _SCHEMA_V1:
            db.execute(statement)
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute("PRAGMA user_version=1")
        db.executemany(f"INSERT INTO tasks VALUES ({', '.join('?' * len(TASK_COLUMNS_V1))})", rows)
        db.executemany("INSERT INTO workers VALUES (?, ?)", [(w.id, encode_worker(w)) for w in core.workers.values()])
        db.execute("INSERT INTO meta VALUES ('scheduler', ?)", (encode_meta(meta_of(core)),))
    db.close()
    return rows


def write_current(path: Path, core: Scheduler) -> None:
    batch = Batch()
    batch.task_rows = {task.id: encode_task(task, CONFIG.retry_policy) for task in core.tasks.values()}
    batch.worker_rows = {worker.id: encode_worker(worker) for worker in core.workers.values()}
    batch.meta = encode_meta(meta_of(core))
    store = SQLiteStore(path)
    store.write(batch)
    store.close()


def recovered(path: Path) -> dict[str, Any]:
    store = SQLiteStore(path)
    core = Scheduler(CONFIG, {"db": 2})
    load_into(store, core, 100.0)
    store.close()
    rows = snapshot_rows(core)
    return {"tasks": rows["tasks"], "meta": rows["meta"], "workers": sorted(rows["workers"].items())}


def test_a_version_1_database_is_migrated_and_recovers_exactly(tmp_path: Path):
    core = rich_core()
    write_v1(tmp_path / "old.sqlite3", core)
    write_current(tmp_path / "new.sqlite3", core)
    assert recovered(tmp_path / "old.sqlite3") == recovered(tmp_path / "new.sqlite3")
    with sqlite3.connect(tmp_path / "old.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    again = recovered(tmp_path / "old.sqlite3")  # opening a current file changes nothing
    assert again["tasks"]["A"] == encode_task(rich_core().tasks["A"], CONFIG.retry_policy)


def test_a_damaged_version_1_row_stops_the_migration_and_leaves_the_file_as_it_was(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    write_v1(path, rich_core())
    with sqlite3.connect(path) as db:
        db.execute("UPDATE tasks SET cold='{not json' WHERE id='E'")
    db.close()
    with pytest.raises(StoreCorrupt, match=r"old\.sqlite3 cannot be brought to schema version 2: task 'E'"):
        SQLiteStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM tasks WHERE cold IS NOT NULL").fetchone()[0] > 0
    db.close()


def test_a_version_1_export_imports(tmp_path: Path):
    core = rich_core()
    rows = write_v1(tmp_path / "old.sqlite3", core)
    document = {
        "format": "xrsched-state",
        "schema_version": 1,
        "meta": json.loads(encode_meta(meta_of(core))),
        "workers": {w.id: json.loads(encode_worker(w)) for w in core.workers.values()},
        "tasks": {row[0]: list(row[1:]) for row in rows},
    }
    exported = tmp_path / "old.json"
    exported.write_text(json.dumps(document))
    target = SQLiteStore(tmp_path / "imported.sqlite3")
    assert import_state(target, exported)["tasks"] == len(rows)
    target.close()
    write_current(tmp_path / "new.sqlite3", core)
    assert recovered(tmp_path / "imported.sqlite3") == recovered(tmp_path / "new.sqlite3")


def test_a_read_only_store_reads_a_version_1_file_as_it_is_and_never_writes_it(tmp_path: Path):
    """What ``xrsched state check|export`` and ``xrsched history`` open: a server of the old
    version may still be running on the file, so it must stay version 1, byte for byte."""
    core = rich_core()
    old = tmp_path / "old.sqlite3"
    write_v1(old, core)
    before = old.read_bytes()
    store = SQLiteStore(old, read_only=True)
    assert store.version == 1
    fresh = Scheduler(CONFIG, {"db": 2})
    load_into(store, fresh, 100.0)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.write(Batch(meta="{}"))
    store.close()
    assert old.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.sqlite3"]
    write_current(tmp_path / "new.sqlite3", core)
    rows = snapshot_rows(fresh)
    assert {"tasks": rows["tasks"], "meta": rows["meta"], "workers": sorted(rows["workers"].items())} == recovered(
        tmp_path / "new.sqlite3"
    )


def test_a_read_only_store_of_a_file_with_nothing_stored_reads_as_empty(tmp_path: Path):
    path = tmp_path / "empty.sqlite3"
    path.touch()
    store = SQLiteStore(path, read_only=True)
    assert store.counts() == {"tasks": 0, "workers": 0, "history": 0}
    assert (list(store.iter_tasks()), list(store.iter_workers()), store.load_meta()) == ([], [], None)
    assert store.history("A") == []
    store.close()
    assert path.stat().st_size == 0


def _layout(path: Path) -> dict[str, Any]:
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        layout: dict[str, Any] = {table: db.execute(f"PRAGMA table_xinfo({table})").fetchall() for table in tables}
        layout["indexes"] = db.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
        layout["without_rowid"] = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE sql LIKE '%WITHOUT ROWID%'")
        ]
        layout["version"] = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    return layout


def test_a_new_database_gets_the_current_schema_at_once_the_same_as_a_migrated_one(tmp_path: Path, caplog):
    write_v1(tmp_path / "old.sqlite3", Scheduler(CONFIG))
    SQLiteStore(tmp_path / "old.sqlite3").close()
    with caplog.at_level("DEBUG", logger="xrsched.store"):
        store = SQLiteStore(tmp_path / "new.sqlite3")
    assert store.created and store.version == SCHEMA_VERSION
    store.close()
    assert not [r for r in caplog.records if "migrated" in r.getMessage()]  # no step-by-step history
    assert _layout(tmp_path / "new.sqlite3") == _layout(tmp_path / "old.sqlite3")
    again = SQLiteStore(tmp_path / "new.sqlite3")
    assert not again.created
    again.close()
