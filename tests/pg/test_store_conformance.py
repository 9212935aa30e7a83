"""The two stores agree: any sequence of batches written to SQLite and to PostgreSQL leaves the
same tasks, workers, settings and history (property-based, hypothesis)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xrsched.store import Batch, SQLiteStore
from xrsched.store.pgurl import parse_store_url
from xrsched.store.postgres import PostgresStore

IDS = st.sampled_from([f"T{i}" for i in range(6)])
WORKERS = st.sampled_from(["w1", "w2", "w3"])
TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=12)
FLOAT = st.floats(min_value=0, max_value=2e9, allow_nan=False)
TASK_ROW = st.tuples(TEXT, FLOAT, FLOAT, st.integers(0, 2**40), TEXT)
HISTORY = st.tuples(IDS, st.sampled_from(["", "PENDING"]), st.sampled_from(["RUNNING", "DONE"]), FLOAT,
                    st.none() | WORKERS, st.none() | TEXT)  # fmt: skip


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    batch = Batch()
    for task_id in draw(st.lists(IDS, max_size=4)):
        batch.task_rows[task_id] = (task_id, *draw(TASK_ROW))
    batch.removed_tasks = set(draw(st.lists(IDS, max_size=2))) - batch.task_rows.keys()
    for worker_id in draw(st.lists(WORKERS, max_size=2)):
        batch.worker_rows[worker_id] = draw(TEXT)
    batch.removed_workers = set(draw(st.lists(WORKERS, max_size=1))) - batch.worker_rows.keys()
    batch.meta = draw(st.none() | TEXT)
    batch.history = draw(st.lists(HISTORY, max_size=3))
    return batch


def contents(store) -> dict:
    with store.reading():
        tasks = sorted(tuple(row) for row in store.iter_tasks())
        workers = sorted(store.iter_workers())
        meta = store.load_meta()
    history = {task_id: store.history(task_id) for task_id in (f"T{i}" for i in range(6))}
    return {"tasks": tasks, "workers": workers, "meta": meta, "history": history}


@pytest.fixture
def pg_store(pg_url):
    store = PostgresStore(parse_store_url(pg_url), history_days=0)
    yield store
    store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(batches(), min_size=1, max_size=6))
def test_sqlite_and_postgresql_hold_the_same_after_any_batches(pg_store, sequence):
    with pg_store.pool.connection() as conn:
        conn.execute("TRUNCATE xrsched_tasks, xrsched_workers, xrsched_meta, xrsched_history")
    with tempfile.TemporaryDirectory() as directory:
        sqlite = SQLiteStore(Path(directory) / "state.sqlite3", sync="normal", history_days=0)
        try:
            for batch in sequence:
                sqlite.write(batch)
                pg_store.write(batch)
            assert contents(pg_store) == contents(sqlite)
        finally:
            sqlite.close()
