"""The group committer's own cost per call, in process (issue 19's durable floor).

Eight threads call as the service does: under one lock they make a small batch and submit it,
outside it they do a little Python work, then wait for their ticket. Against the same loop
with no committer (ticket 0, no wait), in interleaved rounds, the difference in CPU per call is
what the committer itself costs: with a store that writes nothing (its Python: locks, rounds,
merge), with a write that sleeps without the GIL as an fsync does (``--write-ms``: then the
waiting rounds, wake-ups and GIL turns count too), or with a real SQLite store (``--sqlite off``
or ``full``, the synchronous setting; real encoded add_task rows): then SQLite's work among the
request threads counts too, to hold against ``durable_work.py``'s figure for the same work in
one thread. Prints each round and the median difference.

    .venv/bin/python benchmarks/committer_cost.py [--rounds 7] [--write-ms 0.5 | --sqlite off]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from durable_work import add_bench_task

from xrsched.store.base import Batch
from xrsched.store.committer import GroupCommitter

THREADS = 8


class SleepingStore:
    """A store whose write takes ``seconds`` of wall time without the GIL (0: returns at once)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def write(self, batch: Batch) -> None:
        """Write nothing; sleep like a sync would."""
        if self.seconds:
            time.sleep(self.seconds)


def sqlite_store(directory: Path, sync: str) -> Any:
    """A new SQLite store in ``directory`` at ``synchronous`` = ``sync`` (off, normal or full)."""
    from xrsched.store import SQLiteStore

    store = SQLiteStore(directory / "state.sqlite3", sync="full" if sync == "full" else "normal", history_days=0)
    if sync == "off":
        store.db.execute("PRAGMA synchronous=OFF")
    return store


def add_task_batches(count: int) -> list[Batch]:
    """``count`` change sets of add_task calls as the durability benchmark's clients make them."""
    from xrsched.core import Scheduler
    from xrsched.store import encode_changes

    core = Scheduler()
    core.track_changes(transitions_only=False)
    batches = []
    for n in range(count):
        add_bench_task(core, n, "cost")
        batches.append(encode_changes(core, core.take_changes()))
    return batches


def cpu_per_call(
    with_committer: bool, write_seconds: float, seconds: float, sqlite: str | None = None
) -> tuple[float, float]:
    """µs of this process's CPU per call over ``seconds`` of ``THREADS`` callers, and the
    calls per transaction (0 without the committer)."""
    directory = Path(tempfile.mkdtemp(prefix="committer-cost-"))
    store = sqlite_store(directory, sqlite) if sqlite and with_committer else SleepingStore(write_seconds)
    ready = add_task_batches(int(30_000 * seconds) + 1_000) if sqlite else []
    committer = GroupCommitter(store)
    service = threading.Lock()
    stop = time.monotonic() + seconds
    counts = [0] * THREADS

    def caller(index: int) -> None:
        n = 0
        while time.monotonic() < stop and (ready or not sqlite):
            with service:
                if sqlite:
                    batch = ready.pop() if ready else Batch()  # empty: another caller took the last one
                else:
                    batch = Batch()
                    batch.task_rows[f"t{index}-{n}"] = (index, n)
                    batch.history.append((f"t{index}-{n}", "", "PENDING", 0.0, "w", None))
                ticket = committer.submit(batch) if with_committer else 0
            total = 0
            for step in range(300):  # the rest of a request's Python, outside the lock
                total += step
            if ticket:
                committer.wait(ticket)
            n += 1
        counts[index] = n

    started = time.process_time()
    threads = [threading.Thread(target=caller, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = time.process_time() - started
    committer.stop()
    if sqlite and with_committer:
        store.close()
    shutil.rmtree(directory, ignore_errors=True)
    calls = max(sum(counts), 1)
    return cpu / calls * 1e6, calls / committer.commits if with_committer and committer.commits else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--seconds", type=float, default=1.5, help="seconds per measurement (default 1.5)")
    parser.add_argument("--write-ms", type=float, default=0.0, help="each write sleeps this long (default 0)")
    parser.add_argument("--sqlite", choices=("off", "normal", "full"), help="write to a real SQLite store instead")
    args = parser.parse_args()
    differences = []
    for _ in range(args.rounds):
        with_it, per_transaction = cpu_per_call(True, args.write_ms / 1000, args.seconds, args.sqlite)
        without, _ = cpu_per_call(False, 0.0, args.seconds, args.sqlite)
        differences.append(with_it - without)
        print(f"committer {with_it:6.1f} µs/call, none {without:6.1f} µs/call, difference {with_it - without:5.1f} "
              f"({per_transaction:.2f} calls per transaction)")  # fmt: skip
    print(f"the committer's cost per call: {statistics.median(differences):.1f} µs (median of {args.rounds} rounds; "
          f"{min(differences):.1f}-{max(differences):.1f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
