"""SQLiteStore's writes are all or nothing: a failure part-way leaves the stored records as they
were and the store writable (no transaction left open)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from xrsched.store import SQLiteStore
from xrsched.store.base import Batch


def row(task_id: str) -> tuple[object, ...]:
    """A raw task row (the store keeps the columns as given; the encoder is not under test)."""
    return (task_id, "[]", 1.0, 1.0, 1, "{}")


def stored(store: SQLiteStore) -> tuple[set[str], set[str]]:
    tasks = {r[0] for r in store.iter_tasks()}
    workers = {w for w, _ in store.iter_workers()}
    return tasks, workers


@pytest.fixture
def store(tmp_path: Path):
    store = SQLiteStore(tmp_path / "state.sqlite3")
    store.write(Batch(task_rows={"kept": row("kept")}, worker_rows={"w1": "[]"}, meta="{}"))
    yield store
    store.close()


def test_a_write_that_fails_part_way_stores_nothing_and_the_next_write_works(store: SQLiteStore):
    bad_history = [("new", "", "PENDING", 1.0)]  # too few values: fails after the task rows went in
    with pytest.raises(sqlite3.ProgrammingError):
        store.write(Batch(task_rows={"new": row("new")}, removed_workers={"w1"}, history=bad_history))  # type: ignore[arg-type]
    assert not store.db.in_transaction
    assert stored(store) == ({"kept"}, {"w1"})
    store.write(Batch(task_rows={"after": row("after")}))
    assert stored(store) == ({"kept", "after"}, {"w1"})


def test_a_replace_all_that_fails_part_way_keeps_the_old_records(store: SQLiteStore):
    with pytest.raises(sqlite3.ProgrammingError):
        store.replace_all([row("imported")], [("w2",)], "{}")  # type: ignore[list-item]
    assert not store.db.in_transaction
    assert stored(store) == ({"kept"}, {"w1"})
    store.replace_all([row("imported")], [("w2", "[]")], "{}")
    assert stored(store) == ({"imported"}, {"w2"})
