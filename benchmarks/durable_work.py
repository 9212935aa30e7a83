"""The work a durable call cannot skip, measured in the benchmark's own process with one thread
and nothing else in it (no other request, no GIL to share): the floor's irreducible parts.

``durability.py`` runs :func:`measure_work` next to each round's durable window, grouping the
change sets as that window's server did (its calls per transaction): encoding a call's change
(``take_changes`` + ``encode_changes``, as the service does under its lock), SQLite's
transaction with ``synchronous=OFF`` (its C work, the WAL's pwrite, the sqlite3 module), and
the same with ``synchronous=FULL`` (the difference is the fsync's CPU; its wall time per
transaction is what a caller must wait at least).
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DurableWork:
    """µs per call of CPU: encode, SQLite without sync, the sync; µs of wall per transaction
    with the sync; the calls per transaction it was measured at."""

    encode: float
    sqlite: float
    sync: float
    commit_wall: float
    per_transaction: float

    @property
    def cpu(self) -> float:
        """All of it: the CPU per call no durable commit path can avoid."""
        return self.encode + self.sqlite + self.sync

    @staticmethod
    def median(runs: Sequence[DurableWork]) -> DurableWork | None:
        """Field by field medians of several runs (one per round); None without any."""
        if not runs:
            return None
        return DurableWork(*(statistics.median(getattr(r, name) for r in runs) for name in DurableWork.__annotations__))


def add_bench_task(core: Any, n: int, tag: str) -> None:
    """The ``n``-th add_task of 8 clients, with the arguments the durability benchmark's clients
    send, registered in ``core`` (ids ``BenchTask_<tag>_c<client>_<n>``)."""
    core.add_task(
        f"BenchTask_{tag}_c{n % 8}_{n}", now=1_000_000.0 + n, status="PENDING", runnable=True, deps=[],
        priority=n % 5, family="BenchTask", module="bench.tasks", params={"date": "2026-11-22", "n": str(n)},
        param_visibilities={"date": 0, "n": 0}, worker=f"bench-w{n % 8}",
    )  # fmt: skip


def _encoded_calls(calls: int) -> tuple[list[object], float]:
    """``calls`` add_task change sets as the benchmark's clients make them, encoded; and the
    CPU seconds the encoding took (the core's own work left out)."""
    from xrsched.core import Scheduler
    from xrsched.store import encode_changes

    core = Scheduler()
    core.track_changes(transitions_only=False)
    batches, encoding = [], 0.0
    for n in range(calls):
        add_bench_task(core, n, "work")
        started = time.thread_time()
        batches.append(encode_changes(core, core.take_changes()))
        encoding += time.thread_time() - started
    return batches, encoding


def _write_all(directory: Path, sync: str, batches: list[object], per_transaction: int) -> tuple[float, float, int]:
    """Write the batches ``per_transaction`` at a time into a new SQLite store: CPU and wall
    seconds of the writes, and how many transactions."""
    from xrsched.store import SQLiteStore
    from xrsched.store.base import Batch

    directory.mkdir(mode=0o700)
    store = SQLiteStore(directory / "state.sqlite3", sync="full" if sync == "full" else "normal", history_days=0)
    if sync == "off":
        store.db.execute("PRAGMA synchronous=OFF")
    groups = [batches[i : i + per_transaction] for i in range(0, len(batches), per_transaction)]
    merged = []
    for group in groups:
        batch = Batch()
        for part in group:
            batch.absorb(part)  # type: ignore[arg-type]
        merged.append(batch)
    try:
        cpu, wall = time.thread_time(), time.perf_counter()
        for batch in merged:
            store.write(batch)
        return time.thread_time() - cpu, time.perf_counter() - wall, len(merged)
    finally:
        store.close()
        shutil.rmtree(directory, ignore_errors=True)


def measure_work(directory: Path, per_transaction: float, calls: int = 600) -> DurableWork:
    """The irreducible work of ``calls`` durable add_task calls, ``per_transaction`` calls to a
    transaction (rounded; at least 1), in ``directory`` (on the servers' disk)."""
    group = max(1, round(per_transaction))
    batches, encoding = _encoded_calls(calls)
    unsynced, _, _ = _write_all(directory / "work-off", "off", batches, group)
    synced, wall, transactions = _write_all(directory / "work-full", "full", batches, group)
    return DurableWork(
        encode=encoding / calls * 1e6,
        sqlite=unsynced / calls * 1e6,
        sync=max(synced - unsynced, 0.0) / calls * 1e6,
        commit_wall=wall / transactions * 1e6,
        per_transaction=group,
    )
