"""Machine accounting and the durable path's floor, for ``durability.py`` (issue 19).

**Machine accounting.** Over each measurement window, besides the server's CPU
(``/proc/PID/stat``), its SQLite writer's (the server's child processes, counted apart) and the
clients' (their own ``process_time``), the whole machine's busy and idle time from
``/proc/stat``, and from a server that commits, how many transactions it wrote (its
``/metrics``: ``xrsched_store_commit_duration_seconds``). Per call, the machine's
``cores x window / calls`` splits into server + writer + clients + the rest of the machine
(other work, steal, interrupts) + idle. A cell whose idle part is near zero is bound by the cores (CPU); one
with idle time left is bound by waiting (latency: with a fixed number of clients calling back to
back, calls/s = clients / latency). The clients share the machine with the server, so part of
every call's machine CPU is the client's.

**The floor.** The ablation rows (``ablation_server.py``) take the durable path apart step by
step: in-memory → changes encoded → committer hand-off without a write → SQLite without fsync →
``--sync full``. :func:`render_floor` turns them into what durable / in-memory can be at best on
this machine: the work no commit path can skip (encoding the change, SQLite's own work, the
fsync; measured in process by ``durable_work.py``) added to in-memory's CPU per call (the
ceiling when the cores, or the server's one process, bind) and one synced commit's wait added to
in-memory's latency (when waiting binds).
"""

from __future__ import annotations

import http.client
import os
import re
import ssl
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from durable_work import DurableWork

#: An idle share of the machine below this counts as bound by the cores.
CPU_BOUND_IDLE = 0.10
#: A server using this many cores or more is bound by its one process: its Python runs one
#: thread at a time (the GIL), so the rest of the machine cannot help it.
ONE_PROCESS_CORES = 0.85
#: The ablation steps from in-memory to ``--sync full``, each with what it adds.
STEPS = (
    ("memory", "in-memory"),
    ("encode", "+ changes recorded and encoded under the lock"),
    ("handoff", "+ committer hand-off and wake-ups (write does nothing)"),
    ("nosync", "+ SQLite transaction, no fsync (synchronous=OFF)"),
    ("normal", "(--sync normal: fsync at checkpoints only)"),
    ("durable", "+ fsync before the reply (--sync full)"),
)
#: Steps no commit path can remove: what each adds over the step before it.
IRREDUCIBLE = (("encode", "memory"), ("nosync", "handoff"), ("durable", "nosync"))


# ------------------------------------------------------------------------------ measuring


@dataclass(frozen=True)
class MachineTimes:
    """CPU-seconds of the whole machine (every core) so far: busy, idle, and the core count."""

    busy: float
    idle: float
    cpus: int


def machine_times() -> MachineTimes:
    """The machine's busy and idle time from the first line of ``/proc/stat`` (idle includes
    iowait: a core waiting for the disk could run anything else; steal counts as busy)."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as handle:
        lines = handle.read().splitlines()
    fields = [int(value) for value in lines[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    cpus = sum(1 for line in lines if re.match(r"cpu\d", line))
    return MachineTimes((user + nice + system + irq + softirq + steal) / tick, (idle + iowait) / tick, cpus)


def context_switches(pid: int) -> dict[str, int]:
    """Context switches so far of each live thread of the process (by thread id), voluntary
    (blocking: a lock, a condition, the GIL, I/O) and not: how often they hand the cores over."""
    counts = {}
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:  # the thread ended meanwhile
            continue
        numbers = re.findall(r"^(?:non)?voluntary_ctxt_switches:\s+(\d+)", text, re.MULTILINE)
        counts[status.parent.name] = sum(int(n) for n in numbers)
    return counts


def switches_between(before: dict[str, int], after: dict[str, int]) -> int:
    """Context switches between two :func:`context_switches` readings, of the threads alive at
    the second (a thread that ended meanwhile, e.g. the last clients' connections, took its
    count with it: leaving it out keeps the figure from going negative; a thread id the kernel
    gave again to a new thread counts from zero)."""
    return sum(count - before[tid] if count >= before.get(tid, 0) else count for tid, count in after.items())


def commit_counts(spec: dict[str, Any]) -> tuple[float, float] | None:
    """Transactions the server wrote so far and their seconds (its ``/metrics``), or None for a
    server that does not commit (in-memory, luigid, an encode-only ablation)."""
    if spec.get("kind") != "xmlrpc":
        return None
    url = urlsplit(spec["url"])
    context = ssl.create_default_context(cafile=spec["ca"])
    connection = http.client.HTTPSConnection(url.hostname or "127.0.0.1", url.port, context=context, timeout=30)
    try:
        connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {spec['secret']}"})
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    count = re.search(r"^xrsched_store_commit_duration_seconds_count\s+(\S+)", text, re.MULTILINE)
    total = re.search(r"^xrsched_store_commit_duration_seconds_sum\s+(\S+)", text, re.MULTILINE)
    if count is None or total is None or float(count.group(1)) == 0:
        return None
    return float(count.group(1)), float(total.group(1))


class Measured(Protocol):
    """What a durability sample holds (``durability.Sample``)."""

    server: str
    clients: int
    calls: int
    seconds: float
    server_cpu: float
    client_cpu: float
    machine_busy: float
    machine_idle: float
    cpus: int
    commits: float | None
    commit_seconds: float | None
    server_switches: int
    writer_cpu: float


@dataclass(frozen=True)
class PerCall:
    """One window's accounting, in µs per call (``capacity = server + writer + clients + rest + idle``)."""

    rate: float
    server: float
    #: The server's child processes: its SQLite writer (0 for a server without one).
    writer: float
    clients: float
    rest: float
    idle: float
    capacity: float
    latency: float
    per_transaction: float | None
    transaction_ms: float | None
    switches: float

    @property
    def server_and_writer(self) -> float:
        """The server's CPU per call, its writer process's included."""
        return self.server + self.writer

    @property
    def machine(self) -> float:
        """The benchmark's own CPU per call: server, its writer and clients."""
        return self.server + self.writer + self.clients


def per_call(sample: Measured) -> PerCall:
    """The sample's window, per call; latency from Little's law (each client calls back to back)."""
    calls = max(sample.calls, 1)
    us = 1e6 / calls
    capacity = sample.cpus * sample.seconds * us
    server, writer, clients = sample.server_cpu * us, sample.writer_cpu * us, sample.client_cpu * us
    idle = sample.machine_idle * us
    rest = max(sample.machine_busy * us - server - writer - clients, 0.0)
    commits = sample.commits
    return PerCall(
        rate=sample.calls / sample.seconds,
        server=server,
        writer=writer,
        clients=clients,
        rest=rest,
        idle=idle,
        capacity=capacity,
        latency=sample.clients * sample.seconds * us,
        per_transaction=sample.calls / commits if commits else None,
        transaction_ms=(sample.commit_seconds or 0.0) / commits * 1e3 if commits else None,
        switches=sample.server_switches / calls,
    )


# ------------------------------------------------------------------------------ reporting


def _median(samples: Sequence[Measured], value: Callable[[PerCall], float | None]) -> float | None:
    values = [v for v in (value(per_call(s)) for s in samples) if v is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def bound_by(samples: Sequence[Measured]) -> str:
    """CPU when the median window left under 10 % of the machine idle, else waiting."""
    share = _median(samples, lambda p: p.idle / p.capacity) or 0.0
    return f"CPU (idle {share:.0%})" if share < CPU_BOUND_IDLE else f"waiting (idle {share:.0%})"


def render_accounting(rows: Sequence[tuple[str, Sequence[Measured]]]) -> str:
    """The machine accounting table: one line per (label, samples), medians of the windows."""
    lines = [
        "| server | clients | calls/s | server cores | server CPU µs/call | writer CPU µs/call "
        "| server + writer µs/call | clients' CPU µs/call | clients' share "
        "| rest of machine µs/call | idle µs/call | capacity µs/call (cores x window / calls) | latency µs/call "
        "| calls per transaction | transaction ms | server context switches/call | bound by |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | --- |",
    ]
    for label, samples in rows:
        if not samples:
            continue
        share = _median(samples, lambda p: p.clients / p.machine if p.machine else 0.0) or 0.0
        lines.append(
            f"| {label} | {samples[0].clients} | {_fmt(_median(samples, lambda p: p.rate))} "
            f"| {_fmt(_median(samples, lambda p: p.server * p.rate / 1e6), 2)} "
            f"| {_fmt(_median(samples, lambda p: p.server))} | {_fmt(_median(samples, lambda p: p.writer))} "
            f"| {_fmt(_median(samples, lambda p: p.server_and_writer))} "
            f"| {_fmt(_median(samples, lambda p: p.clients))} "
            f"| {share:.0%} | {_fmt(_median(samples, lambda p: p.rest))} | {_fmt(_median(samples, lambda p: p.idle))} "
            f"| {_fmt(_median(samples, lambda p: p.capacity))} | {_fmt(_median(samples, lambda p: p.latency))} "
            f"| {_fmt(_median(samples, lambda p: p.per_transaction), 2)} "
            f"| {_fmt(_median(samples, lambda p: p.transaction_ms), 2)} "
            f"| {_fmt(_median(samples, lambda p: p.switches), 1)} | {bound_by(samples)} |"
        )
    return "\n".join(lines)


def paired(a: Sequence[Measured], b: Sequence[Measured], value: Callable[[PerCall, PerCall], float]) -> float:
    """Median over rounds of ``value(a's window, b's window)`` (same round: same load)."""
    return statistics.median(value(per_call(x), per_call(y)) for x, y in zip(a, b, strict=True))


def render_floor(
    by_server: dict[str, Sequence[Measured]], work: DurableWork | None, target_vs_memory: float, target_vs_luigid: float
) -> str | None:
    """The ablation table and the ceiling's arithmetic (None unless in-memory, the three
    ablation rows and durable were all measured)."""
    if any(not by_server.get(name) for name, _ in STEPS if name != "normal"):
        return None
    memory = by_server["memory"]
    steps = [(name, what) for name, what in STEPS if by_server.get(name)]
    out = [
        "| step | calls/s | vs in-memory | machine CPU µs/call | + over the step before | latency µs/call "
        "| + over the step before | server context switches/call | calls per transaction |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    previous: str | None = None
    for name, what in steps:
        samples = by_server[name]
        before = by_server[previous] if previous else None
        more_cpu = "-" if before is None else f"{paired(samples, before, lambda x, y: x.machine - y.machine):+,.0f}"
        more_wait = "-" if before is None else f"{paired(samples, before, lambda x, y: x.latency - y.latency):+,.0f}"
        out.append(
            f"| {name}: {what} | {_fmt(_median(samples, lambda p: p.rate))} "
            f"| {paired(samples, memory, lambda x, y: x.rate / y.rate):.2f}x "
            f"| {_fmt(_median(samples, lambda p: p.machine))} | {more_cpu} "
            f"| {_fmt(_median(samples, lambda p: p.latency))} | {more_wait} "
            f"| {_fmt(_median(samples, lambda p: p.switches), 1)} "
            f"| {_fmt(_median(samples, lambda p: p.per_transaction), 2)} |"
        )
        if name != "normal":  # a side branch: the chain goes nosync → durable
            previous = name
    out += ["", *ceiling(by_server, work, target_vs_memory, target_vs_luigid)]
    return "\n".join(out)


def ceiling(
    by_server: dict[str, Sequence[Measured]], work: DurableWork | None, target_vs_memory: float, target_vs_luigid: float
) -> list[str]:
    """The arithmetic. Over in-memory, a durable call must at least encode its change, have
    SQLite write it and pay its share of one fsync (``work``, measured in process with nothing
    else running): that, added to in-memory's CPU per call, is the CPU ceiling; one synced
    commit's wall time added to in-memory's latency is the latency ceiling. Without ``work``
    the server's own steps stand in (they also hold the cost of sharing the GIL)."""
    memory, durable = by_server["memory"], by_server["durable"]
    chain = [by_server[name] for name in ("memory", "encode", "handoff", "nosync", "durable")]

    def steps(value: Callable[[PerCall], float]) -> tuple[float, float, float, float]:
        """Medians over rounds of what encode, hand-off, SQLite and the fsync step add."""
        rounds = [[value(per_call(s)) for s in window] for window in zip(*chain, strict=True)]
        return tuple(statistics.median(r[i + 1] - r[i] for r in rounds) for i in range(4))  # type: ignore[return-value]

    encode, handoff, sqlite, sync_step = steps(lambda p: p.machine)
    if work is not None:
        irreducible, commit_wall = work.cpu, work.commit_wall
        source = (
            f"measured in process, one thread, {work.per_transaction:g} calls per transaction: encode "
            f"{work.encode:,.0f} + SQLite {work.sqlite:,.0f} + the fsync's CPU {work.sync:,.0f}"
        )
    else:
        irreducible, commit_wall = max(encode, 0.0) + max(sqlite, 0.0), 0.0
        source = "the server's encode and SQLite steps (no in-process measurement)"
    extra = paired(durable, memory, lambda x, y: x.machine - y.machine)
    m_machine = _median(memory, lambda p: p.machine) or 0.0
    m_server = _median(memory, lambda p: p.server) or 0.0
    m_latency = _median(memory, lambda p: p.latency) or 0.0
    m_cores = _median(memory, lambda p: p.server * p.rate / 1e6) or 0.0
    cpu_ceiling = m_machine / (m_machine + irreducible)
    server_ceiling = m_server / (m_server + irreducible)
    latency_ceiling = m_latency / (m_latency + commit_wall)
    one_process = m_cores >= ONE_PROCESS_CORES
    best = min(cpu_ceiling, latency_ceiling, *([server_ceiling] if one_process else []))
    today = paired(durable, memory, lambda x, y: x.rate / y.rate)
    lines = [
        f"- Bound by: in-memory {bound_by(memory)}, durable {bound_by(durable)}; the in-memory server used "
        f"{m_cores:.2f} cores (at {ONE_PROCESS_CORES:g} or more its one process binds, and the server CPU "
        f"ceiling counts: {'yes' if one_process else 'no'}).",
        f"- A durable call's machine CPU over in-memory, in the server and its writer: {extra:+,.0f} µs = encode "
        f"{encode:+,.0f} + hand-off {handoff:+,.0f} + SQLite {sqlite:+,.0f} + fsync step {sync_step:+,.0f} (medians of "
        "per-round steps, so they need not add up).",
        f"- Irreducible: {irreducible:,.0f} µs of CPU per call ({source}); one synced commit's wait: "
        f"{commit_wall:,.0f} µs. What the server's steps cost beyond it is the price of doing that work among "
        "the request threads (wake-ups, GIL turns): reducible by design, not by this commit path alone.",
        f"- CPU ceiling (cores bind): {m_machine:,.0f} / ({m_machine:,.0f} + {irreducible:,.0f}) = "
        f"{cpu_ceiling:.2f}x; server CPU ceiling (its one process binds): {m_server:,.0f} / "
        f"({m_server:,.0f} + {irreducible:,.0f}) = {server_ceiling:.2f}x.",
        f"- Latency ceiling (waiting binds; a call waits for one synced commit more than in memory): "
        f"{m_latency:,.0f} / ({m_latency:,.0f} + {commit_wall:,.0f}) = {latency_ceiling:.2f}x.",
        f"- At best durable / in-memory = {best:.2f}x on this machine (target ≥ {target_vs_memory}x: "
        f"{'reachable' if best >= target_vs_memory else 'UNREACHABLE'}); today {today:.2f}x: the commit path "
        f"leaves {max(best - today, 0.0):.2f} of in-memory's rate on the table.",
    ]
    luigid = by_server.get("luigid")
    if luigid:
        memory_vs_luigid = paired(memory, luigid, lambda x, y: x.rate / y.rate)
        verdict = "above in-memory's own rate: unreachable by any commit path" if memory_vs_luigid < target_vs_luigid \
            else "below in-memory's rate"  # fmt: skip
        lines.append(
            f"- {target_vs_luigid:g}x luigid: in-memory itself does {memory_vs_luigid:.2f}x luigid, so "
            f"{target_vs_luigid:g}x is {verdict}; at the ceiling durable would do "
            f"{best * memory_vs_luigid:.2f}x luigid."
        )
    return lines
