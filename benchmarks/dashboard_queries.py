#!/usr/bin/env python3
"""Benchmark of the dashboard's read methods in the core: ``overview``, ``task_page``, ``task_info``.

One scheduler holds N tasks (default 100,000) of 20 families plus one rare family of 10 old
tasks, two parameters each, in a realistic status mix (about 60 % DONE, 25 % PENDING, 10 %
FAILED, 5 % RUNNING), each registered at its own time so ``last_updated`` differs. Each query
is timed as the median of ``--reps`` calls, in milliseconds; the first ``overview`` (which
builds the listing indexes) and the first search (which fills the search-text cache) are
reported apart. The last rows are the price the indexes put on workers: microseconds per
worker cycle (``get_work`` + ``add_task(DONE)``) without and with the indexes built.

``--write`` puts the table into benchmarks/README.md between its ``dashboard-queries`` markers.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import write_block

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BEGIN = "<!-- dashboard-queries:begin -->"
END = "<!-- dashboard-queries:end -->"
FAMILIES = 20
perf = time.perf_counter


def build(n: int) -> tuple[Any, float]:
    """A scheduler with ``n`` tasks in the status mix above, and the clock after the last call."""
    sys.path.insert(0, str(REPO))
    from xrsched.core import Scheduler, SchedulerConfig

    s = Scheduler(SchedulerConfig(worker_disconnect_delay=10**9, remove_delay=10**9, retry_delay=10**9))
    now = 1_000_000.0
    for i in range(10):
        s.add_task(task_id=f"Rare_{i}", family="Rare", params={"i": str(i)}, worker="w0", now=now)
        now += 0.001
    for i in range(n):
        family = f"Family{i % FAMILIES}"
        roll = (i // FAMILIES) % 20  # every family gets the whole status mix
        status = "DONE" if roll < 12 else "FAILED" if roll < 14 else "PENDING"
        s.add_task(
            task_id=f"{family}_{i}",
            family=family,
            params={"day": f"2026-01-{1 + i % 28:02}", "n": str(i)},
            status=status,
            worker=f"w{i % 50}",
            now=now,
        )
        now += 0.001
    for w in range(n // 20):
        s.get_work(worker=f"w{w % 50}", host="h", now=now)
        now += 0.001
    return s, now


def median_ms(call: Callable[[], Any], reps: int) -> str:
    """Median wall and CPU time of ``reps`` calls, in milliseconds (the machine is shared: CPU
    time says what the call costs, wall time what a caller waited)."""
    wall, cpu = [], []
    for _ in range(reps):
        start, start_cpu = perf(), time.process_time()
        call()
        wall.append((perf() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return f"{statistics.median(wall):.2f} / {statistics.median(cpu):.2f}"


def once_ms(call: Callable[[], Any]) -> str:
    """Wall and CPU time of one call, in milliseconds."""
    return median_ms(call, 1)


def cycles_us(s: Any, now: float, count: int) -> tuple[float, float]:
    """CPU microseconds per worker cycle (get_work, then add_task DONE); returns the clock too."""
    start = time.process_time()
    for i in range(count):
        reply = s.get_work(worker=f"w{i % 50}", host="h", now=now)
        task_id = reply.get("task_id")
        if task_id:
            s.add_task(task_id=task_id, worker=f"w{i % 50}", status="DONE", now=now)
        now += 0.001
    return (time.process_time() - start) / count * 1e6, now


def measure(n: int, reps: int, cycles: int) -> list[tuple[str, str]]:
    """The table's rows: (what, figure)."""
    s, now = build(n)
    rows: list[tuple[str, str]] = []
    before, now = cycles_us(s, now, cycles)
    rows.append(("first `overview` (builds the indexes)", once_ms(lambda: s.overview(now=now))))
    after, now = cycles_us(s, now, cycles)
    queries: list[tuple[str, Callable[[], Any]]] = [
        ("`overview`", lambda: s.overview(now=now)),
        ("`task_page()` first page of 50", lambda: s.task_page(now=now)),
        ("`task_page(offset=50000)`", lambda: s.task_page(offset=min(50_000, n // 2), now=now)),
        ("`task_page(status=FAILED)`", lambda: s.task_page(status="FAILED", now=now)),
        ("`task_page(family=Family7)`", lambda: s.task_page(family="Family7", now=now)),
        ("`task_page(status=PENDING, family=Family7)`", lambda: s.task_page("PENDING", "Family7", now=now)),
        ("`task_page(family=Rare)` (10 oldest tasks: a full walk)", lambda: s.task_page(family="Rare", now=now)),
        ("`task_page(limit=500)`", lambda: s.task_page(limit=500, now=now)),
    ]
    for label, call in queries:
        rows.append((label, median_ms(call, reps)))
    search = "2026-01-07 family2"
    total = s.task_page(search=search, limit=0, now=now)["total"]
    s.listing = None  # a cold text cache for the first search
    s.overview(now=now)
    rows.append(
        (
            f"first `task_page(search={search!r})` (fills the text cache)",
            once_ms(lambda: s.task_page(search=search, now=now)),
        )
    )
    rows.append(
        (
            f"`task_page(search={search!r})` ({total} matches)",
            median_ms(lambda: s.task_page(search=search, now=now), reps),
        )
    )
    rows.append(
        (
            "`task_page(search='family')` (every task matches)",
            median_ms(lambda: s.task_page(search="family", now=now), reps),
        )
    )
    rows.append(
        (
            "`task_page(status=FAILED, search='family2')`",
            median_ms(lambda: s.task_page("FAILED", None, "family2", now=now), reps),
        )
    )
    rows.append(("`task_info`", median_ms(lambda: s.task_info("Family7_7", now=now), reps)))
    rows.append(("worker cycle (`get_work` + `add_task(DONE)`), indexes not built", f"CPU {before:.1f} µs"))
    rows.append(("worker cycle (`get_work` + `add_task(DONE)`), indexes built", f"CPU {after:.1f} µs"))
    return rows


def render(n: int, rows: list[tuple[str, str]]) -> str:
    """A markdown table with the machine line under it."""
    lines = [
        f"Dashboard queries at {n:,} tasks (`benchmarks/dashboard_queries.py`):",
        "",
        "| query | ms: wall / CPU |",
        "|---|---|",
    ]
    lines += [f"| {label} | {figure} |" for label, figure in rows]
    lines += ["", f"Machine: Python {platform.python_version()}, {platform.machine()}, load {_load()}."]
    return "\n".join(lines)


def _load() -> str:
    try:
        with open("/proc/loadavg") as handle:
            return handle.read().split()[0]
    except OSError:
        return "unknown"


def write_readme(path: Path, body: str) -> None:
    """Replace the text between the markers (appending a section with them if missing)."""
    block = f"{BEGIN}\n{body}\n{END}"
    write_block(path, BEGIN, END, block, appended=f"## Dashboard queries\n\n{block}")


def main(argv: list[str] | None = None) -> int:
    """Measure, print, and optionally write the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks in the scheduler (default 100000)")
    parser.add_argument("--reps", type=int, default=7, help="calls per query, the median is reported")
    parser.add_argument("--cycles", type=int, default=2000, help="worker cycles timed with and without the indexes")
    parser.add_argument("--write", action="store_true", help="write the table into benchmarks/README.md")
    parser.add_argument("--readme", type=Path, default=HERE / "README.md", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    body = render(args.tasks, measure(args.tasks, args.reps, args.cycles))
    print(body)
    if args.write:
        write_readme(args.readme, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
