"""Group commit: callers write their own transactions and share them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.waiting import join_all
from xrsched.store import GroupCommitter, SQLiteStore
from xrsched.store.base import Batch


def _batch(name: str) -> Batch:
    batch = Batch()
    batch.worker_rows[name] = f'[0.0, {{"n": "{name}"}}, false, [], null]'
    return batch


class CountingStore(SQLiteStore):
    """The real store, counting its transactions and what each one held."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, sync="normal")
        self.writes: list[set[str]] = []

    def write(self, batch: Batch) -> None:
        super().write(batch)
        self.writes.append(set(batch.worker_rows))


def _stored(path: Path) -> set[str]:
    store = SQLiteStore(path)
    try:
        return {worker_id for worker_id, _ in store.iter_workers()}
    finally:
        store.close()


def test_a_lone_caller_writes_its_own_change_in_its_own_thread(tmp_path: Path):
    store = CountingStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=60)
    writer_threads: list[str] = []
    real_write = store.write

    def write(batch: Batch) -> None:
        writer_threads.append(threading.current_thread().name)
        real_write(batch)

    store.write = write  # type: ignore[method-assign]
    committer.wait(committer.submit(_batch("a")))
    assert writer_threads == [threading.current_thread().name]
    committer.stop()
    store.close()
    assert _stored(tmp_path / "s.sqlite3") == {"a"}


def test_changes_nobody_waits_for_are_written_by_the_background_thread(tmp_path: Path):
    store = CountingStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=0.05)
    committer.submit(_batch("maintenance"))
    deadline = time.monotonic() + 5
    while not store.writes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.writes == [{"maintenance"}]
    committer.stop()
    store.close()


def test_concurrent_callers_share_transactions_and_lose_nothing(tmp_path: Path):
    store = CountingStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=60)

    def caller(k: int) -> None:
        for n in range(50):
            committer.wait(committer.submit(_batch(f"w{k}-{n}")))

    threads = [threading.Thread(target=caller, args=(k,), daemon=True) for k in range(8)]
    for thread in threads:
        thread.start()
    join_all(threads, 60)
    committer.stop()
    store.close()
    assert committer.submitted == 400
    assert committer.commits == len(store.writes) <= 400
    assert _stored(tmp_path / "s.sqlite3") == {f"w{k}-{n}" for k in range(8) for n in range(50)}
