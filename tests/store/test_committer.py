"""Group commit: callers write their own transactions, share them, and wait for siblings in flight."""

from __future__ import annotations

import threading
import time
from pathlib import Path

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


def test_a_call_in_flight_joins_the_transaction_of_the_caller_before_it(tmp_path: Path):
    """With a sibling still being applied (``busy``), the writer waits for its change instead of
    leaving it the next fsync: one transaction holds both."""
    store = CountingStore(tmp_path / "s.sqlite3")
    applying = threading.Event()
    committer = GroupCommitter(store, retry_interval=60, busy=applying.is_set, gather=5.0)
    first = committer.submit(_batch("first"))
    applying.set()  # the sibling holds the service lock now

    def sibling() -> None:
        time.sleep(0.05)
        ticket = committer.submit(_batch("second"))
        applying.clear()
        committer.wait(ticket)

    thread = threading.Thread(target=sibling)
    thread.start()
    started = time.monotonic()
    committer.wait(first)
    thread.join()
    assert time.monotonic() - started < 4.0, "the writer must go as soon as the sibling's change arrives"
    assert store.writes == [{"first", "second"}]
    committer.stop()
    store.close()


def test_no_sibling_in_flight_means_no_waiting(tmp_path: Path):
    store = CountingStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=60, busy=lambda: False, gather=5.0)
    started = time.monotonic()
    committer.wait(committer.submit(_batch("a")))
    assert time.monotonic() - started < 2.0
    committer.stop()
    store.close()


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

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    committer.stop()
    store.close()
    assert committer.submitted == 400
    assert committer.commits == len(store.writes) <= 400
    assert _stored(tmp_path / "s.sqlite3") == {f"w{k}-{n}" for k in range(8) for n in range(50)}
