"""End-to-end benchmark: 2,000 trivial tasks, 4 worker processes, xrsched over TLS vs luigid.

One run, side by side, for two graph shapes:

* **chain**: task ``i`` needs task ``i - 1`` (2,000 links): one task can run at a time, so this
  measures the round trip per task (report DONE, get the next task);
* **fan-in**: one task needing 1,999 independent leaves: four run at a time.

Systems:

* **xrsched**: the real ``xrsched-server`` (TLS, worker-role bearer token, audit log, SQLite
  state with its default ``sync = full``: every change on disk before its reply) and the
  real ``xrsched run --workers 4`` (one worker process, four child processes);
* **xrsched (sync normal)**: the same with ``--sync normal`` (a change survives a crash of the
  server process, not a power cut), closer to what luigid promises (it keeps state in memory and
  pickles it on shutdown);
* **luigid**: Luigi's ``luigid`` over plain HTTP and Luigi's ``luigi --workers 4``;
* **Luigi workers -> xrsched** (``--only luigi-xrsched``): the same ``luigi`` command and tasks
  as the luigid row, pointed at the same server as the xrsched row (TLS, worker token, audit log,
  SQLite state with ``sync = full``) through luigid's ``/api/`` with ``--scheduler-url
  https://ID:SECRET@127.0.0.1:PORT/`` and the CA in ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE``
  (Luigi uses ``requests`` if installed, else ``urllib``; the machine line says which): what a
  team gains by changing only its scheduler URL. Its targets: 1.5x luigid's tasks/s below
  10,000 tasks, 5x from 10,000 (where luigid's O(n) ``get_work`` dominates);
* **Luigi workers -> xrsched (sync normal)** (``--only luigi-xrsched-normal``): the same with the
  server at ``--sync normal``. Luigi's worker sends its calls one after another, so under
  ``sync = full`` every registration and report waits for its own fsync; this row shows what that
  durability costs Luigi's worker (luigid itself keeps its state in memory). Not a target row;
* **Luigi workers, --local-scheduler** (``--only luigi-local``): the same ``luigi`` command with
  Luigi's in-process scheduler (no server, no HTTP, no TLS, no state on disk). Not a target row:
  it is Luigi's worker alone, so the tasks/s no remote scheduler can exceed with that worker;
* **requests only (no tasks)**, chain only: the requests a worker sends for a chain (one per
  task: ``add_task`` DONE with the task's fields, then ``get_work``), sent back to back from
  the benchmark itself to the ``--sync full`` server, with no child process and no task code.
  Its tasks/s is what a chain could reach if running a task cost nothing (start-up excluded):
  the ceiling the real ``xrsched`` row is measured against. It is not judged by the targets.

Each task writes a one-byte output file and appends its start and end times to a log. The file is
written the same way on both sides: atomically (temporary file, rename) and without fsync, as
Luigi's ``LocalTarget`` does (xrsched's fsyncs by default; the benchmark asks for
``durable=False``). The xrsched server still makes its own state durable as configured. Measured:
*first task* = the first task's start minus the moment the worker command was launched (it
includes interpreter start-up, walking the graph and registering it); *wall* = launch to exit;
*tasks/s* = 2,000 / wall. Every run uses a fresh server and output directory, and starts after
``os.sync()``, so no run pays for the writes an earlier one left in the page cache.

A single run varies by 20-30 % on a shared machine (luigid's as much as ours), so each cell is
run ``--reps`` times (3 by default), the systems taking turns within each repetition, and the
table shows medians: tasks/s is the median of the runs' rates and *vs luigid* the median of
the ratios within each repetition; the range of the rates is shown beside them.

Each run's line also gives its tasks/s by tenths of its tasks (in the order they ended), and with
several ``--tasks`` sizes the comparison gives their medians per size. ``--out-dir DIR`` puts the
tasks' outputs (and ``runs.log``) in DIR, e.g. ``/dev/shm``, instead of the system's temporary
directory; the server's state stays there. On a file system whose cost of creating a file
changes during a run (ext4 without a journal, after many deletions: benchmarks/README.md, "Flat
with graph size: why"), that cost would otherwise weigh differently on runs of different sizes;
the machine line says which file system the outputs were on.

Run through ``benchmarks/run_e2e.sh`` (makes ``benchmarks/.venv-e2e`` with luigi; xrsched never
depends on luigi). ``--only xrsched`` needs no luigi. ``--write`` puts the table into
benchmarks/README.md between the markers of ``--block`` (``e2e`` by default; ``e2e-luigi`` for
the luigid / luigi-xrsched comparison).

``--gc-probe`` starts xrsched's server through ``gc_probe.py``: each run's line then shows the
server's garbage collections (full passes and their CPU time, the younger ones, what is frozen).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from e2e_tenths import filesystem, tenth_rates
from gc_probe import ENV as GC_PROBE_ENV
from gc_probe import describe, read
from harness import free_port, machine_info, machine_line, write_block

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
#: README blocks ``--write`` may fill: name -> heading. Each sits between ``<!-- NAME:begin -->``
#: and ``<!-- NAME:end -->``, so a run of a few rows does not replace the table of all of them.
BLOCKS = {
    "e2e": "End to end",
    "e2e-luigi": "End to end: Luigi workers, luigid or xrsched",
    "e2e-luigi-10k": "End to end: Luigi workers, luigid or xrsched, 10,000 tasks",
}
BIN = Path(sys.executable).parent
TARGET_RATIO = 10.0
#: The row of :func:`run_luigi_xrsched`: Luigi's own worker, xrsched as its scheduler.
LUIGI_XRSCHED = "Luigi workers -> xrsched"
#: The same at ``--sync normal`` (not judged against the targets).
LUIGI_XRSCHED_NORMAL = "Luigi workers -> xrsched (sync normal)"
#: The row of :func:`run_luigi_local`: Luigi's in-process scheduler, the floor of any remote one.
LUIGI_LOCAL = "Luigi workers, --local-scheduler"
#: What ``--only`` can name.
SYSTEMS = ("xrsched", "xrsched-normal", "requests-only", "luigi-xrsched", "luigi-xrsched-normal", "luigi-local",
           "luigid")  # fmt: skip
#: The row of :func:`run_requests_only` (not judged against the targets).
CEILING = "requests only (no tasks)"
TARGET_FIRST = 0.5
#: Targets of the Luigi-workers row: luigid's ``get_work`` is O(n), so the gap grows with n.
LUIGI_TARGET_RATIO = 1.5
LUIGI_TARGET_RATIO_LARGE = 5.0
LUIGI_LARGE = 10_000


def luigi_target_ratio(tasks: int) -> float:
    """The tasks/s ratio over luigid the Luigi-workers row must reach at this many tasks."""
    return LUIGI_TARGET_RATIO_LARGE if tasks >= LUIGI_LARGE else LUIGI_TARGET_RATIO


@dataclass
class Result:
    system: str
    shape: str
    tasks: int
    first: float
    wall: float
    code: int
    #: The graph's size as asked (``tasks`` is the number that ran).
    planned: int = 0
    #: Seconds from the first task's start to the last task's end (NaN when unknown).
    running: float = float("nan")
    #: Tasks/s over each tenth of the tasks, in the order they ended (see :func:`tenth_rates`).
    tenths: tuple[float, ...] = ()
    #: The server's garbage-collector passes (``--gc-probe``; empty without).
    gc: str = ""

    @property
    def rate(self) -> float:
        return self.tasks / self.wall if self.wall else 0.0

    @property
    def running_rate(self) -> float:
        """Tasks/s while tasks run: start-up (interpreter, walk, registration) and the worker's
        exit left out, so that sizes compare by what grows with the graph."""
        return self.tasks / self.running if self.running > 0 else float("nan")


#: Seconds a worker command may run (``--timeout``); then it is stopped and its row shows the
#: tasks run so far, exit :data:`TIMED_OUT`, and the rate up to then.
RUN_TIMEOUT = [1800.0]
TIMED_OUT = 124
#: Where the tasks' outputs and ``runs.log`` go (``--out-dir``): None for the run's own temporary
#: directory (next to the server's state), else a directory of that name inside this one.
OUT_DIR: list[Path | None] = [None]
#: ``--gc-probe``: start the server through ``gc_probe.py``, which times its collector's passes.
GC_PROBE = [False]


def task_root(work: Path) -> Path:
    """The directory a run's tasks write into (the ``--root`` parameter of the benchmark tasks)."""
    return work / "out" if OUT_DIR[0] is None else OUT_DIR[0] / work.name


def run_bounded(args: list[str], env: dict[str, str], cwd: Path) -> int:
    """Run a worker command in its own process group; past ``RUN_TIMEOUT`` stop the whole group
    (Luigi's and xrsched's task processes too) and return :data:`TIMED_OUT`."""
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        return proc.wait(RUN_TIMEOUT[0])
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return TIMED_OUT


def task_args(shape: str, tasks: int, root: Path) -> list[str]:
    if shape == "chain":
        return ["Chain", "--root", str(root), "--i", str(tasks - 1)]
    return ["FanIn", "--root", str(root), "--leaves", str(tasks - 1)]


def measure(root: Path, launched: float, finished: float, system: str, shape: str, code: int,
            planned: int) -> Result:  # fmt: skip
    lines = (root / "runs.log").read_text().split() if (root / "runs.log").exists() else []
    starts = [float(v) for v in lines[0::2]]
    ends = [float(v) for v in lines[1::2]]
    running = (max(ends) - min(starts)) if starts and ends else float("nan")
    return Result(system, shape, len(starts), (min(starts) - launched) if starts else float("nan"),
                  finished - launched, code, planned, running, tuple(tenth_rates(starts, ends)))  # fmt: skip


def run_order(
    shapes: list[str], reps: int, sizes: list[int], systems: list[str]
) -> Iterator[tuple[str, int, int, str]]:
    """(shape, repetition, size, system) in the order the runs are made: with one size, every
    repetition of a shape before the next shape; with several, the sizes take turns within each
    repetition (and the shapes within each size), so a slow spell of the machine hits them alike."""
    if len(sizes) == 1:
        for shape, rep, system in itertools.product(shapes, range(reps), systems):
            yield shape, rep, sizes[0], system
        return
    for rep, size, shape, system in itertools.product(range(reps), sizes, shapes, systems):
        yield shape, rep, size, system


def flatness(results: list[Result], sizes: list[int]) -> list[str]:
    """Per system and shape: the median rate and first task at each size, and the largest size's
    median rate over the smallest's (1.00 = flat with graph size), with the runs' spread."""
    lines = ["Flat with graph size (median tasks/s [min-max]; median first task [min-max]; *while running*: "
             "tasks / (last task's end - first task's start), start-up and exit left out):", ""]  # fmt: skip
    keys = dict.fromkeys((r.system, r.shape) for r in results)
    for system, shape in keys:
        cells = []
        medians: dict[int, float] = {}
        running: dict[int, float] = {}
        for size in sizes:
            runs = [r for r in results if (r.system, r.shape, r.planned) == (system, shape, size)]
            if not runs:
                continue
            rates, firsts = [r.rate for r in runs], [r.first for r in runs]
            medians[size] = statistics.median(rates)
            running[size] = statistics.median(r.running_rate for r in runs)
            cells.append(f"{size:,}: {medians[size]:,.0f} [{min(rates):,.0f}-{max(rates):,.0f}] tasks/s, first "
                         f"{statistics.median(firsts):.2f} s [{min(firsts):.2f}-{max(firsts):.2f}], "
                         f"while running {running[size]:,.0f}")  # fmt: skip
        ratio = ""
        if sizes[0] in medians and sizes[-1] in medians and medians[sizes[0]]:
            ratio = (f"; {sizes[-1]:,} / {sizes[0]:,}: {medians[sizes[-1]] / medians[sizes[0]]:.2f} "
                     f"(while running: {running[sizes[-1]] / running[sizes[0]]:.2f})")  # fmt: skip
        lines.append(f"- {system}, {shape}: " + "; ".join(cells) + ratio)
        lines += by_tenths([r for r in results if (r.system, r.shape) == (system, shape)], sizes)
    return lines


def by_tenths(runs: list[Result], sizes: list[int]) -> list[str]:
    """One line per size: the median over ``runs`` of each tenth's tasks/s (see :func:`tenth_rates`)."""
    lines = []
    for size in sizes:
        tenths = [r.tenths for r in runs if r.planned == size and len(r.tenths) == 10]
        if tenths:
            medians = (statistics.median(column) for column in zip(*tenths, strict=True))
            lines.append(f"  - {size:,} by tenths of its tasks (median tasks/s): " + ", ".join(
                f"{m:,.0f}" for m in medians))  # fmt: skip
    return lines


@contextlib.contextmanager
def xrsched_server(sync: str, work: Path) -> Iterator[dict[str, str]]:
    """A fresh ``xrsched-server`` (TLS, a worker token, state under ``work``) for the block; yields
    the environment a worker needs to reach it (``XRSCHED_TOKEN``, ``XRSCHED_SCHEDULER_URL``...)."""
    state = work / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XRSCHED_")}
    mint = [str(BIN / "xrsched"), "token", "add", "--id", "bench", "--role", "worker"]
    mint += ["--tokens", str(state / "tokens.toml")]
    added = subprocess.run(mint, capture_output=True, text=True, check=True, env=env)
    secret = added.stdout.strip().splitlines()[-1]
    launcher = [str(BIN / "xrsched-server")]
    if GC_PROBE[0]:
        launcher = [sys.executable, str(HERE / "gc_probe.py")]
        env[GC_PROBE_ENV] = str(work / "gc.json")
    server = subprocess.Popen(
        [*launcher, "--port", "0", "--state-path", str(state), "--sync", sync,
         "--log-level", "WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        port = None
        for line in server.stdout:
            match = re.search(r"listening on https://[^:]+:(\d+)/", line)
            if match:
                port = int(match.group(1))
                break
        assert port, "xrsched-server did not start"
        env.update(XRSCHED_TOKEN=secret, XRSCHED_SCHEDULER_URL=f"https://localhost:{port}/RPC2",
                   XRSCHED_CA=str(state / "tls" / "server.pem"), PYTHONPATH=str(HERE),
                   XRSCHED_BENCH_PORT=str(port))  # fmt: skip
        yield env
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def run_xrsched(shape: str, tasks: int, workers: int, sync: str, work: Path) -> Result:
    root = task_root(work)
    with xrsched_server(sync, work) as env:
        command = [str(BIN / "xrsched"), "run"]
        if subprocess.run([*command, "--help"], capture_output=True, env=env, check=False).returncode != 0:
            command = [sys.executable, "-m", "xrsched.cli.run"]  # before `run` is part of `xrsched`
        args = [*command, "--module", "e2e_tasks", *task_args(shape, tasks, root), "--workers", str(workers),
                "--log-level", "WARNING"]  # fmt: skip
        launched = time.time()
        code = run_bounded(args, env, work)
        finished = time.time()
    name = "xrsched" if sync == "full" else f"xrsched (sync {sync})"
    result = measure(root, launched, finished, name, shape, code, tasks)
    if GC_PROBE[0]:
        result.gc = describe(read(work / "gc.json"))
    return result


def run_requests_only(tasks: int, work: Path) -> Result:
    """The chain's requests alone, as the *requests only* row: register the chain as ``xrsched
    run`` does, then send the worker's request for each task (``add_task`` DONE with the task's
    fields, then ``get_work``) one after the other from this process, with no child process
    and no task code. What a chain could reach if running a task cost nothing."""
    from xrsched.client import RemoteScheduler
    from xrsched.worker.registration import CompletenessChecker, registration_calls, walk

    sys.path.insert(0, str(HERE))
    import e2e_tasks

    worker = "requests-only"
    with xrsched_server("full", work) as env:
        client = RemoteScheduler(env["XRSCHED_SCHEDULER_URL"], token=env["XRSCHED_TOKEN"], ca=env["XRSCHED_CA"])
        found = walk([e2e_tasks.Chain(root=str(task_root(work)), i=tasks - 1)], CompletenessChecker(1))
        client.send_many([("add_worker", {"worker": worker, "info": {"host": "bench"}}),
                          *registration_calls(found, worker)])  # fmt: skip
        fields = {
            call["task_id"]: {k: v for k, v in call.items() if k not in ("status", "deps")} for call in found.calls
        }
        ask = {"worker": worker, "host": "bench", "current_tasks": []}
        started = time.time()
        reply, done = client.send_many([("get_work", ask)])[0], 0
        while reply.get("task_id"):
            report = {**fields[reply["task_id"]], "worker": worker, "status": "DONE"}
            reply = client.send_many([("add_task", report), ("get_work", ask)])[1]
            done += 1
        finished = time.time()
        client.close()
    return Result(CEILING, "chain", done, float("nan"), finished - started, 0 if done == tasks else 1, tasks)


def luigi_http_client() -> str:
    """``requests`` or ``urllib``: what ``luigi`` uses in this environment to reach its scheduler."""
    probe = "import luigi.rpc; print('requests' if luigi.rpc.HAS_REQUESTS else 'urllib')"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    return found.stdout.strip().splitlines()[-1] if found.returncode == 0 and found.stdout.strip() else "unknown"


def luigi_command(shape: str, tasks: int, workers: int, root: Path, *scheduler: str) -> list[str]:
    """The ``luigi`` command both Luigi rows run; only ``scheduler`` (the options that name the
    scheduler) differs between them."""
    return [str(BIN / "luigi"), "--module", "e2e_luigi_tasks", *task_args(shape, tasks, root),
            "--workers", str(workers), *scheduler, "--log-level", "WARNING"]  # fmt: skip


def run_luigi_xrsched(shape: str, tasks: int, workers: int, work: Path, sync: str = "full") -> Result:
    """Luigi's ``luigi`` command, unchanged but for ``--scheduler-url``, against the xrsched row's
    server (TLS, worker token, ``sync`` as given: ``full`` for the target row) through luigid's
    ``/api/``."""
    root = task_root(work)
    with xrsched_server(sync, work) as server_env:
        env = {k: v for k, v in server_env.items() if not k.startswith(("XRSCHED_", "LUIGI_"))}
        # Luigi talks through requests if it can import it, else through urllib (a plain
        # `pip install luigi` has no requests): each reads the CA from its own variable.
        env["REQUESTS_CA_BUNDLE"] = env["SSL_CERT_FILE"] = server_env["XRSCHED_CA"]
        url = f"https://bench:{server_env['XRSCHED_TOKEN']}@127.0.0.1:{server_env['XRSCHED_BENCH_PORT']}/"
        args = luigi_command(shape, tasks, workers, root, "--scheduler-url", url)
        launched = time.time()
        code = run_bounded(args, env, work)
        finished = time.time()
    system = LUIGI_XRSCHED if sync == "full" else LUIGI_XRSCHED_NORMAL
    return measure(root, launched, finished, system, shape, code, tasks)


def run_luigi_local(shape: str, tasks: int, workers: int, work: Path) -> Result:
    """The same ``luigi`` command with ``--local-scheduler`` (no server, no HTTP, no state on
    disk): what Luigi's worker alone costs, so the best any remote scheduler could reach."""
    root = task_root(work)
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    args = luigi_command(shape, tasks, workers, root, "--local-scheduler")
    launched = time.time()
    code = run_bounded(args, env, work)
    finished = time.time()
    return measure(root, launched, finished, LUIGI_LOCAL, shape, code, tasks)


def run_luigi(shape: str, tasks: int, workers: int, work: Path) -> Result:
    port, root = free_port(), task_root(work)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(HERE))
    server = subprocess.Popen(
        [str(BIN / "luigid"), "--port", str(port), "--address", "127.0.0.1",
         "--state-path", str(work / "luigi-state.pickle"), "--logdir", str(work / "logs")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        assert time.monotonic() < deadline, "luigid did not start"
        time.sleep(0.1)
    args = luigi_command(shape, tasks, workers, root, "--scheduler-host", "127.0.0.1", "--scheduler-port", str(port))
    try:
        launched = time.time()
        code = run_bounded(args, env, work)
        finished = time.time()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return measure(root, launched, finished, "luigid", shape, code, tasks)


def _seconds(value: float) -> str:
    return "-" if value != value else f"{value:.2f}"  # NaN: not measured


def _ratios(results: list[Result], system: str, shape: str) -> list[float]:
    """``system``'s rate over luigid's, repetition by repetition (results are in run order)."""
    mine = [r for r in results if r.system == system and r.shape == shape]
    theirs = [r for r in results if r.system == "luigid" and r.shape == shape]
    return [m.rate / t.rate for m, t in zip(mine, theirs, strict=False) if t.rate]


def verdicts(summary: list[tuple[float, float]], luigi_ratios: list[float], tasks: int) -> list[str]:
    """The targets, then this run's verdict for xrsched's own worker (``summary``: its cells'
    (ratio, first task)) and for the Luigi-workers row (``luigi_ratios``: its cells' ratios)."""
    luigi_target = luigi_target_ratio(tasks)
    lines = [f"Targets: xrsched's own worker: tasks/s at least {TARGET_RATIO:g}x luigid's, first task within "
             f"{TARGET_FIRST} s; {LUIGI_XRSCHED}: tasks/s at least {LUIGI_TARGET_RATIO:g}x luigid's, "
             f"{LUIGI_TARGET_RATIO_LARGE:g}x from {LUIGI_LARGE:,} tasks."]  # fmt: skip
    if summary:
        ratios = [r for r, _ in summary if r == r]
        first = max(f for _, f in summary)
        if ratios:
            met = "met" if min(ratios) >= TARGET_RATIO else "not met"
            ratio = f"tasks/s at least {min(ratios):.1f}x luigid's ({met})"
        else:
            ratio = "no luigid run to compare with"
        met = "met" if first <= TARGET_FIRST else "not met"
        lines.append(f"This run (medians), xrsched: {ratio}; first task within {first:.2f} s ({met}).")
    if luigi_ratios:
        ratios = [r for r in luigi_ratios if r == r]
        if ratios:
            met = "met" if min(ratios) >= luigi_target else "not met"
            ratio = f"tasks/s at least {min(ratios):.1f}x luigid's (target {luigi_target:g}x: {met})"
        else:
            ratio = "no luigid run to compare with"
        lines.append(f"This run (medians), {LUIGI_XRSCHED}: {ratio}.")
    return lines


def table(results: list[Result], tasks: int, workers: int, reps: int, info: dict[str, str], *,
          heading: str = BLOCKS["e2e"], command: str = "benchmarks/run_e2e.sh --write") -> str:  # fmt: skip
    cells: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        cells.setdefault((r.system, r.shape), []).append(r)
    lines = [
        f"## {heading}",
        "",
        f"{tasks:,} trivial tasks (each writes a one-byte file, atomically, without fsync on both sides), "
        f"{workers} worker processes, {reps} run(s) per cell, "
        "each on a fresh server, the systems taking turns (see the docstring of `e2e.py`). *first task*: seconds "
        "from launching the worker command to the first task's start; *wall*: launch to exit; *tasks/s*: tasks / "
        "wall. Figures are medians over the runs; *vs luigid* is the median of the ratios within each repetition. "
        "xrsched: TLS, worker token, audit log, SQLite state; luigid: plain HTTP, state in memory.",
        "",
        f"How to reproduce: `{command}` (makes `benchmarks/.venv-e2e` with luigi, requests and a regular, "
        "not editable, install of this repository).",
        "",
        "| system | shape | tasks run | first task (s) | wall (s) | tasks/s | tasks/s (min-max) | vs luigid | exit |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    summary: list[tuple[float, float]] = []  # (ratio, first) of every cell of xrsched's own worker
    luigi_ratios: list[float] = []  # the Luigi-workers row's, one per shape
    for (system, shape), runs in cells.items():
        rates = [r.rate for r in runs]
        ratios = _ratios(results, system, shape) if system != "luigid" else []
        ratio = f"{statistics.median(ratios):.1f}x" if ratios else "-"
        first = statistics.median(r.first for r in runs)
        codes = ",".join(sorted({str(r.code) for r in runs}))
        lines.append(
            f"| {runs[0].system} | {shape} | {min(r.tasks for r in runs):,} | {_seconds(first)} | "
            f"{statistics.median(r.wall for r in runs):.2f} | {statistics.median(rates):,.0f} | "
            f"{min(rates):,.0f}-{max(rates):,.0f} | {ratio} | {codes} |"
        )
        median = statistics.median(ratios) if ratios else float("nan")
        if system == LUIGI_XRSCHED:
            luigi_ratios.append(median)
        elif system not in ("luigid", CEILING, LUIGI_LOCAL, LUIGI_XRSCHED_NORMAL):
            summary.append((median, first))
    lines += ["", *verdicts(summary, luigi_ratios, tasks)]
    if any(r.code == TIMED_OUT for r in results):
        lines += ["", f"Exit {TIMED_OUT}: the run was stopped at `--timeout`; its tasks/s is the rate up to then."]
    lines += ["", machine_line(info)]
    return "\n".join(lines)


def write_readme(text: str, readme: Path, name: str = "e2e") -> None:
    """Put ``text`` into ``readme`` between the markers of block ``name`` (appended if absent)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    write_block(readme, begin, end, f"{begin}\n{text}\n{end}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="2000",
                        help="tasks per graph; several, comma-separated (e.g. 2000,20000), are run in turns "
                             "within each repetition and a line compares their rates")  # fmt: skip
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--shapes", default="chain,fan-in")
    parser.add_argument("--only", default="xrsched,xrsched-normal,requests-only,luigi-xrsched,luigid",
                        help="systems, comma-separated (default: all)")  # fmt: skip
    parser.add_argument("--reps", type=int, default=3, help="runs per cell; the table shows medians (default 3)")
    parser.add_argument("--timeout", type=float, default=RUN_TIMEOUT[0],
                        help="stop a worker command after this many seconds and show the rate so far "
                        "(exit 124; default 1800)")  # fmt: skip
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="put each run's task outputs and runs.log in a directory of its own in this one "
                        "(made if missing; e.g. /dev/shm), instead of next to the server's state in the "
                        "system's temporary directory; the server's state stays there either way")  # fmt: skip
    parser.add_argument("--gc-probe", action="store_true",
                        help="start xrsched's server through benchmarks/gc_probe.py and show its garbage "
                        "collections (count and time per generation) on each run's line")  # fmt: skip
    parser.add_argument("--write", action="store_true", help="update benchmarks/README.md")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--block", choices=sorted(BLOCKS), default="e2e",
                        help="the README table --write replaces (default: e2e, the one of all systems)")  # fmt: skip
    options = parser.parse_args()
    RUN_TIMEOUT[0] = options.timeout
    GC_PROBE[0] = options.gc_probe
    if options.out_dir is not None:
        options.out_dir.mkdir(parents=True, exist_ok=True)
        OUT_DIR[0] = options.out_dir.resolve()
    systems = options.only.split(",")
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown system(s) {', '.join(unknown)}; known: {', '.join(SYSTEMS)}")
    info = machine_info()  # the load average before the runs
    info["task outputs on"] = filesystem(OUT_DIR[0] or Path(tempfile.gettempdir()))
    if any(system.startswith("luigi") for system in systems):
        info["luigi's HTTP client"] = luigi_http_client()
    sizes = [int(size) for size in options.tasks.split(",")]
    results: list[Result] = []
    for shape, rep, tasks, system in run_order(options.shapes.split(","), options.reps, sizes, systems):
        if system == "requests-only" and shape != "chain":
            continue  # a fan-in's requests carry several tasks each: no single figure to show
        # Write back what earlier runs left in the page cache (luigid writes its 2,000 files and
        # logs without fsync), so that a run's own fsyncs do not pay for it.
        os.sync()
        work = Path(tempfile.mkdtemp(prefix=f"e2e-{system}-"))
        try:
            if system == "luigid":
                result = run_luigi(shape, tasks, options.workers, work)
            elif system == "requests-only":
                result = run_requests_only(tasks, work)
            elif system == "luigi-local":
                result = run_luigi_local(shape, tasks, options.workers, work)
            elif system in ("luigi-xrsched", "luigi-xrsched-normal"):
                sync = "normal" if system == "luigi-xrsched-normal" else "full"
                result = run_luigi_xrsched(shape, tasks, options.workers, work, sync)
            else:
                sync = "normal" if system == "xrsched-normal" else "full"
                result = run_xrsched(shape, tasks, options.workers, sync, work)
        finally:
            shutil.rmtree(task_root(work), ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
        first = _seconds(result.first) + ("s" if result.first == result.first else "")
        print(f"rep {rep + 1}/{options.reps} {result.system:22} {shape:7} tasks={result.tasks} first={first} "
              f"wall={result.wall:.2f}s rate={result.rate:.0f}/s exit={result.code} "
              f"tenths={','.join(f'{rate:.0f}' for rate in result.tenths) or '-'}"
              + (f" {result.gc}" if result.gc else ""), flush=True)  # fmt: skip
        results.append(result)
    command = " ".join(["benchmarks/run_e2e.sh", *sys.argv[1:]])
    text = "\n\n".join(
        table([r for r in results if r.planned == tasks], tasks, options.workers, options.reps, info,
              heading=BLOCKS[options.block], command=command)
        for tasks in sizes
    )  # fmt: skip
    if len(sizes) > 1:
        text += "\n\n" + "\n".join(flatness(results, sizes))
    print(text)
    if options.write:
        write_readme(text, options.readme, options.block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
