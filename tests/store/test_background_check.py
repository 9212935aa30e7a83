"""The structure check of a state file run in the background while the server loads it: the
records load meanwhile, but a damaged file is still refused before anything is served or written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from xrsched.core import Scheduler
from xrsched.core.model import Task
from xrsched.store import SQLiteStore, StoreCorrupt, load_into
from xrsched.store.base import Batch
from xrsched.store.records import encode_task

TASKS = 50
#: What StoreCorrupt says of this damage, whichever way the check meets it.
DAMAGED = r"state\.sqlite3 is (damaged|not a readable xrsched state database).*xrsched state import"


def write_state(path: Path) -> None:
    """A current-schema state file with tasks, and enough history to fill pages of its own."""
    store = SQLiteStore(path, sync="normal", history_days=0)
    policy = Scheduler().config.retry_policy
    batch = Batch()
    for i in range(TASKS):
        batch.task_rows[f"T{i}"] = encode_task(Task(f"T{i}", "PENDING", 1000.0 + i, i + 1, policy), policy)
    batch.history = [(f"T{i % TASKS}", None, "PENDING", 1000.0 + i, "w", "h" * 200) for i in range(400)]
    store.write(batch)
    store.close()


def damage_history(path: Path) -> None:
    """Give a leaf page of the history table an invalid page type: the task rows still read, but
    ``PRAGMA quick_check`` reports the damage."""
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = [p for (p,) in db.execute("SELECT pageno FROM dbstat WHERE name='history' AND pagetype='leaf'")]
    assert len(pages) > 2
    with path.open("r+b") as handle:
        handle.seek((pages[len(pages) // 2] - 1) * page_size)
        handle.write(b"\x07")  # not one of the four b-tree page types


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    path = tmp_path / "state.sqlite3"
    write_state(path)
    damage_history(path)
    return path


def test_a_damaged_file_is_refused_on_open_by_default(damaged: Path):
    with pytest.raises(StoreCorrupt, match=DAMAGED):
        SQLiteStore(damaged)


def test_in_the_background_the_records_load_but_verify_refuses_the_file(damaged: Path):
    store = SQLiteStore(damaged, check_in_background=True)
    core = Scheduler()
    load_into(store, core, 2000.0)
    assert len(core.tasks) == TASKS  # the damage is not in the pages the load reads
    with pytest.raises(StoreCorrupt, match=DAMAGED):
        store.verify()
    store.db.close()


def test_nothing_is_written_to_a_file_whose_check_has_not_passed(damaged: Path):
    before = damaged.read_bytes()
    store = SQLiteStore(damaged, check_in_background=True)
    batch = Batch()
    batch.meta = '{"paused": true}'
    with pytest.raises(StoreCorrupt, match=DAMAGED):
        store.write(batch)
    store.db.close()
    assert damaged.read_bytes() == before


def test_a_sound_file_passes_and_verify_is_then_free(tmp_path: Path):
    path = tmp_path / "state.sqlite3"
    write_state(path)
    store = SQLiteStore(path, check_in_background=True)
    load_into(store, Scheduler(), 2000.0)
    store.verify()
    store.verify()
    batch = Batch()
    batch.meta = '{"paused": true}'
    store.write(batch)
    store.close()
    assert SQLiteStore(path, read_only=True).load_meta() == '{"paused": true}'


def test_an_older_schema_is_checked_before_it_is_migrated(tmp_path: Path):
    """A migration writes to the file, so an older file is checked at once, whatever is asked."""
    path = tmp_path / "state.sqlite3"
    write_state(path)
    damage_history(path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=1")
    with pytest.raises(StoreCorrupt, match="malformed"):  # the check's finding, not the migration's
        SQLiteStore(path, check_in_background=True)
