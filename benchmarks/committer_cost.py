"""The group committer's own cost per call, in process (issue 19's durable floor).

Eight threads call as the service does: under one lock they make a small batch and submit it,
outside it they do a little Python work, then wait for their ticket. Against the same loop
with no committer (ticket 0, no wait), in interleaved rounds, the difference in CPU per call is
what the committer itself costs: with a store that writes nothing (its Python: locks, rounds,
merge), and with a write that sleeps without the GIL as an fsync does (``--write-ms``: then the
waiting rounds, wake-ups and GIL turns count too). Prints each round and the median difference.

    .venv/bin/python benchmarks/committer_cost.py [--rounds 7] [--write-ms 0.5]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

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


def cpu_per_call(with_committer: bool, write_seconds: float, seconds: float) -> float:
    """µs of this process's CPU per call over ``seconds`` of ``THREADS`` callers."""
    committer = GroupCommitter(SleepingStore(write_seconds))
    service = threading.Lock()
    stop = time.monotonic() + seconds
    counts = [0] * THREADS

    def caller(index: int) -> None:
        n = 0
        while time.monotonic() < stop:
            with service:
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
    return cpu / max(sum(counts), 1) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--seconds", type=float, default=1.5, help="seconds per measurement (default 1.5)")
    parser.add_argument("--write-ms", type=float, default=0.0, help="each write sleeps this long (default 0)")
    args = parser.parse_args()
    differences = []
    for _ in range(args.rounds):
        with_it = cpu_per_call(True, args.write_ms / 1000, args.seconds)
        without = cpu_per_call(False, 0.0, args.seconds)
        differences.append(with_it - without)
        print(f"committer {with_it:6.1f} µs/call, none {without:6.1f} µs/call, difference {with_it - without:5.1f}")
    print(f"the committer's cost per call: {statistics.median(differences):.1f} µs (median of {args.rounds} rounds; "
          f"{min(differences):.1f}-{max(differences):.1f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
