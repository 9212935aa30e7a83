#!/usr/bin/env python3
"""Benchmark of the scheduling core (issue 2): xrsched's core against ``luigi.scheduler.Scheduler``.

Both schedulers run in this process, one after the other, on the same call sequences:

* ``runnable``:  N independent tasks, one worker; every pending task can run.
* ``blocked``:   N tasks in N/100 dependency lanes; only the lane heads (about 1 %) can run,
  the rest wait on a leaf or on another blocked task (half of them on two tasks).
* ``resources``: 50 workers (2 processes each) share N tasks that need ``db``, ``api`` or
  ``gpu`` (capacities 10, 25, 4); every worker holds the task it was last given, so about
  50 tasks run at any time and the resources are contended.

Registering the N tasks is not timed. A *cycle* is what a worker does per task: one
``get_work`` and one ``add_task(status="DONE")`` (in ``resources``, the worker reports the
task it was given on its previous turn, then asks again). Each cell times K cycles, repeated
(median of the repetitions), and reports microseconds per cycle, i.e. per two calls. The tasks
a repetition consumes are registered again (untimed) before the next, so the pending count
stays at N. Luigi's cost per cycle grows with N (about a second at 200k), so its cells run as
many cycles as fit in ``--luigi-budget`` seconds; the table says how many.

Memory: a fresh subprocess registers ``--memory-tasks`` tasks of a realistic shape (family,
two parameters, one dependency, one worker; every string a distinct object, as an RPC decoder
delivers them) and reports the growth of its resident set per task.

Run ``benchmarks/run_core.sh`` to build ``benchmarks/.venv-core`` (Luigi + xrsched) and run
this script there; xrsched itself never depends on Luigi. ``--no-luigi`` runs without Luigi.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # harness is a sibling module, also when this runs through runpy

from harness import write_block  # noqa: E402

BEGIN = "<!-- core:begin -->"
END = "<!-- core:end -->"

SHAPES = ("runnable", "blocked", "resources")
DEFAULT_SIZES = (1_000, 10_000, 50_000, 200_000)
QUICK_SIZES = (300, 2_000)

#: Targets from issue 2.
TARGET_SPEEDUP = 100.0
TARGET_SPEEDUP_AT = 50_000
TARGET_GROWTH = 2.0
TARGET_BYTES = 1536

#: Most repetitions of a cell without a time budget.
MAX_REPS = 99

perf = time.perf_counter


# --------------------------------------------------------------------------- backends


class XrschedCore:
    """xrsched's core, told the wall-clock time on every call (Luigi reads it itself)."""

    name = "xrsched"

    def __init__(self, resources: dict[str, int]) -> None:
        from xrsched.core import Scheduler, SchedulerConfig

        self.s = Scheduler(SchedulerConfig(), resources=dict(resources))

    def add_worker(self, worker: str, info: dict[str, Any]) -> None:
        self.s.add_worker(worker, info, now=time.time())

    def add_task(self, **kwargs: Any) -> None:
        self.s.add_task(now=time.time(), **kwargs)

    def get_work(self, worker: str) -> str | None:
        return self.s.get_work(worker=worker, now=time.time())["task_id"]

    def done(self, task_id: str, worker: str) -> None:
        self.s.add_task(task_id=task_id, worker=worker, status="DONE", now=time.time())


class LuigiCore:
    """``luigi.scheduler.Scheduler`` with its defaults: no task history, no metrics, and prune
    never called (luigid calls it from a timer; ``prune_on_get_work`` is off)."""

    name = "luigi"

    def __init__(self, resources: dict[str, int]) -> None:
        import luigi.scheduler as ls

        config = ls.scheduler(
            retry_delay=900.0,
            remove_delay=600.0,
            worker_disconnect_delay=60.0,
            record_task_history=False,
            prune_on_get_work=False,
            batch_emails=False,
        )
        self.s = ls.Scheduler(config=config, resources=dict(resources))

    def add_worker(self, worker: str, info: dict[str, Any]) -> None:
        self.s.add_worker(worker, info)

    def add_task(self, **kwargs: Any) -> None:
        self.s.add_task(**kwargs)

    def get_work(self, worker: str) -> str | None:
        return self.s.get_work(worker=worker)["task_id"]

    def done(self, task_id: str, worker: str) -> None:
        self.s.add_task(task_id=task_id, worker=worker, status="DONE")


Backend = XrschedCore | LuigiCore
BACKENDS: dict[str, type[XrschedCore] | type[LuigiCore]] = {"xrsched": XrschedCore, "luigi": LuigiCore}


def luigi_version() -> str | None:
    """Luigi's version if it can be imported here, else None."""
    try:
        import luigi
    except ImportError:
        return None
    return getattr(luigi, "__version__", "?")


# ----------------------------------------------------------------------------- shapes


class Shape:
    """A workload: the tasks to register and what one cycle does. One instance per run."""

    name = ""
    resources: dict[str, int] = {}
    workers: tuple[str, ...] = ("w0",)
    processes = 1

    def __init__(self, n: int) -> None:
        self.n = n
        self.next_index = 0
        self.consumed = 0
        self.handed = 0
        self.asked = 0

    def spec(self, i: int) -> dict[str, Any]:
        raise NotImplementedError

    def setup(self, b: Backend) -> None:
        for worker in self.workers:
            b.add_worker(worker, {"workers": self.processes})
        self.register(b, self.n)

    def register(self, b: Backend, count: int) -> None:
        add = b.add_task
        for i in range(self.next_index, self.next_index + count):
            add(**self.spec(i))
        self.next_index += count

    def refill(self, b: Backend) -> None:
        """Register as many new tasks as cycles consumed, so N stay pending."""
        self.register(b, self.consumed)
        self.consumed = 0

    def prewarm(self, b: Backend) -> None:
        """Untimed preparation after setup."""

    def cycle(self, b: Backend) -> None:
        worker = self.workers[0]
        task_id = b.get_work(worker)
        self.asked += 1
        if task_id is None:
            raise RuntimeError(f"{b.name}/{self.name}: get_work handed out nothing")
        self.handed += 1
        b.done(task_id, worker)
        self.consumed += 1


class Runnable(Shape):
    name = "runnable"

    def spec(self, i: int) -> dict[str, Any]:
        return {
            "task_id": f"Run_{i:09d}",
            "worker": "w0",
            "family": "Run",
            "params": {"i": str(i)},
            "priority": (i * 7) % 5,
        }


class Blocked(Shape):
    """Lanes of tasks: task i waits for task i - lanes (and, in even lanes, the next lane's
    task of the previous layer). Registered in index order, so only lane heads are ready."""

    name = "blocked"

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.lanes = max(2, n // 100)

    @staticmethod
    def tid(i: int) -> str:
        return f"Blk_{i:09d}"

    def spec(self, i: int) -> dict[str, Any]:
        lanes = self.lanes
        layer, lane = divmod(i, lanes)
        deps: list[str] = []
        if layer:
            deps.append(self.tid(i - lanes))
            if lane % 2 == 0:
                deps.append(self.tid((layer - 1) * lanes + (lane + 1) % lanes))
        return {
            "task_id": self.tid(i),
            "worker": "w0",
            "family": "Blk",
            "params": {"i": str(i)},
            "deps": deps,
            "priority": 0,
        }


class Resources(Shape):
    name = "resources"
    resources = {"db": 10, "api": 25, "gpu": 4}
    workers = tuple(f"w{k:02d}" for k in range(50))
    processes = 2
    needs = ({"db": 1}, {"api": 1}, {"db": 1, "api": 2}, {"gpu": 1})
    families = ("Load", "Query", "Join", "Train")

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.held: dict[str, str | None] = dict.fromkeys(self.workers)
        self.turn = 0

    def spec(self, i: int) -> dict[str, Any]:
        workers = self.workers
        kind = (i // len(workers)) % len(self.needs)
        return {
            "task_id": f"Res_{i:09d}",
            "worker": workers[i % len(workers)],
            "family": self.families[kind],
            "params": {"i": str(i)},
            "resources": dict(self.needs[kind]),
            "priority": (i * 7919) % 10,
        }

    def prewarm(self, b: Backend) -> None:
        for worker in self.workers:
            self.held[worker] = b.get_work(worker)
            if self.held[worker] is not None:
                self.consumed += 1

    def cycle(self, b: Backend) -> None:
        worker = self.workers[self.turn % len(self.workers)]
        self.turn += 1
        held = self.held[worker]
        if held is not None:
            b.done(held, worker)
        task_id = b.get_work(worker)
        self.held[worker] = task_id
        self.asked += 1
        if task_id is not None:
            self.handed += 1
            self.consumed += 1


SHAPE_CLASSES: dict[str, type[Shape]] = {cls.name: cls for cls in (Runnable, Blocked, Resources)}


# -------------------------------------------------------------------------- measuring


@dataclass
class Cell:
    """One measurement: a backend on a shape at a size."""

    us: float | None = None
    cycles: int = 0
    reps: int = 0
    setup_s: float = 0.0
    handed: float | None = None
    note: str = ""


def plan(probe_s: float, cycles: int, reps: int, budget_s: float | None) -> tuple[int, int]:
    """How many cycles per repetition and repetitions fit in ``budget_s`` at ``probe_s`` each."""
    if budget_s is None or probe_s <= 0:
        return cycles, reps
    affordable = int(budget_s / probe_s)
    if affordable >= cycles * reps:
        return cycles, reps
    if affordable >= 3 * reps:
        return affordable // reps, reps
    return 1, max(1, min(reps, affordable))


def measure(
    backend_cls: type[XrschedCore] | type[LuigiCore],
    shape_name: str,
    n: int,
    cycles: int,
    reps: int,
    budget_s: float | None,
    min_time_s: float = 0.0,
) -> Cell:
    shape = SHAPE_CLASSES[shape_name](n)
    b = backend_cls(shape.resources)
    start = perf()
    shape.setup(b)
    cell = Cell(setup_s=perf() - start)
    shape.prewarm(b)
    gc.collect()
    start = perf()
    shape.cycle(b)  # warm-up and cost probe
    probe = perf() - start
    warm = 0
    while warm < 20 and perf() - start < 0.05 and warm < cycles:
        shape.cycle(b)
        warm += 1
    shape.refill(b)
    k, r = plan(probe, cycles, reps, budget_s)
    if budget_s is not None and probe > budget_s / 1.5:
        cell.us, cell.cycles, cell.reps = probe * 1e6, 1, 1
        cell.note = "1 cycle: one call pair exceeds the budget"
    else:
        # Without a budget (xrsched), repeat until min_time_s of cycles were timed: one
        # repetition lasts milliseconds, and the median of many shrugs off a busy neighbour.
        samples: list[float] = []
        timed = 0.0
        shape.asked = shape.handed = 0
        gc.collect()
        while len(samples) < r or (budget_s is None and timed < min_time_s and len(samples) < MAX_REPS):
            t0 = perf()
            for _ in range(k):
                shape.cycle(b)
            elapsed = perf() - t0
            samples.append(elapsed / k)
            timed += elapsed
            shape.refill(b)
        cell.us, cell.cycles, cell.reps = statistics.median(samples) * 1e6, k, len(samples)
    if shape.asked:
        cell.handed = shape.handed / shape.asked
    del b, shape
    gc.collect()
    return cell


# ---------------------------------------------------------------------------- memory


def rss_bytes() -> int:
    """Current resident set size of this process."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def available_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def fresh(text: str) -> str:
    """A new string object equal to ``text`` (an RPC decoder hands out new strings)."""
    return text.encode().decode()


def shared(text: str) -> str:
    """``text`` itself: one object for every task (as if the decoder interned strings)."""
    return text


def memory_id(i: int) -> str:
    return f"Ingest_2024_{i:07d}_{(i * 2654435761) & 0xFFFFFFFFFF:010x}"


def memory_specs(n: int, share: bool = False) -> Iterator[dict[str, Any]]:
    """Tasks as a Luigi worker registers them: family, two parameters, one dependency, one worker.

    Every string is a new object, as an RPC decoder delivers it; with ``share``, the strings
    that repeat from task to task (worker, family, module, parameter names) are one object.
    """
    fresh_ = shared if share else fresh
    for i in range(n):
        yield {
            "task_id": memory_id(i),
            "worker": fresh_("worker-1"),
            "family": fresh_("Ingest"),
            "module": fresh_("pipeline.ingest"),
            "params": {fresh_("date"): f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", fresh_("part"): str(i)},
            "deps": [memory_id(i // 2)] if i else [],
            "priority": 0,
        }


def memory_probe(backend: str, n: int) -> dict[str, Any]:
    """Register ``n`` tasks in this (fresh) process; report resident-set growth.

    ``backend`` is ``xrsched`` or ``luigi``, with ``+shared`` for :func:`memory_specs`' ``share``.
    """
    name, _, variant = backend.partition("+")
    b = BACKENDS[name]({})
    b.add_worker("worker-1", {"workers": 1})
    gc.collect()
    before = rss_bytes()
    start = perf()
    for spec in memory_specs(n, share=variant == "shared"):
        b.add_task(**spec)
    elapsed = perf() - start
    gc.collect()
    after = rss_bytes()
    return {"backend": backend, "n": n, "bytes": after - before, "seconds": elapsed}


def run_memory_probe(backend: str, n: int, timeout: float) -> dict[str, Any] | str:
    """Run :func:`memory_probe` in a fresh interpreter; its result, or why it failed."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-probe", backend, str(n)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if proc.returncode != 0:
        return f"failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- report


def machine_line(with_luigi: bool) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    import xrsched

    lv = luigi_version() if with_luigi else None
    parts = [
        f"CPU: {cpu}",
        f"{cores} cores",
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        f"xrsched {xrsched.__version__}",
        f"luigi {lv}" if lv else "luigi not run",
        time.strftime("%Y-%m-%d"),
    ]
    return "Machine: " + ", ".join(parts) + "."


def fmt_us(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}\u00d7"
    return f"{value:.2f}\u00d7"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


@dataclass
class Results:
    sizes: list[int]
    shapes: list[str]
    cycles: int
    reps: int
    cells: dict[tuple[str, str, int], Cell]
    luigi: bool
    memory: dict[str, dict[str, Any] | str]
    machine: str
    min_time: float = 0.0
    luigi_budget: float = 0.0
    seconds: float = 0.0


def render(res: Results) -> str:
    out = [res.machine, ""]
    out.append(
        "\u00b5s per cycle: one cycle is one `get_work` plus one `add_task(status=DONE)`, so two "
        "calls (per call \u2248 half). Each figure is the median over repetitions of a timed block "
        f"of cycles; xrsched repeats {res.cycles}-cycle blocks (at least {res.reps}, until "
        f"{res.min_time:g} s were timed), Luigi runs {res.reps} blocks of up to {res.cycles} cycles, as "
        f"many as fit in {res.luigi_budget:g} s. Last column: repetitions \u00d7 cycles per block."
    )
    out.append("")
    out.append(
        "| shape | pending tasks | xrsched \u00b5s/cycle | Luigi \u00b5s/cycle | Luigi \u00f7 xrsched "
        "| timed (xrsched; Luigi) |"
    )
    out.append("|---|---:|---:|---:|---:|---|")
    for shape in res.shapes:
        for n in res.sizes:
            x = res.cells.get(("xrsched", shape, n), Cell())
            timed = f"{x.reps} \u00d7 {x.cycles}" if x.us is not None else "\u2014"
            if res.luigi:
                lc = res.cells.get(("luigi", shape, n), Cell(note="not run"))
                l_us = fmt_us(lc.us) if lc.us is not None else (lc.note or "n/a")
                if lc.us is not None:
                    timed += f"; {lc.reps} \u00d7 {lc.cycles}"
                    if lc.note:
                        timed += f" ({lc.note})"
                rel = fmt_ratio(ratio(lc.us, x.us))
            else:
                l_us, rel = "not run", "n/a"
            out.append(f"| {shape} | {n:,} | {fmt_us(x.us)} | {l_us} | {rel} | {timed} |")
    out.append("")

    lo, hi = min(res.sizes), max(res.sizes)
    growth = {
        s: ratio(res.cells.get(("xrsched", s, hi), Cell()).us, res.cells.get(("xrsched", s, lo), Cell()).us)
        for s in res.shapes
    }
    if hi != lo:
        items = ", ".join(f"{s} {fmt_ratio(g)}" for s, g in growth.items())
        out.append(f"- xrsched per-cycle cost at {hi:,} \u00f7 at {lo:,} pending tasks: {items}.")
    handed = []
    for shape in res.shapes:
        if shape != "resources":
            continue
        for backend in ("xrsched", "luigi"):
            vals = [c.handed for (bk, s, _), c in res.cells.items() if bk == backend and s == shape and c.handed]
            if vals:
                handed.append(f"{backend} {100 * statistics.mean(vals):.0f} %")
    if handed:
        out.append(
            "- `resources`: share of `get_work` calls that handed out a task (the rest found every "
            f"task of that worker blocked by resources or held back for others): {', '.join(handed)}."
        )

    mem_x = res.memory.get("xrsched")
    mem_s = res.memory.get("xrsched+shared")
    mem_l = res.memory.get("luigi")
    if mem_x is not None or mem_l is not None:
        parts = []
        for name, m in (("xrsched", mem_x), ("Luigi", mem_l)):
            if isinstance(m, dict):
                parts.append(
                    f"{name} {m['bytes'] / m['n']:,.0f} B/task at {m['n']:,} tasks "
                    f"({m['bytes'] / 2**20:,.0f} MiB, registered in {m['seconds']:.0f} s)"
                )
            elif isinstance(m, str):
                parts.append(f"{name}: {m}")
        out.append(
            "- Memory (resident-set growth while registering tasks with a family, a module, two "
            "parameters, one dependency and one worker, every string a new object as an RPC decoder "
            "delivers it; a fresh process each): " + "; ".join(parts) + "."
        )
        if isinstance(mem_s, dict):
            out.append(
                f"  - xrsched with the repeated strings (worker, family, module, parameter names) "
                f"shared between tasks, as if interned: {mem_s['bytes'] / mem_s['n']:,.0f} B/task."
            )

    checks = []
    if TARGET_SPEEDUP_AT in res.sizes and res.luigi:
        for s in res.shapes:
            r = ratio(
                res.cells.get(("luigi", s, TARGET_SPEEDUP_AT), Cell()).us,
                res.cells.get(("xrsched", s, TARGET_SPEEDUP_AT), Cell()).us,
            )
            if r is not None:
                mark = "met" if r >= TARGET_SPEEDUP else "MISSED"
                checks.append(f"{s} {fmt_ratio(r)} Luigi's speed at {TARGET_SPEEDUP_AT:,} ({mark})")
    if hi != lo:
        for s, g in growth.items():
            if g is not None:
                mark = "met" if g <= TARGET_GROWTH else "MISSED"
                checks.append(f"{s} {hi:,}/{lo:,} = {fmt_ratio(g)} ({mark})")
    if isinstance(mem_x, dict):
        per = mem_x["bytes"] / mem_x["n"]
        checks.append(f"{per:,.0f} B/task ({'met' if per <= TARGET_BYTES else 'MISSED'})")
    if checks:
        out.append(
            f"- Targets (issue 2: \u2265 {TARGET_SPEEDUP:.0f}\u00d7 Luigi at {TARGET_SPEEDUP_AT:,}, "
            f"\u2264 {TARGET_GROWTH:.0f}\u00d7 growth from {lo:,} to {hi:,}, "
            f"\u2264 {TARGET_BYTES / 1024:.1f} KiB/task): " + "; ".join(checks) + "."
        )
    out.append(f"- Whole run: {res.seconds / 60:.1f} min.")
    return "\n".join(out) + "\n"


README_STUB = """# xrsched benchmarks

## Core

See `benchmarks/core.py` (run with `benchmarks/run_core.sh`).

"""


def write_readme(path: Path, body: str) -> None:
    """Put ``body`` between the core markers of ``path`` (creating the file or markers)."""
    write_block(path, BEGIN, END, f"{BEGIN}\n{body}{END}", stub=README_STUB)


# ------------------------------------------------------------------------------- main


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        factor = 1
        if part.endswith("k"):
            factor, part = 1_000, part[:-1]
        elif part.endswith("m"):
            factor, part = 1_000_000, part[:-1]
        sizes.append(int(float(part) * factor))
    return sorted(set(sizes))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", type=parse_sizes, help="pending-task counts, e.g. 1k,10k,50k,200k (default)")
    p.add_argument("--shapes", help=f"comma-separated subset of {','.join(SHAPES)} (default: all)")
    p.add_argument("--cycles", type=int, help="cycles per repetition (default 200; --quick 50)")
    p.add_argument("--reps", type=int, help="repetitions, the median is reported (default 3; --quick 2)")
    p.add_argument(
        "--min-time",
        type=float,
        help="xrsched: repeat until this many seconds were timed per cell (default 0.5; --quick 0)",
    )
    p.add_argument("--luigi-budget", type=float, default=20.0, help="seconds of timed Luigi cycles per cell")
    p.add_argument(
        "--deadline",
        type=float,
        default=840.0,
        help="seconds the whole run should stay within (Luigi's memory probe shrinks to fit)",
    )
    p.add_argument(
        "--luigi-total",
        type=float,
        default=540.0,
        help="wall-clock seconds for all Luigi cells; later cells are skipped past it",
    )
    p.add_argument("--memory-tasks", type=parse_sizes, help="tasks for the memory probe (default 1m; --quick 20k)")
    p.add_argument("--no-memory", action="store_true", help="skip the memory probe")
    p.add_argument("--no-luigi", action="store_true", help="measure xrsched only (Luigi need not be installed)")
    p.add_argument("--quick", action="store_true", help="small sizes and few cycles: a smoke test")
    p.add_argument("--write", action="store_true", help="write the results into benchmarks/README.md")
    p.add_argument("--readme", type=Path, default=HERE / "README.md", help=argparse.SUPPRESS)
    p.add_argument("--memory-probe", nargs=2, metavar=("BACKEND", "N"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.sizes = args.sizes or list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    args.shapes = [s.strip() for s in args.shapes.split(",")] if args.shapes else list(SHAPES)
    for s in args.shapes:
        if s not in SHAPE_CLASSES:
            p.error(f"unknown shape {s!r} (choose from {', '.join(SHAPES)})")
    args.cycles = args.cycles or (50 if args.quick else 200)
    args.reps = args.reps or (2 if args.quick else 5)
    if args.min_time is None:
        args.min_time = 0.0 if args.quick else 0.5
    mem = args.memory_tasks or [20_000 if args.quick else 1_000_000]
    args.memory_tasks = mem[0]
    return args


def ensure_xrsched() -> None:
    try:
        import xrsched.core  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_xrsched()
    if args.memory_probe:
        backend, n = args.memory_probe
        print(json.dumps(memory_probe(backend, int(n))))
        return 0
    use_luigi = not args.no_luigi
    if use_luigi and luigi_version() is None:
        log("luigi is not importable here: run benchmarks/run_core.sh, or pass --no-luigi")
        return 2

    started = perf()
    cells: dict[tuple[str, str, int], Cell] = {}
    luigi_spent = 0.0
    luigi_setup_rate: float | None = None  # seconds per registered task, measured
    for n in args.sizes:
        for shape in args.shapes:
            cell = measure(XrschedCore, shape, n, args.cycles, args.reps, None, args.min_time)
            cells[("xrsched", shape, n)] = cell
            log(f"xrsched {shape:9} {n:>9,}: {fmt_us(cell.us):>10} us/cycle (setup {cell.setup_s:.1f} s)")
            if not use_luigi:
                continue
            estimate = (luigi_setup_rate or 0.0) * n * 1.5 + args.luigi_budget
            if luigi_spent + estimate > args.luigi_total:
                cells[("luigi", shape, n)] = Cell(note="skipped (time)")
                log(f"luigi   {shape:9} {n:>9,}: skipped (time)")
                continue
            t0 = perf()
            cell = measure(LuigiCore, shape, n, args.cycles, args.reps, args.luigi_budget)
            luigi_spent += perf() - t0
            luigi_setup_rate = max(luigi_setup_rate or 0.0, cell.setup_s / n)
            cells[("luigi", shape, n)] = cell
            log(
                f"luigi   {shape:9} {n:>9,}: {fmt_us(cell.us):>10} us/cycle "
                f"({cell.reps}x{cell.cycles}, setup {cell.setup_s:.1f} s)"
            )

    memory: dict[str, dict[str, Any] | str] = {}
    if not args.no_memory:
        n = args.memory_tasks
        for variant in ("xrsched", "xrsched+shared"):
            memory[variant] = run_memory_probe(variant, n, timeout=600)
            log(f"memory  {variant} {n:,}: {memory[variant]}")
        if use_luigi:
            # Luigi keeps several kB per task: measure at 200k instead if the full count would
            # not fit in memory or in the time left before --deadline.
            fallback = min(n, 200_000)
            avail = available_bytes()
            remaining = args.deadline - (perf() - started)
            rate = luigi_setup_rate or 1e-4  # seconds per registered task, from the cells
            n_l = n
            if (avail is not None and n * 6000 > avail * 0.6) or rate * n * 2 > remaining:
                n_l = fallback
            result = run_memory_probe("luigi", n_l, timeout=max(60.0, remaining))
            if isinstance(result, str) and n_l > fallback:
                log(f"memory  luigi {n_l:,}: {result}; trying {fallback:,}")
                n_l = fallback
                remaining = args.deadline - (perf() - started)
                result = run_memory_probe("luigi", n_l, timeout=max(60.0, remaining))
            memory["luigi"] = result
            log(f"memory  luigi {n_l:,}: {memory['luigi']}")

    res = Results(
        sizes=args.sizes,
        shapes=args.shapes,
        cycles=args.cycles,
        reps=args.reps,
        cells=cells,
        luigi=use_luigi,
        memory=memory,
        machine=machine_line(use_luigi),
        min_time=args.min_time,
        luigi_budget=args.luigi_budget,
        seconds=perf() - started,
    )
    text = render(res)
    print(text)
    if args.write:
        write_readme(args.readme, text)
        log(f"wrote {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
