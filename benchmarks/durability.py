"""Durability benchmark (issue 5 §5): what durable state costs, side by side, in one run.

Part 1, **add_task calls/s** with 8 clients against:

* **durable**: ``xrsched-server`` with its default store (SQLite, WAL, ``--sync full``): every
  reply waits until its change is on disk (group commit shares one fsync between the calls
  that arrive together).
* **normal**: the same with ``--sync normal``: a change survives a crash of the server process
  but the last moments may be lost on power loss.
* **memory**: ``xrsched-server --store memory``: nothing is written.
* **postgresql**: ``xrsched-server --store postgresql://...`` on a throwaway PostgreSQL cluster
  on this machine (``initdb``/``pg_ctl``, ``synchronous_commit`` on, fsync on): the server leads
  alone (no standby), each reply waits for its commit, shared by group commit.
* **luigid**: Luigi's own server, which is not durable either (it pickles its state on a clean
  stop only), over plain HTTP through Luigi's own client (``luigi.rpc.RemoteScheduler``).

Each client is a separate process with its own keep-alive connection and worker id, measured
as in ``transport.py`` (warm-up, then a fixed window; server CPU from ``/proc/PID/stat``),
registering new tasks (unique ids) with the arguments a Luigi worker sends for a simple task.
xrsched runs with TLS, a worker bearer token and its audit log, as in production. Servers and
repetitions are interleaved round robin; the table shows medians, and ratios are medians of
the ratios within each round.

Every row also gets a **machine accounting** (``durable_floor.py``): per call, the server's CPU,
its SQLite writer process's, the clients' (they share the cores), the rest of the machine and
its idle time (``/proc/stat``), latency (clients x window / calls), the server's context
switches and, from a server that commits, calls per transaction (its ``/metrics``); and
whether the cores or waiting bind.
``--floor`` (issue 19) adds three **ablation rows**, servers started through
``ablation_server.py`` with one step of the durable path taken out (changes encoded then
dropped; the committer's hand-off with no write; SQLite without fsync), and prints the ceiling
of durable / in-memory that the steps no commit path can remove leave on this machine.

Part 2, **restart time**: a state database holding 1,000,000 tasks (70 % DONE, 20 % PENDING,
some behind a dependency, 5 % FAILED, 5 % RUNNING, 50 workers) is built directly through the
store's own record encoder (``xrsched.store.records.encode_task`` on Task objects, written with
``SQLiteStore.write`` in chunks), then ``xrsched-server`` is started on it and timed from exec
to its "listening" line; its own "recovered N tasks ... in X s" is reported too. The same
recovery is then repeated in this process with the time of each part summed (open,
read rows, decode, rebuild: ``load_into`` interleaves the last three a batch of rows at a
time; the structure check runs in a thread meanwhile, as in the server, and only the wait for its
verdict counts), and under cProfile when the target is missed (or with ``--profile-restart``).
A clean stop leaves a snapshot of the tasks (issue 19), so the first start reads the rows and
the later ones the snapshot: each run says which. The server's CPU time up to its "listening"
line (``/proc/PID/stat``, every thread) is the figure that survives a loaded machine. Then the
first ``task_search`` is sent at once, while another connection pings back to back: its time and
the longest ping show whether the DONE tasks a snapshot left cold are built inside one call,
every other call waiting for it, or a slice per hold of the lock (issue 19).

A/B against another commit: ``--against DIR`` (a checkout, e.g. ``git archive BASE | tar -x -C
DIR``) also starts that checkout's durable and in-memory servers (``PYTHONPATH=DIR``; those of
the two that ``--only`` selects), measured in the same rounds as this checkout's, each base
server right next to its counterpart (which of the two goes first alternates by round). The
table gains "base" rows and a "vs base" column: this checkout's rate over the base's, the
median of the per-round ratios. The restart part then alternates the base's server and this
checkout's, each on its own copy of one database (built by the base's code, so both can open it).

Run through ``benchmarks/run_durability.sh`` (a venv with luigi). Leaving luigid out
(``--only durable,normal,memory``) needs no luigi. ``--write`` puts the tables into benchmarks/README.md
between the durability markers.

``--gc-probe`` starts xrsched's servers (not the ablation rows) through ``gc_probe.py``: each
window's line shows the full garbage collections the server made in it, and each server's
totals are printed when it stops.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import hashlib
import io
import itertools
import json
import multiprocessing as mp
import os
import pstats
import queue
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_floor import (
    commit_counts,
    context_switches,
    machine_times,
    render_accounting,
    render_floor,
    switches_between,
)
from durable_work import DurableWork, measure_work
from gc_probe import ENV as GC_PROBE_ENV
from gc_probe import describe, read
from harness import (
    BearerTransport,
    kill_group,
    machine_info,
    machine_line,
    mint_token,
    process_cpu,
    server_command,
    sleep_until,
    spawn,
    spawn_luigid,
    wait_for_line,
    write_block,
)

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN = "<!-- durability:begin -->"
END = "<!-- durability:end -->"
SERVERS = ("durable", "normal", "nosync", "handoff", "encode", "memory", "postgresql", "luigid")
#: The servers the default run measures (the ablation rows are asked for by name: ``--only``).
DEFAULT_SERVERS = ("durable", "normal", "memory", "postgresql", "luigid")
#: The durable path taken apart (issue 19's floor): what ``--floor`` measures.
FLOOR_SERVERS = ("durable", "normal", "nosync", "handoff", "encode", "memory", "luigid")
XRSCHED_FLAGS = {
    "durable": ["--sync", "full"],
    "normal": ["--sync", "normal"],
    "nosync": ["--sync", "normal"],  # then synchronous=OFF, by the shim
    "handoff": ["--sync", "full"],
    "encode": ["--sync", "full"],
    "memory": ["--store", "memory"],
}
#: Ablation rows: ``ablation_server.py`` in that mode (``XRSCHED_BENCH_ABLATION``), never the package.
ABLATIONS = ("nosync", "handoff", "encode")
#: Servers that ``--against`` also starts from the other checkout (as "base-<name>").
BASE_SERVERS = ("durable", "memory")
BASE_PREFIX = "base-"
#: Targets from the issues (issue 19 for durable: ≥ 0.85x in-memory and ≥ 2x luigid).
TARGET_VS_LUIGID = 2.0
TARGET_PG_VS_LUIGID = 1.2
TARGET_VS_MEMORY = 0.85
TARGET_RESTART_S = 3.0  # issue 19 (issue 5 said 10)
START_TIMEOUT = 30.0
RESTART_TIMEOUT = 600.0
#: ``--gc-probe``: xrsched's servers (not the ablation rows) run through ``gc_probe.py``.
GC_PROBE = [False]


# ------------------------------------------------------------------------------ servers
# (the same way transport.py starts and stops its servers; kept here so either script can change)


@dataclass
class Server:
    """A running server subprocess and how clients reach it."""

    name: str
    proc: subprocess.Popen[bytes]
    spec: dict[str, Any]
    #: Run after the server stopped (the PostgreSQL row's cluster is removed).
    cleanup: Callable[[], None] | None = None
    #: Where ``gc_probe.py`` writes the server's collections (``--gc-probe``), else None.
    gc_path: Path | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGINT to the server's process group (both servers stop cleanly on it)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)
        if self.cleanup is not None:
            self.cleanup()
            self.cleanup = None


def start_luigid(work: Path) -> Server:
    proc, port = spawn_luigid(work, "run_durability.sh", START_TIMEOUT)
    return Server("luigid", proc, {"kind": "luigi", "url": f"http://127.0.0.1:{port}"})


def start_xrsched(work: Path, certs: Any, name: str, against: Path | None = None) -> Server:
    """``xrsched-server`` of this checkout, or of ``against`` for a "base-" server."""
    state = work / f"{name}-state"
    state.mkdir(mode=0o700)
    secret = mint_token(state / "tokens.toml", "bench", "worker")
    log_path = work / f"{name}.out"
    flags, cleanup = XRSCHED_FLAGS.get(name.removeprefix(BASE_PREFIX), []), None
    if name == "postgresql":
        cluster = start_pg_cluster()
        flags, cleanup = ["--store", cluster.create_database("bench")], cluster.destroy
    gc_path = work / f"{name}.gc.json" if GC_PROBE[0] and name not in ABLATIONS else None
    probe = {GC_PROBE_ENV: str(gc_path)} if gc_path else {}
    launcher = [sys.executable, str(HERE / "gc_probe.py")] if gc_path else None
    if name.startswith(BASE_PREFIX):
        assert against is not None
        with environment(PYTHONPATH=str(against.resolve()), **probe):
            proc = spawn(server_command(state, certs, flags, launcher), log_path)
    elif name in ABLATIONS:
        with environment(XRSCHED_BENCH_ABLATION=name):
            proc = spawn(server_command(state, certs, flags, [sys.executable, str(HERE / "ablation_server.py")]),
                         log_path)  # fmt: skip
    else:
        with environment(**probe):
            proc = spawn(server_command(state, certs, flags, launcher), log_path)
    try:
        listening = r"xrsched-server listening on (https://\S+?/RPC2)"
        match = wait_for_line(proc, log_path, listening, START_TIMEOUT, poll=0.01)
        if name == "postgresql":
            wait_for_line(proc, log_path, r"leader at epoch \d+: recovered", START_TIMEOUT, poll=0.01)
        if name in ABLATIONS and f"ablation {name}:" not in log_path.read_text(errors="replace"):
            raise RuntimeError(f"the {name} server did not say it runs that ablation")
    except BaseException:
        if cleanup is not None:
            cleanup()
        raise
    spec = {"kind": "xmlrpc", "url": match.group(1), "ca": str(certs.ca_cert), "secret": secret}
    return Server(name, proc, spec, cleanup, gc_path)


def base_package(source: Path) -> str:
    """Where ``PYTHONPATH=source`` makes this interpreter import xrsched from; refuses a
    ``source`` that does not decide it (no xrsched package there, or the install wins)."""
    where = subprocess.run(
        [sys.executable, "-c", "import xrsched; print(xrsched.__file__)"],
        env={**os.environ, "PYTHONPATH": str(source)},
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not where.startswith(str(source.resolve()) + os.sep):
        raise RuntimeError(f"--against {source}: PYTHONPATH={source} imports xrsched from {where or 'nowhere'}")
    return where


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """These environment variables for the processes started inside (servers inherit the
    environment): ``PYTHONPATH`` for a base server, the ablation's mode for a shim."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def start_pg_cluster() -> Any:
    """A throwaway PostgreSQL cluster (the tests' own, tests/pg/cluster.py); sets PGPASSWORD."""
    sys.path.insert(0, str(HERE.parent))
    from tests.pg.cluster import PASSWORD, PgCluster, find_binaries

    binaries = find_binaries()
    if binaries is None:
        raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl): install postgresql or leave it out with --only")
    os.environ["PGPASSWORD"] = PASSWORD  # the servers started next inherit it
    cluster = PgCluster(binaries)
    cluster.start()
    return cluster


@contextlib.contextmanager
def running_servers(
    names: list[str], work: Path, certs: Any, against: Path | None = None
) -> Iterator[dict[str, Server]]:
    servers: dict[str, Server] = {}
    try:
        for name in names:
            servers[name] = start_luigid(work) if name == "luigid" else start_xrsched(work, certs, name, against)
        yield servers
    finally:
        for server in servers.values():
            server.stop()
            if server.gc_path is not None:
                print(f"{server.name}: in all, {describe(read(server.gc_path))}", file=sys.stderr, flush=True)
        for name in names:
            _say_commit_sizes(name, work / f"{name}.out")


def _say_commit_sizes(name: str, log_path: Path) -> None:
    """The server's own account of its transactions (logged on a clean stop; warm-ups
    included): how many calls each carried, how long each took and callers waited."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    match = re.search(r"\d+ change sets written in \d+ transactions.*", text)
    if match:
        print(f"{name}: {match.group(0)}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ clients


def task_arguments(task_id: str, worker: str, n: int) -> dict[str, Any]:
    """What a Luigi worker sends to register a simple task with two parameters."""
    return {
        "task_id": task_id,
        "status": "PENDING",
        "runnable": True,
        "deps": [],
        "expl": None,
        "resources": {},
        "priority": n % 5,
        "family": "BenchTask",
        "module": "bench.tasks",
        "params": {"date": "2026-11-22", "n": str(n)},
        "param_visibilities": {"date": 0, "n": 0},
        "worker": worker,
        "accepts_messages": False,
        "assistant": False,
        "retry_policy_dict": {},
    }


def _make_adder(spec: dict[str, Any], worker: str) -> tuple[Callable[[str, int], Any], str]:
    if spec["kind"] == "xmlrpc":
        context = ssl.create_default_context(cafile=spec["ca"])
        proxy = xmlrpc.client.ServerProxy(
            spec["url"], transport=BearerTransport(spec["secret"], context), allow_none=True
        )

        def add(task_id: str, n: int) -> Any:
            arguments = {k: v for k, v in task_arguments(task_id, worker, n).items() if v is not None}
            return proxy.add_task({"__starstar": True, **arguments})

        return add, "xmlrpc.client.ServerProxy + SafeTransport"

    import luigi.rpc

    scheduler = luigi.rpc.RemoteScheduler(url=spec["url"])

    def luigi_add(task_id: str, n: int) -> Any:
        return scheduler.add_task(**task_arguments(task_id, worker, n))

    return luigi_add, f"luigi.rpc.RemoteScheduler ({type(scheduler._fetcher).__name__})"


def _client_main(spec: dict[str, Any], index: int, tag: str, results: Any, go: Any, times: Any) -> None:
    """One client process: register one task, report ready, then add_task back to back."""
    try:
        add, client = _make_adder(spec, f"bench-w{index}")
        prefix = f"BenchTask_{tag}_c{index}"
        add(f"{prefix}_first", 0)
        results.put(("ready", index, None))
        if not go.wait(START_TIMEOUT):
            raise RuntimeError("never told to start")
        start, end = times[0], times[1]
        calls = n = 0
        cpu_start = cpu_end = 0.0
        while True:
            add(f"{prefix}_{n}", n)
            n += 1
            now = time.monotonic()
            if now >= start:
                if calls == 0 and cpu_start == 0.0:
                    cpu_start = time.process_time()
                if now >= end:
                    cpu_end = time.process_time()
                    break
                calls += 1
        results.put(("done", index, {"calls": calls, "cpu": cpu_end - cpu_start, "client": client}))
    except BaseException:
        results.put(("error", index, traceback.format_exc()))


@dataclass
class Sample:
    server: str
    clients: int
    calls: int
    seconds: float
    server_cpu: float
    client_cpu: float
    client: str
    #: The whole machine over the window (``/proc/stat``, CPU-seconds of every core): see
    #: durable_floor.py for the accounting per call.
    machine_busy: float = 0.0
    machine_idle: float = 0.0
    cpus: int = 0
    #: Transactions the server wrote in the window and their seconds (None: it commits nothing).
    commits: float | None = None
    commit_seconds: float | None = None
    #: Context switches of the server's threads in the window.
    server_switches: int = 0
    #: Full (gen 2) collections in the window and their CPU seconds (``--gc-probe``), else None.
    gc_full: tuple[int, float] | None = None
    #: CPU-seconds of the server's child processes in the window (its SQLite writer), counted
    #: apart from ``server_cpu`` (the server's own process).
    writer_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    @property
    def server_us(self) -> float:
        return self.server_cpu / max(self.calls, 1) * 1e6

    @property
    def writer_us(self) -> float:
        return self.writer_cpu / max(self.calls, 1) * 1e6


@dataclass
class Row:
    server: str
    clients: int
    samples: list[Sample]

    @property
    def rate(self) -> float:
        return statistics.median(s.rate for s in self.samples)

    @property
    def server_us(self) -> float:
        return statistics.median(s.server_us for s in self.samples)

    @property
    def writer_us(self) -> float:
        return statistics.median(s.writer_us for s in self.samples)

    @property
    def total_us(self) -> float:
        """Server process + writer process, per call (median over the samples)."""
        return statistics.median(s.server_us + s.writer_us for s in self.samples)

    @property
    def spread(self) -> str:
        rates = [s.rate for s in self.samples]
        return f"{min(rates):,.0f}-{max(rates):,.0f}"


def paired_ratio(row: Row, base: Row) -> float:
    """Median over repetitions of this row's rate over the base's in the same round: servers
    measured back to back see the same load from the rest of the machine."""
    return statistics.median(mine.rate / theirs.rate for mine, theirs in zip(row.samples, base.samples, strict=True))


def _ratio(row: Row, base: Row | None) -> str:
    return f"{paired_ratio(row, base):.2f}x" if base is not None and base is not row else "-"


def measure(server: Server, clients: int, warmup: float, duration: float, tag: str) -> Sample:
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    go = ctx.Event()
    times = ctx.Array("d", 2, lock=False)
    procs = [
        ctx.Process(target=_client_main, args=(server.spec, i, tag, results, go, times), daemon=True)
        for i in range(clients)
    ]
    for proc in procs:
        proc.start()
    try:
        done: dict[int, dict[str, Any]] = {}
        ready = 0

        def collect(timeout: float) -> None:
            nonlocal ready
            try:
                what, index, payload = results.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError(f"{server.name}: clients silent for {timeout:.0f}s") from None
            if what == "error":
                raise RuntimeError(f"{server.name} client {index} failed:\n{payload}")
            if what == "ready":
                ready += 1
            else:
                done[index] = payload

        while ready < clients:
            collect(START_TIMEOUT)
        now = time.monotonic()
        times[0], times[1] = now + warmup, now + warmup + duration
        go.set()
        sleep_until(times[0])
        cpu0, machine0, switches0 = process_cpu(server.pid), machine_times(), context_switches(server.pid)
        writer0 = children_cpu(server.pid)
        commits0, gc0 = commit_counts(server.spec), _gc_figures(server)
        sleep_until(times[1])
        cpu1, machine1, switches1 = process_cpu(server.pid), machine_times(), context_switches(server.pid)
        writer1 = children_cpu(server.pid)
        commits1, gc1 = commit_counts(server.spec), _gc_figures(server)
        while len(done) < clients:
            collect(START_TIMEOUT)
    finally:
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    stats = list(done.values())
    commits = (commits1[0] - commits0[0], commits1[1] - commits0[1]) if commits0 and commits1 else (None, None)
    return Sample(
        server=server.name,
        clients=clients,
        calls=sum(s["calls"] for s in stats),
        seconds=duration,
        server_cpu=cpu1 - cpu0,
        client_cpu=sum(s["cpu"] for s in stats),
        client=stats[0]["client"],
        machine_busy=machine1.busy - machine0.busy,
        machine_idle=machine1.idle - machine0.idle,
        cpus=machine1.cpus,
        commits=commits[0] or None,
        commit_seconds=commits[1],
        server_switches=switches_between(switches0, switches1),
        gc_full=(gc1["count"][2] - gc0["count"][2], gc1["seconds"][2] - gc0["seconds"][2]) if gc0 and gc1 else None,
        writer_cpu=sum(writer1.get(pid, 0.0) - cpu for pid, cpu in writer0.items()),
    )


def _gc_figures(server: Server) -> dict[str, Any] | None:
    """The collections the server made so far (``--gc-probe``; within half a second: the probe
    writes them that often)."""
    return read(server.gc_path) if server.gc_path is not None else None


def children_cpu(pid: int) -> dict[int, float]:
    """CPU-seconds so far of each child process of ``pid`` (the server's writer process)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found[int(stat.parent.name)] = process_cpu(int(stat.parent.name))
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue
    return found


# ------------------------------------------------------------------------------ restart


def build_state(
    path: Path, tasks: int, workers: int = 50, chunk: int = 100_000, *, store: Any | None = None
) -> dict[str, Any]:
    """A state database of ``tasks`` tasks written through the store's own record encoder (into
    ``store`` when given, e.g. a PostgresStore, else an SQLite file at ``path``)."""
    from xrsched.core.config import SchedulerConfig
    from xrsched.core.model import Task, Worker
    from xrsched.core.states import DONE, FAILED, PENDING, RUNNING
    from xrsched.store import SQLiteStore
    from xrsched.store.base import Batch
    from xrsched.store.records import encode_task, encode_worker

    started = time.monotonic()
    now = time.time()
    policy = SchedulerConfig().retry_policy
    if store is None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = SQLiteStore(path, sync="normal", history_days=0)
    worker_ids = [f"worker-{w:02d}-bench.example.com-{1000 + w}" for w in range(workers)]
    batch = Batch()
    for w, worker_id in enumerate(worker_ids):
        record = Worker(worker_id, now - 3600)
        record.info = {"host": f"bench-{w}.example.com", "username": "bench", "pid": 1000 + w, "workers": 4}
        record.reference = {"host": f"bench-{w}.example.com"}
        batch.worker_rows[worker_id] = encode_worker(record)
    store.write(batch)
    by_status: dict[str, int] = {}
    previous = ""
    batch = Batch()
    for i in range(tasks):
        kind = i % 20
        status = DONE if kind < 14 else PENDING if kind < 18 else FAILED if kind == 18 else RUNNING
        family = f"BenchTask{i % 17}"
        day = f"2026-11-{i % 28 + 1:02d}"
        digest = hashlib.md5(f"{family}{day}{i}".encode(), usedforsecurity=False).hexdigest()[:10]
        task_id = f"{family}_{day.replace('-', '_')}_{i}_{digest}"
        deps = (previous,) if status == PENDING and i % 40 >= 30 else ()
        task = Task(
            task_id,
            status,
            now - 3600 + i / 1000,
            i + 1,
            policy,
            deps=deps,
            priority=float(i % 5),
            family=family,
            module="bench.tasks",
            params={"date": day, "n": str(i)},
        )
        worker = worker_ids[i % workers]
        task.stakeholders = task.workers = (worker,)
        task.runnable = True
        if status == FAILED:
            task.retry = now + 900
            task.failures = [now - 60]
            task.first_failure_time = now - 60
            task.expl = "Traceback (most recent call last):\n  ...\nRuntimeError: bench"
        elif status == RUNNING:
            task.worker_running = worker
            task.time_running = now - 30
        batch.task_rows[task_id] = encode_task(task, policy)
        by_status[status] = by_status.get(status, 0) + 1
        previous = task_id
        if len(batch.task_rows) >= chunk:
            store.write(batch)
            batch = Batch()
    if batch:
        store.write(batch)
    store.close()
    return {
        "tasks": tasks,
        "workers": workers,
        "by_status": by_status,
        "seconds": time.monotonic() - started,
        "bytes": path.stat().st_size if path.exists() else 0,
    }


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, every thread included."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: What the first search after a restart looks for: about 1 task in 476 of build_state's.
FIRST_SEARCH = "BenchTask3_2026_11_05_"


def first_search(url: str, certs: Any, secret: str) -> dict[str, float]:
    """The first ``task_search`` right after the server listens, and meanwhile a ``ping`` loop
    on another connection (a worker's heartbeat): the search's time, the longest ping, how many.

    After a start from a snapshot the DONE tasks are cold: a server that builds them all inside
    the first search holds every other call for as long (issue 19); one that builds them a slice
    per hold of its lock keeps the longest ping near one slice."""
    context = ssl.create_default_context(cafile=str(certs.ca_cert))

    def proxy() -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(url, transport=BearerTransport(secret, context), allow_none=True)

    pinger, searcher = proxy(), proxy()
    pinger.ping({"__starstar": True, "worker": "bench-probe"})  # both connections open before the clock starts
    searcher.is_paused()
    pings: list[float] = []
    searching = threading.Event()

    def ping_loop() -> None:
        while searching.is_set():
            mark = time.perf_counter()
            pinger.ping({"__starstar": True, "worker": "bench-probe"})
            pings.append(time.perf_counter() - mark)

    searching.set()
    thread = threading.Thread(target=ping_loop, daemon=True)
    thread.start()
    mark = time.perf_counter()
    found = searcher.task_search(FIRST_SEARCH)
    search = time.perf_counter() - mark
    searching.clear()
    thread.join(60)
    if not found:
        raise RuntimeError(f"task_search({FIRST_SEARCH!r}) found nothing")
    return {"search": search, "longest_ping": max(pings, default=0.0), "pings": len(pings)}


def restart_once(
    state: Path, certs: Any, log_path: Path, against: Path | None = None, secret: str | None = None
) -> dict[str, Any]:
    """Start xrsched-server (``against``'s with PYTHONPATH) on ``state``: exec -> listening, its CPU
    time until then, its own recovery time, RSS, with ``secret`` (an admin token's) the first
    search after listening (:func:`first_search`) and RSS after it, stop."""
    started = time.monotonic()
    with environment(PYTHONPATH=str(against.resolve())) if against is not None else contextlib.nullcontext():
        proc = spawn(server_command(state, certs, []), log_path)
    try:
        listening = r"xrsched-server listening on (https://\S+?/RPC2)"
        url = wait_for_line(proc, log_path, listening, RESTART_TIMEOUT, poll=0.01).group(1)
        ready = time.monotonic() - started
        cpu = _cpu_seconds(proc.pid)
        rss = _rss_mib(proc.pid)
        probe: dict[str, float] = {}
        if secret is not None:
            probe = first_search(url, certs, secret)
            probe["rss_after_search"] = _rss_mib(proc.pid)
        text = log_path.read_text(errors="replace")
        match = re.search(r"recovered (\d+) tasks and (\d+) workers from \S+ in ([\d.]+)s", text)
        if match is None:
            raise RuntimeError(f"no 'recovered' line:\n{text}")
        stopping = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(120)
        if code != 0:
            raise RuntimeError(f"server exited with {code} on SIGINT:\n{log_path.read_text(errors='replace')}")
        return {
            "ready": ready,
            "cpu": cpu,
            "source": "snapshot" if re.search(r"recovered .* \(from its snapshot", text) else "rows",
            "recovered": float(match.group(3)),
            "tasks": int(match.group(1)),
            "workers": int(match.group(2)),
            "rss": rss,
            "stop": time.monotonic() - stopping,
            **probe,
        }
    finally:
        if proc.poll() is None:
            kill_group(proc)


def recovery_phases(path: Path) -> dict[str, float]:
    """load_into's work in this process, the time of each part summed as load_into interleaves them.

    Rows are read a batch at a time, each batch is decoded, and restore() indexes the tasks as
    they come (the collector paused, as in load_into): read and decode are timed around each
    batch, and restore's own time is what remains.
    """
    from xrsched.core import Scheduler
    from xrsched.core.restore import restore
    from xrsched.store import SQLiteStore
    from xrsched.store.records import TaskDecoder, decode_meta, decode_worker

    now = time.time()
    started = time.perf_counter()
    store = SQLiteStore(path, check_in_background=True)  # as the server opens it
    opened = time.perf_counter()
    core = Scheduler()
    decoder = TaskDecoder(core.config.retry_policy)
    loaded = store.load_snapshot(decoder) if hasattr(store, "load_snapshot") else None
    snapshot_read = time.perf_counter()
    spent = {"read": 0.0, "decode": 0.0}

    def batches() -> Iterator[list[Any]]:
        if loaded is not None:  # the rows are in memory already: all of it is decoding
            mark = time.perf_counter()
            for tasks in loaded.decoded_batches(decoder):
                spent["decode"] += time.perf_counter() - mark
                yield tasks
                mark = time.perf_counter()
            spent["decode"] += time.perf_counter() - mark
            return
        rows_of = store.iter_task_batches()
        while True:
            mark = time.perf_counter()
            rows = next(rows_of, None)
            read = time.perf_counter()
            spent["read"] += read - mark
            if rows is None:
                return
            tasks = decoder.decode_rows(rows)
            spent["decode"] += time.perf_counter() - read
            yield tasks

    gc.disable()
    try:
        meta = decode_meta(store.load_meta())
        workers = [decode_worker(worker_id, row, now) for worker_id, row in store.iter_workers()]
        cold = {"cold": loaded.cold} if loaded is not None else {}
        restore(core, itertools.chain.from_iterable(batches()), workers, paused=meta["paused"],
                resources=meta["resources"], batchers=meta["batchers"], now=now, **cold)  # fmt: skip
        done = time.perf_counter()
    finally:
        gc.enable()
    store.verify()
    verified = time.perf_counter()
    store.db.close()
    rows = "the rows (none: from the snapshot)" if loaded is not None else "the rows"
    return {
        "open the database (PRAGMA quick_check starts in a thread)": opened - started,
        "read and check the snapshot (SQLiteStore.load_snapshot)": snapshot_read - opened,
        f"read {rows} (iter_task_batches)": spent["read"],
        "decode the records (TaskDecoder.decode_rows)": spent["decode"],
        "rebuild indexes, heaps, deadlines (restore)": done - snapshot_read - spent["read"] - spent["decode"],
        "wait for the structure check's verdict (SQLiteStore.verify)": verified - done,
    }


def profile_recovery(path: Path, top: int = 12) -> str:
    """cProfile of load_into on ``path``: the top functions by own time, as text."""
    from xrsched.core import Scheduler
    from xrsched.store import SQLiteStore, load_into

    store = SQLiteStore(path)
    profile = cProfile.Profile()
    profile.enable()
    load_into(store, Scheduler(), time.time())
    profile.disable()
    store.db.close()
    stats = pstats.Stats(profile, stream=io.StringIO())
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_cc, ncalls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = "/".join(filename.split("/")[-2:]) + f":{line}" if filename != "~" else ""
        rows.append((own, cumulative, ncalls, f"{where}({name})" if where else name))
    lines = [f"cProfile of load_into, {total:.1f} s in all (inflated by the profiler); by own time:", ""]
    lines.append("| own s | cumulative s | calls | function |")
    lines.append("| ---: | ---: | ---: | --- |")
    for own, cumulative, ncalls, name in sorted(rows, reverse=True)[:top]:
        lines.append(f"| {own:.2f} | {cumulative:.2f} | {ncalls:,} | `{name}` |")
    return "\n".join(lines)


@dataclass
class RestartResult:
    built: dict[str, Any]
    runs: list[dict[str, Any]]
    phases: dict[str, float] = field(default_factory=dict)
    profile: str = ""
    #: The base's runs (``--against``), alternating with ``runs``.
    base_runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ready(self) -> float:
        return statistics.median(r["ready"] for r in self.runs)


def _build_with(against: Path, path: Path, tasks: int) -> dict[str, Any]:
    """build_state run by ``against``'s code (a database its server can open)."""
    script = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "from durability import build_state; print(json.dumps(build_state(Path(sys.argv[2]), int(sys.argv[3]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(HERE), str(path), str(tasks)],
        env={**os.environ, "PYTHONPATH": str(against.resolve())},
        cwd=tempfile.gettempdir(),  # not a checkout: "-c" puts the working directory first on the path
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_restart(
    work: Path, certs: Any, tasks: int, reps: int, profile: bool, against: Path | None = None
) -> RestartResult:
    state = work / "restart-state"
    path = state / "state.sqlite3"
    print(f"building a state database with {tasks:,} tasks ...", file=sys.stderr, flush=True)
    if against is None:
        built = build_state(path, tasks)
    else:
        state.mkdir(parents=True, mode=0o700)
        built = _build_with(against, path, tasks)
        (work / "base-restart-state").mkdir(mode=0o700)
        shutil.copy(path, work / "base-restart-state" / "state.sqlite3")
    print(
        f"built in {built['seconds']:.1f} s: {built['bytes'] / 2**20:,.0f} MiB, {built['by_status']}",
        file=sys.stderr,
        flush=True,
    )
    runs: list[dict[str, Any]] = []
    base_runs: list[dict[str, Any]] = []
    secret = mint_token(state / "tokens.toml", "bench", "admin")
    if against is not None:
        shutil.copy(state / "tokens.toml", work / "base-restart-state" / "tokens.toml")
    for rep in range(reps):
        order = [("this", state, None)]
        if against is not None:
            order.insert(rep % 2, ("base", work / "base-restart-state", against))
        for name, directory, source in order:
            run = restart_once(directory, certs, work / f"restart-{name}-{rep}.out", source, secret)
            if run["tasks"] != tasks:
                raise RuntimeError(f"the {name} server recovered {run['tasks']} tasks, not {tasks}")
            (runs if source is None else base_runs).append(run)
            print(
                f"restart {rep + 1}/{reps} ({name}, from its {run['source']}): listening {run['ready']:.1f} s after "
                f"exec, {run['cpu']:.2f} s of its CPU (its own recovery {run['recovered']:.1f} s), RSS "
                f"{run['rss']:,.0f} MiB, stop {run['stop']:.1f} s; first task_search after listening "
                f"{run['search']:.2f} s, longest of {run['pings']} pings meanwhile {run['longest_ping']:.3f} s, "
                f"RSS after it {run['rss_after_search']:,.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
    result = RestartResult(built, runs, base_runs=base_runs)
    if profile or result.ready > TARGET_RESTART_S:
        result.phases = recovery_phases(path)
        for name, seconds in result.phases.items():
            print(f"  {seconds:6.2f} s  {name}", file=sys.stderr, flush=True)
        result.profile = profile_recovery(path)
        print(result.profile, file=sys.stderr, flush=True)
    return result


# ------------------------------------------------------------------------------ reporting


def render(
    rows: list[Any],
    restart: RestartResult | None,
    info: dict[str, str],
    args: argparse.Namespace,
    work: DurableWork | None = None,
) -> str:
    by = {(r.server, r.clients): r for r in rows}
    out: list[str] = []
    verdicts: list[str] = []
    if rows:
        against = args.against is not None
        lines = [
            "| server | clients | add_task calls/s (median) | calls/s (min-max) | server CPU µs/call "
            "| writer process CPU µs/call | both µs/call | vs luigid | vs in-memory |"
            + (" vs base |" if against else ""),
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if against else ""),
        ]
        for row in rows:
            prefix = BASE_PREFIX if row.server.startswith(BASE_PREFIX) else ""
            luigid, memory = by.get(("luigid", row.clients)), by.get((prefix + "memory", row.clients))
            line = (
                f"| {label(row.server)} | {row.clients} | {row.rate:,.0f} | {row.spread} | {row.server_us:,.0f} "
                f"| {row.writer_us:,.0f} | {row.total_us:,.0f} | {_ratio(row, luigid)} | {_ratio(row, memory)} |"
            )
            if against:
                line += f" {_ratio(row, None if prefix else by.get((BASE_PREFIX + row.server, row.clients)))} |"
            lines.append(line)
        out += ["\n".join(lines), ""]
        for clients in args.clients:
            durable = by.get(("durable", clients))
            if durable is None:
                continue
            for other, target in (("luigid", TARGET_VS_LUIGID), ("memory", TARGET_VS_MEMORY)):
                base = by.get((other, clients))
                if base is not None:
                    ratio = paired_ratio(durable, base)
                    verdicts.append(
                        f"- {clients} clients: durable / {other} = {ratio:.2f}x "
                        f"(target ≥ {target}x: {'met' if ratio >= target else 'MISSED'})"
                    )
        for clients in args.clients:
            postgres, luigid = by.get(("postgresql", clients)), by.get(("luigid", clients))
            if postgres is not None and luigid is not None:
                ratio = paired_ratio(postgres, luigid)
                verdicts.append(
                    f"- {clients} clients: PostgreSQL store / luigid = {ratio:.2f}x "
                    f"(target ≥ {TARGET_PG_VS_LUIGID}x: {'met' if ratio >= TARGET_PG_VS_LUIGID else 'MISSED'})"
                )
        out.append(
            f"Medians of {args.reps} repetition{'s' if args.reps != 1 else ''}; each a {args.warmup:g} s "
            f"warm-up then a {args.duration:g} s window; servers and repetitions interleaved round robin."
        )
        if against:
            out.append(
                f"Base: {args.against} (xrsched from {args.base_package}); its servers ran next to their "
                "counterparts in every round; vs base = this checkout's rate / the base's, median of the "
                "per-round ratios."
            )
        out += ["", *render_machine(rows, work, args)]
    if restart is not None:
        built = restart.built
        statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(built["by_status"].items()))
        out += [
            f"Restart with {built['tasks']:,} stored tasks ({statuses}; {built['workers']} workers; database "
            f"{built['bytes'] / 2**20:,.0f} MiB, built in {built['seconds']:.0f} s):",
            "",
            "| run | build | read from | exec → listening (s) | server CPU to listening (s) "
            "| server's own recovery (s) | RSS after start (MiB) | first task_search (s) "
            "| longest ping meanwhile (s) | RSS after it (MiB) | clean stop (s) |",
            "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        pairs = itertools.zip_longest(restart.runs, restart.base_runs)
        for i, pair in enumerate(pairs, 1):
            for build, run in zip(("this", "base"), pair, strict=True):
                if run is not None:
                    out.append(
                        f"| {i} | {build} | {run['source']} | {run['ready']:.1f} | {run['cpu']:.2f} "
                        f"| {run['recovered']:.1f} | {run['rss']:,.0f} | {run['search']:.2f} "
                        f"| {run['longest_ping']:.3f} | {run['rss_after_search']:,.0f} | {run['stop']:.1f} |"
                    )
        out += [
            "",
            f"First task_search: `task_search({FIRST_SEARCH!r})` sent as soon as the server listens, while "
            "another connection pings back to back (a worker's heartbeat); the longest ping is the longest "
            "any call waited for the server meanwhile.",
            "",
        ]
        if restart.base_runs:
            ratios = [a["cpu"] / b["cpu"] for a, b in zip(restart.runs, restart.base_runs, strict=True)]
            out += [
                "Server CPU to listening, this / base, per run: "
                + ", ".join(f"{r:.2f}x" for r in ratios)
                + f" (median {statistics.median(ratios):.2f}x).",
                "",
            ]
        verdicts.append(
            f"- restart with {built['tasks']:,} tasks: {restart.ready:.1f} s from exec to listening (median) "
            f"(target < {TARGET_RESTART_S:g} s: {'met' if restart.ready < TARGET_RESTART_S else 'MISSED'})"
        )
        if restart.phases:
            out += [
                "Where the restart time goes (the same recovery repeated in one process, phase by phase):",
                "",
                "| phase | s |",
                "| --- | ---: |",
                *(f"| {name} | {seconds:.1f} |" for name, seconds in restart.phases.items()),
                "",
            ]
        if restart.profile:
            out += [restart.profile, ""]
    if verdicts:
        out += ["Targets:", "", *verdicts, ""]
    out.append(machine_line(info))
    return "\n".join(out)


def render_machine(rows: list[Row], work: DurableWork | None, args: argparse.Namespace) -> list[str]:
    """The machine accounting of every row, then (with the ablation rows) the durable floor."""
    out = [
        "Machine accounting per call (durable_floor.py): the window's cores x seconds / calls = server "
        "+ writer + clients + rest of machine (other work, steal, interrupts) + idle; latency = clients x "
        "seconds / calls; calls per transaction and a transaction's time from the server's /metrics.",
        "",
        render_accounting([(label(row.server), row.samples) for row in rows]),
        "",
    ]
    for clients in args.clients:
        floor = render_floor(
            {row.server: row.samples for row in rows if row.clients == clients},
            work,
            TARGET_VS_MEMORY,
            TARGET_VS_LUIGID,
        )
        if floor is not None:
            out += [f"Durable floor, {clients} clients: the durable path taken apart (ablation_server.py).", "",
                    floor, ""]  # fmt: skip
    return out


def label(server: str) -> str:
    """The table's name for a server ("base: ..." for the other checkout's)."""
    if server.startswith(BASE_PREFIX):
        return "base: " + LABELS[server.removeprefix(BASE_PREFIX)]
    return LABELS[server]


LABELS = {
    "durable": "xrsched durable (sqlite, sync full)",
    "normal": "xrsched durable (sqlite, sync normal)",
    "memory": "xrsched in-memory",
    "postgresql": "xrsched PostgreSQL store (synchronous_commit on)",
    "luigid": "luigid (not durable)",
    "nosync": "ablation: sqlite, synchronous=OFF (no fsync)",
    "handoff": "ablation: committer hand-off, no write",
    "encode": "ablation: changes encoded, then dropped",
}


#: The README's paragraph on ``--against`` (kept here so that ``--write`` keeps it).
AGAINST_DOC = (
    "A/B against another commit: `git archive COMMIT | tar -x -C DIR`, then "
    "`benchmarks/durability.py --against DIR` (or `run_durability.sh --against DIR`). The base's "
    "durable (`--sync full`) and in-memory servers (`PYTHONPATH=DIR`; those of the two that `--only` "
    "selects) run in the same rounds as this checkout's, each next to its counterpart, the pair's order "
    'alternating by round; the table gains "base:" rows and a "vs base" column (this checkout\'s '
    "calls/s over the base's: the median of the per-round ratios). The restart part runs for this "
    "checkout only. Without `--against` the output is as below."
)


def write_readme(body: str) -> None:
    section = (
        f"{BEGIN}\n## Durability\n\n"
        "`add_task` calls/s with 8 client processes, each with one keep-alive connection and its own "
        "worker id, registering new tasks with the arguments a Luigi worker sends (see the docstring of "
        "`durability.py`). xrsched: TLS + worker bearer token + audit log, with the SQLite store "
        "(`--sync full`, the default: each reply waits for its fsync, shared by group commit; "
        "`--sync normal`: survives a crash of the process, not of the machine) or `--store memory`; "
        "PostgreSQL store: `--store postgresql://...` on a throwaway cluster on the same machine "
        "(`synchronous_commit` on), leading alone; "
        "luigid: plain HTTP through `luigi.rpc.RemoteScheduler`, state in memory (pickled on a clean "
        "stop only). Clients and server share the machine's cores.\n\n"
        "Restart: `xrsched-server` started on a database of 1,000,000 tasks, timed from exec to its "
        '"listening" line.\n\n'
        "How to reproduce: `benchmarks/run_durability.sh --write` (makes `benchmarks/.venv-durability` "
        "with luigi and requests).\n\n"
        f"{AGAINST_DOC}\n\n"
        f"{body}\n{END}"
    )
    write_block(README, BEGIN, END, section)


# ------------------------------------------------------------------------------ main


def _count(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = 1
    if text.endswith("k"):
        text, factor = text[:-1], 1_000
    elif text.endswith("m"):
        text, factor = text[:-1], 1_000_000
    return int(float(text) * factor)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_SERVERS),
        help=f"servers, comma-separated, from {', '.join(SERVERS)} (default: {','.join(DEFAULT_SERVERS)}; "
        "nosync, handoff and encode are ablation rows: ablation_server.py)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help=f"the durable path's floor (issue 19): --only {','.join(FLOOR_SERVERS)} and the ceiling's arithmetic",
    )
    parser.add_argument("--clients", default="8", help="client counts, comma-separated (default: 8)")
    parser.add_argument(
        "--reps",
        type=int,
        default=5,
        help="repetitions; the table shows medians (default 5: one sample varies by 15-20 %% on a shared machine)",
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per measurement")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per measurement")
    parser.add_argument(
        "--restart-tasks", default="1m", help="tasks in the restart database (default 1m; 0 skips the restart)"
    )
    parser.add_argument("--restart-reps", type=int, default=3, help="server starts on the restart database")
    parser.add_argument(
        "--profile-restart",
        action="store_true",
        help="time recovery phase by phase and under cProfile even when the restart target is met",
    )
    parser.add_argument("--quick", action="store_true", help="1 repetition of 0.3 s + 1 s, 20k tasks (smoke)")
    parser.add_argument("--write", action="store_true", help="write the tables into benchmarks/README.md")
    parser.add_argument("--json", type=Path, help="also dump every sample here")
    parser.add_argument(
        "--gc-probe",
        action="store_true",
        help="start xrsched's servers through benchmarks/gc_probe.py: full collections per window and in all",
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="a checkout of another commit: its durable and in-memory servers run in the same rounds (A/B)",
    )
    args = parser.parse_args(argv)
    GC_PROBE[0] = args.gc_probe
    if args.floor:
        args.only = ",".join(FLOOR_SERVERS)
    args.servers = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))} (known: {', '.join(SERVERS)})")
    args.servers = [s for s in SERVERS if s in args.servers]
    if args.against is not None:
        try:
            args.base_package = base_package(args.against)
        except RuntimeError as exc:
            parser.error(str(exc))
        args.servers = [x for s in args.servers for x in ((s, BASE_PREFIX + s) if s in BASE_SERVERS else (s,))]
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    args.restart_tasks = _count(args.restart_tasks)
    if args.quick:
        args.reps, args.warmup, args.duration = 1, 0.3, 1.0
        args.restart_tasks, args.restart_reps = min(args.restart_tasks, 20_000), 1
    return args


def round_order(servers: list[str], rep: int) -> list[str]:
    """The order of one round: as given, but a base server goes first in every other round (so
    neither of a pair always follows the other server's clients)."""
    if rep % 2 == 0:
        return servers
    order = list(servers)
    for i, name in enumerate(order[:-1]):
        if order[i + 1] == BASE_PREFIX + name:
            order[i], order[i + 1] = order[i + 1], name
    return order


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from xrsched.certgen import make_dev_certificates

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    info = machine_info()
    work = Path(tempfile.mkdtemp(prefix="xrsched-durability-"))
    (work / "luigi.cfg").write_text("")
    os.environ["LUIGI_CONFIG_PATH"] = str(work / "luigi.cfg")
    samples: list[Any] = []
    works: list[DurableWork] = []
    restart: RestartResult | None = None
    started = time.monotonic()
    try:
        certs = make_dev_certificates(work / "certs")
        if args.servers:
            with running_servers(args.servers, work, certs, args.against) as servers:
                for rep in range(args.reps):
                    for clients in args.clients:
                        for name in round_order(args.servers, rep):
                            sample = measure(servers[name], clients, args.warmup, args.duration, f"r{rep}")
                            samples.append(sample)
                            if name == "durable":  # the irreducible work, next to durable's window
                                per_transaction = sample.calls / sample.commits if sample.commits else 1.0
                                works.append(measure_work(work, per_transaction))
                            full = sample.gc_full
                            print(
                                f"rep {rep + 1}/{args.reps} {name:8} clients={clients}: {sample.rate:8,.0f} "
                                f"add_task/s  server {sample.server_us:6,.0f} us/call"
                                f" + writer {sample.writer_us:4,.0f}"
                                + (f"  gc: {full[0]} full passes, {full[1] * 1e3:.0f} ms CPU" if full else ""),
                                file=sys.stderr,
                                flush=True,
                            )
        if args.restart_tasks:
            restart = measure_restart(
                work, certs, args.restart_tasks, args.restart_reps, args.profile_restart, args.against
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        Row(name, clients, [s for s in samples if s.server == name and s.clients == clients])
        for name in args.servers
        for clients in args.clients
    ]
    body = render(rows, restart, info, args, DurableWork.median(works))
    print(body)
    print(f"\n(total {time.monotonic() - started:.0f} s)", file=sys.stderr)
    if args.json:
        document = {
            "machine": info,
            "samples": [
                {**s.__dict__, "rate": s.rate, "server_us": s.server_us, "writer_us": s.writer_us} for s in samples
            ],
            "restart": restart.__dict__ if restart else None,
        }
        args.json.write_text(json.dumps(document, indent=2, default=str))
    if args.write:
        write_readme(body)
        print(f"wrote {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
