"""Group commit: callers write their own transactions and share them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.waiting import join_all, wait_for
from xrsched.store import GroupCommitter, SQLiteStore, StoreUnavailable
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

    early: list[str] = []

    def caller(k: int) -> None:
        for n in range(50):
            name = f"w{k}-{n}"
            committer.wait(committer.submit(_batch(name)))
            if not any(name in written for written in list(store.writes)):
                early.append(name)  # wait() returned before a transaction held the change

    threads = [threading.Thread(target=caller, args=(k,), daemon=True) for k in range(8)]
    for thread in threads:
        thread.start()
    join_all(threads, 60)
    committer.stop()
    store.close()
    assert early == []
    assert committer.submitted == 400
    assert committer.commits == len(store.writes) <= 400
    assert _stored(tmp_path / "s.sqlite3") == {f"w{k}-{n}" for k in range(8) for n in range(50)}


class GatedStore(CountingStore):
    """The real store, where a write holding a chosen change first waits for a gate to open
    (and may then fail), so a test decides when each transaction ends."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gates: dict[str, threading.Event] = {}
        self.entered: dict[str, threading.Event] = {}
        self.fail: set[str] = set()

    def gate(self, name: str) -> threading.Event:
        self.gates[name], self.entered[name] = threading.Event(), threading.Event()
        return self.gates[name]

    def write(self, batch: Batch) -> None:
        for name in self.gates.keys() & batch.worker_rows.keys():
            self.entered[name].set()
            assert self.gates[name].wait(30), f"the test never opened the gate of {name}"
        if self.fail & batch.worker_rows.keys():
            self.fail.clear()
            raise OSError("disk full (on purpose)")
        super().write(batch)


def _waiter(committer: GroupCommitter, ticket: int, outcomes: dict[int, str]) -> threading.Thread:
    def run() -> None:
        try:
            committer.wait(ticket, timeout=30)
        except StoreUnavailable as exc:
            outcomes[ticket] = f"unavailable: {exc}"
        else:
            outcomes[ticket] = "stored"

    thread = threading.Thread(target=run, name=f"waiter-{ticket}", daemon=True)
    thread.start()
    return thread


def test_a_caller_covered_by_a_write_returns_when_it_ends_not_after_the_next_one(tmp_path: Path):
    store = GatedStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=60)
    first, second = store.gate("a"), store.gate("c")
    outcomes: dict[int, str] = {}
    a, b = committer.submit(_batch("a")), committer.submit(_batch("b"))
    writer = _waiter(committer, a, outcomes)  # writes a and b together, held at the gate
    assert store.entered["a"].wait(10)
    c = committer.submit(_batch("c"))  # too late for that transaction
    late = _waiter(committer, c, outcomes)
    time.sleep(0.2)  # c's caller waits first: a lock would let it write before b's caller looks
    covered = _waiter(committer, b, outcomes)
    time.sleep(0.2)
    first.set()
    wait_for(lambda: outcomes.get(b), 5, "b's caller to return while c's transaction is held")
    assert outcomes == {a: "stored", b: "stored"}
    assert store.entered["c"].wait(10) and not second.is_set()
    second.set()
    join_all([writer, covered, late], 10)
    assert outcomes[c] == "stored"
    assert store.writes == [{"a", "b"}, {"c"}]
    committer.stop()
    store.close()


def _three_behind_a_held_write(
    store: GatedStore, committer: GroupCommitter
) -> tuple[threading.Event, dict[int, str], threading.Thread, list[threading.Thread]]:
    """Change set "a" held in its write (its gate, not yet set), then "b", "c" and "d" submitted
    behind it; the gate, the callers' outcomes, the first caller and the three others."""
    gate = store.gate("a")
    outcomes: dict[int, str] = {}
    first = _waiter(committer, committer.submit(_batch("a")), outcomes)
    assert store.entered["a"].wait(10)
    later = [_waiter(committer, committer.submit(_batch(name)), outcomes) for name in ("b", "c", "d")]
    return gate, outcomes, first, later


def test_callers_that_came_during_a_write_share_the_next_one_and_all_return_when_it_ends(tmp_path: Path):
    store = GatedStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=60)
    gate, outcomes, first, later = _three_behind_a_held_write(store, committer)
    time.sleep(0.2)
    gate.set()
    wait_for(lambda: len(outcomes) == 4, 5, "every caller to return after the second write")
    join_all([first, *later], 10)
    assert set(outcomes.values()) == {"stored"}
    assert store.writes == [{"a"}, {"b", "c", "d"}]
    committer.stop()
    store.close()


def test_a_failed_write_fails_the_callers_it_covered_and_the_next_caller_writes_everything(tmp_path: Path):
    store = GatedStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=60)
    failing, retry = store.gate("a"), store.gate("c")
    store.fail.add("a")
    outcomes: dict[int, str] = {}
    a, b = committer.submit(_batch("a")), committer.submit(_batch("b"))
    writer = _waiter(committer, a, outcomes)
    assert store.entered["a"].wait(10)
    covered = _waiter(committer, b, outcomes)
    c = committer.submit(_batch("c"))
    late = _waiter(committer, c, outcomes)
    time.sleep(0.2)
    failing.set()
    assert store.entered["c"].wait(10)  # c's caller retries at once, with a and b in its transaction
    wait_for(lambda: len(outcomes) == 2, 5, "the callers of the failed write to hear of it")
    refused = "unavailable: the state store cannot be written: disk full (on purpose)"
    assert outcomes == {a: refused, b: refused}
    assert not committer.healthy
    retry.set()
    join_all([writer, covered, late], 10)
    assert outcomes[c] == "stored"
    assert store.writes == [{"a", "b", "c"}]
    assert committer.healthy
    committer.stop()
    store.close()
    assert _stored(tmp_path / "s.sqlite3") == {"a", "b", "c"}


def test_a_caller_behind_a_write_that_never_ends_gives_up_at_its_timeout(tmp_path: Path):
    store = GatedStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=60)
    gate = store.gate("a")
    writer = threading.Thread(target=committer.wait, args=(committer.submit(_batch("a")),), daemon=True)
    writer.start()
    assert store.entered["a"].wait(10)
    ticket = committer.submit(_batch("b"))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="did not confirm the write in time"):
        committer.wait(ticket, timeout=0.3)
    assert time.monotonic() - started < 5
    gate.set()
    join_all([writer], 10)
    committer.stop()
    store.close()
    assert _stored(tmp_path / "s.sqlite3") == {"a", "b"}


def test_the_summary_says_how_many_changes_each_transaction_carried_and_how_long_callers_waited(tmp_path: Path):
    store = GatedStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=60)
    gate, _outcomes, first, later = _three_behind_a_held_write(store, committer)
    time.sleep(0.3)  # every caller waits at least this long: the first write is held meanwhile
    gate.set()
    join_all([first, *later], 10)
    summary = committer.summary()
    committer.stop()
    store.close()
    assert store.writes == [{"a"}, {"b", "c", "d"}]
    head, waited = summary.split("; callers waited ")
    assert head.startswith("4 change sets written in 2 transactions (2.00 per transaction, ")
    assert 300 <= float(waited.removesuffix(" ms on average")) < 10_000


def test_a_caller_that_gave_up_waiting_is_not_the_one_let_go_to_write_the_next_transaction(tmp_path: Path):
    store = GatedStore(tmp_path / "s.sqlite3")
    committer = GroupCommitter(store, retry_interval=60)  # no background write to fall back on
    gate = store.gate("a")
    writer = threading.Thread(target=committer.wait, args=(committer.submit(_batch("a")),), daemon=True)
    writer.start()
    assert store.entered["a"].wait(10)
    gave_up = committer.submit(_batch("x"))
    with pytest.raises(StoreUnavailable, match="in time"):
        committer.wait(gave_up, timeout=0.2)  # queued first, then gone
    outcomes: dict[int, str] = {}
    y = committer.submit(_batch("y"))
    queued = _waiter(committer, y, outcomes)
    time.sleep(0.2)
    gate.set()
    wait_for(lambda: outcomes.get(y), 5, "the caller still waiting to write x and y once the turn is free")
    join_all([writer, queued], 10)
    assert outcomes[y] == "stored"
    assert store.writes == [{"a"}, {"x", "y"}]
    committer.stop()
    store.close()
