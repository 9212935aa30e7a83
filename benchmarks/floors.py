"""Measured floors of ping, add_task and a worker's 16-call request: an ablation, in process.

What each part of a call costs the server, measured by taking it out: the application a real
``ServerRuntime`` builds (``percall.Server``: tokens file, chained audit log, metrics, in memory)
serves the same bodies as ``percall.py`` once whole and once without each component, in
interleaved rounds (every round runs every variant, in a rotated order), and the table gives the
median over rounds of the per-round saving ``full - without``. The components are taken out in
this process only, by replacing one object or function for the length of a block
(``floors_removals.py``):

* required (the contract: DESIGN §3, §4b, §4c): the token check (``authenticate`` answers the
  identity it found once), the role check (the dispatcher's authorize hook), the audit record's
  text (a fixed line of the same length goes to the writer), its chain (``seq``/``prev``/hash),
  its write (``os.write``), all of the audit at once, the metrics (per-call counters, the
  transitions the core records for them, ``get_work``'s timer), the ownership check (the caller
  is made unrestricted), the reply cache (lookup and remember), request ids (bodies without
  ``__request_id``: the member, its check and, with it, the reply cache);
* the base every XML-RPC server has: the XML parse (bodies parsed before the block), the
  reply's marshalling (values kept aside, marshalled after the block), the core call (the last
  real answer of each method given back).

``ping`` and ``add_task`` go through the server's own HTTP handler (``percall.HttpPath``:
requests pipelined on a socketpair, no TLS, the handler thread's CPU); the 16-call request
(8 DONE reports + 8 asks, each request reporting what the previous one was given) goes to
``authenticate`` + ``handle_rpc`` (no HTTP: the requests depend on the answers). The stdlib's
``SimpleXMLRPCRequestHandler`` + ``SimpleXMLRPCDispatcher`` (``transport.BareHandler``) serve the
same requests in the same rounds, with methods that return our answers at once: the in-process
cost of the bare server that issue 19's ping target is measured against.

``--e2e-calls N`` also measures, in the same rounds, the real ``xrsched-server`` (in memory) and
the bare stdlib server with TLS end to end (``servercpu.py``'s servers and blocks: server CPU from
``/proc``), and how much of it is kernel time. From those the budget table: what the target
leaves for the required components next to what they cost.

    .venv/bin/python benchmarks/floors.py --rounds 9 --e2e-calls 2000
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import percall  # the application, workloads and bodies
from floors_removals import REMOVALS, SUMMED, Bench, Removal, make_bench
from harness import load_average, machine_info, machine_line

ROWS = ("ping", "add_task", "multicall")
LABELS = {"ping": "ping", "add_task": "add_task", "multicall": "16-call request"}
#: Session 9's quiet-window figures (benchmarks/README.md), used when ``--e2e-calls 0``.
QUIET_E2E = {"ping": 280.0, "bare": 220.0, "add_task": 415.0, "multicall": 2400.0}
#: Issue 19's targets: ping within 1.15x bare, add_task at most 400 µs, the 16-call request at
#: most 0.60x its cost at the end of session 8 (session 9's base, 2,800 µs).
PING_RATIO, ADD_TASK_US, MULTICALL_SHARE, MULTICALL_BEFORE = 1.15, 400.0, 0.60, 2800.0


# --------------------------------------------------------------------------------- blocks


def block_us(b: Bench, removal: Removal, calls: int) -> float:
    """CPU µs per request of one block with ``removal`` applied."""
    requests = calls if b.pipelined else max(1, calls // 16)
    if isinstance(b.workload, percall.WorkerRequest):
        b.workload.reserve(requests)  # the tasks the block's reports need, registered by the full server
    undo = removal.apply(b)
    try:
        return _pipelined(b, requests) if b.pipelined else _dependent(b, requests)
    finally:
        undo()


def _pipelined(b: Bench, calls: int) -> float:
    http = b.server.http_path()
    bodies = [b.workload.next_body() for _ in range(calls)]
    _parse_ahead(b, bodies)
    cpu, answers = http.serve_block(bodies)
    if b.kept is not None:
        b.kept.clear()  # the answers sent were a fixed body; the values are not needed
    for answer in answers:
        b.workload.check(answer)
    return cpu / calls * 1e6


def _dependent(b: Bench, requests: int) -> float:
    workload = b.workload
    assert isinstance(workload, percall.WorkerRequest)
    cpu = 0.0
    for _ in range(requests):
        body = workload.next_body()
        _parse_ahead(b, [body])
        started = time.process_time()
        answer = b.server.post(body)
        cpu += time.process_time() - started
        if b.kept is not None:  # marshalled now, outside the clock, for the check
            answer = xmlrpc.client.dumps(([[v] for v in b.kept],), methodresponse=True, allow_none=True).encode()
            b.kept.clear()
        if b.frozen:
            continue  # the answers are stale copies: the same tasks are still running
        workload.check(answer)
    return cpu / requests * 1e6


def _parse_ahead(b: Bench, bodies: list[bytes]) -> None:
    if b.parse_ahead is not None:
        from xrsched.rpc.parse import parse_call

        limits = b.server.app.limits
        b.parse_ahead.extend(parse_call(body, limits) for body in bodies)


class Bare:
    """The stdlib's handler + dispatcher for one row's requests, methods answering at once."""

    def __init__(self, b: Bench) -> None:
        from xmlrpc.server import SimpleXMLRPCDispatcher

        import transport

        class Handler(transport.BareHandler):
            disable_nagle_algorithm = False  # a socketpair has no TCP options

        answers = {name: (True if value is None else value) for name, value in b.answers.items()}
        self.server = transport.BareServer(("127.0.0.1", 0), requestHandler=Handler, logRequests=False,
                                           allow_none=True, bind_and_activate=False)  # fmt: skip
        self.dispatcher: SimpleXMLRPCDispatcher = self.server
        self.dispatcher.register_multicall_functions()
        self.dispatcher.register_function(transport.bare_ping, "ping")
        for name in ("add_task", "get_work"):
            self.dispatcher.register_function(_answering(answers.get(name, True)), name)
        self.handler = Handler
        self.bench = b

    def block_us(self, calls: int) -> float:
        b = self.bench
        if b.pipelined:
            http = b.server.http_path()
            bodies = [b.workload.next_body() for _ in range(calls)]
            requests = b"".join(http.request(body) for body in bodies)
            serve = self.handler
            cpu, answers = percall.serve_pipelined(requests, calls, lambda s: serve(s, percall.PEER, self.server))
            for answer in answers:
                percall._answer(answer)
            return cpu / calls * 1e6
        requests = max(1, calls // 16)
        body = b.workload.next_body()  # the same request each time: the stubs change nothing
        started = time.process_time()
        for _ in range(requests):
            answer = self.server._marshaled_dispatch(body)
        cpu = time.process_time() - started
        percall._answer(answer)
        return cpu / requests * 1e6

    def close(self) -> None:
        self.server.server_close()


def _answering(answer: Any) -> Callable[..., Any]:
    return lambda *args: answer


# ------------------------------------------------------------------------------ end to end


class EndToEnd:
    """``servercpu.py``'s servers (xrsched-server in memory, the bare stdlib server with TLS)
    and blocks, with the kernel's share of each block's server CPU."""

    def __init__(self, work: Path, pool: int) -> None:
        import servercpu

        self._servercpu = servercpu
        self._context = servercpu.servers(work, None, ["xrsched", "bare"], ("--store", "memory"))
        running = self._context.__enter__()
        self.plans: dict[str, tuple[Any, Any, Any]] = {}
        for key, (name, load) in {"bare": ("bare", "ping"), **{row: ("xrsched", row) for row in ROWS}}.items():
            server = running[name]
            conn = servercpu.Connection(server)
            workload = percall.make_workload(load, conn, pool)  # type: ignore[arg-type]
            for _ in range(20):
                workload.check(conn.post(workload.next_body()))
            self.plans[key] = (server, conn, workload)

    def block(self, key: str, calls: int) -> tuple[float, float]:
        """Server CPU µs per request, and the kernel's share of it, over one block."""
        server, conn, workload = self.plans[key]
        before = _user_system(server.pid)
        us = self._servercpu.block_us(server, conn, workload, calls // 16 if key == "multicall" else calls)
        after = _user_system(server.pid)
        user, system = after[0] - before[0], after[1] - before[1]
        return us, system / (user + system) if user + system > 0 else 0.0

    def close(self) -> None:
        self._context.__exit__(None, None, None)


def _user_system(pid: int) -> tuple[int, int]:
    """utime and stime of a process in clock ticks (``/proc/PID/stat`` fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


# ---------------------------------------------------------------------------------- rounds


@dataclass
class Figures:
    """Per round: µs per request of each (row, variant), and of the end-to-end blocks."""

    inproc: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    e2e: dict[str, list[float]] = field(default_factory=dict)
    kernel: dict[str, list[float]] = field(default_factory=dict)

    def add(self, table: dict[Any, list[float]], key: Any, value: float) -> None:
        table.setdefault(key, []).append(value)


def run(args: argparse.Namespace) -> Figures:
    figures = Figures()
    work = Path(tempfile.mkdtemp(prefix="xrsched-floors-"))
    benches: dict[str, Bench] = {}
    bares: dict[str, Bare] = {}
    e2e: EndToEnd | None = None
    try:
        for row in args.rows:
            (work / row).mkdir()
            benches[row] = make_bench(row, work / row, args.pool)
            bares[row] = Bare(benches[row])
        if args.e2e_calls:
            e2e = EndToEnd(work, args.pool)
        for round_ in range(args.rounds):
            _one_round(round_, args, benches, bares, e2e, figures)
            print(f"round {round_ + 1}/{args.rounds} done, load {load_average()}", file=sys.stderr, flush=True)
    finally:
        for bare in bares.values():
            bare.close()
        for bench in benches.values():
            bench.server.close()
        if e2e is not None:
            e2e.close()
        shutil.rmtree(work, ignore_errors=True)
    return figures


def _one_round(
    round_: int, args: argparse.Namespace, benches: dict[str, Bench], bares: dict[str, Bare], e2e: EndToEnd | None,
    figures: Figures,
) -> None:  # fmt: skip
    variants = [removal.name for removal in REMOVALS] + ["bare stdlib"]
    shift = round_ % len(variants)
    for row, bench in benches.items():
        calls = args.calls if bench.pipelined else 16 * args.requests
        for name in variants[shift:] + variants[:shift]:
            if name == "bare stdlib":
                us = bares[row].block_us(calls)
            else:
                us = block_us(bench, next(r for r in REMOVALS if r.name == name), calls)
            figures.add(figures.inproc, (row, name), us)
    if e2e is not None:
        for key in ["bare", *benches]:
            us, kernel = e2e.block(key, args.e2e_calls)
            figures.add(figures.e2e, key, us)
            figures.add(figures.kernel, key, kernel)


# -------------------------------------------------------------------------------- the tables


def saving(figures: Figures, row: str, name: str) -> float:
    """Median over rounds of ``full - without name`` (each round's own pair)."""
    full, without = figures.inproc[row, "full"], figures.inproc[row, name]
    return statistics.median(f - w for f, w in zip(full, without, strict=True))


def best_saving(figures: Figures, row: str, name: str) -> float:
    """Best block of ``full`` minus best block without ``name`` (load only adds to a block)."""
    return min(figures.inproc[row, "full"]) - min(figures.inproc[row, name])


def render(figures: Figures, args: argparse.Namespace) -> str:
    rows = args.rows
    med = {key: statistics.median(values) for key, values in figures.inproc.items()}
    best = {key: min(values) for key, values in figures.inproc.items()}
    out = [f"| in process, µs per request: best (median) | required | {' | '.join(LABELS[r] for r in rows)} |",
           "| --- | :---: |" + " ---: |" * len(rows)]  # fmt: skip

    def line(label: str, mark: str, cells: list[tuple[float, float]]) -> None:
        out.append(f"| {label} | {mark} | " + " | ".join(f"{b:,.1f} ({m:,.1f})" for b, m in cells) + " |")

    line("**full**", "", [(best[r, "full"], med[r, "full"]) for r in rows])
    for removal in REMOVALS[1:]:
        label = f"without {removal.name}: saved"
        if removal.name == "all required":
            label = "**all required removed at once: saved**"
        cells = [(best_saving(figures, r, removal.name), saving(figures, r, removal.name)) for r in rows]
        line(label, "yes" if removal.required else "no", cells)
    summed = [
        (sum(best_saving(figures, r, n) for n in SUMMED), sum(saving(figures, r, n) for n in SUMMED)) for r in rows
    ]
    line("sum of the required, one by one", "", summed)
    line("bare stdlib handler + dispatcher, same requests", "", [(best[r, "bare stdlib"], med[r, "bare stdlib"])
                                                                 for r in rows])  # fmt: skip
    out.append("")
    out.append(f"{args.rounds} interleaved rounds; blocks of {args.calls} requests (the 16-call request: "
               f"{args.requests}); a saving is the best block with the component minus the best "
               "without it, and (in brackets) the median of the per-round differences. ping and add_task "
               "through the HTTP handler (no TLS), the 16-call request through the application.")  # fmt: skip
    out.append("")
    out.extend(budget(figures, args, med))
    return "\n".join(out)


def budget(figures: Figures, args: argparse.Namespace, med: dict[tuple[str, str], float]) -> list[str]:
    """What each target leaves for the required components, next to what they cost."""
    measured = bool(figures.e2e)
    e2e = {k: statistics.median(v) for k, v in figures.e2e.items()} if measured else dict(QUIET_E2E)
    source = "this run" if measured else "session 9's quiet window"
    bare = e2e["bare"]
    targets = {"ping": PING_RATIO * bare, "add_task": ADD_TASK_US, "multicall": MULTICALL_SHARE * MULTICALL_BEFORE}
    rows = [r for r in args.rows if r in e2e]
    out = [f"| end to end (server CPU µs per request, {source}) | " + " | ".join(LABELS[r] for r in rows) + " |",
           "| --- |" + " ---: |" * len(rows)]  # fmt: skip

    def line(label: str, cells: list[str]) -> None:
        out.append(f"| {label} | " + " | ".join(cells) + " |")

    required = {r: saving(figures, r, "all required") for r in rows}
    base = {r: e2e[r] - required[r] for r in rows}
    line("target", [f"{targets[r]:,.0f}" for r in rows])
    line("xrsched-server", [f"{e2e[r]:,.0f}" for r in rows])
    if measured:
        line("  of which kernel (stime)", [f"{statistics.median(figures.kernel[r]) * e2e[r]:,.0f}" for r in rows])
    if measured:
        line(
            "  of which outside the in-process path (TLS, syscalls, threads)",
            [f"{e2e[r] - med[r, 'full']:,.0f}" for r in rows],
        )
    line("bare stdlib server (ping only)", [f"{bare:,.0f}" if r == "ping" else "-" for r in rows])
    if measured:
        line("  of which kernel (stime)", [f"{statistics.median(figures.kernel['bare']) * bare:,.0f}" if r == "ping"
                                           else "-" for r in rows])  # fmt: skip
        line("  of which outside the in-process path", [f"{bare - med[r, 'bare stdlib']:,.0f}" if r == "ping" else "-"
                                                        for r in rows])  # fmt: skip
    line("bare-equivalent: xrsched-server without the required components", [f"{base[r]:,.0f}" for r in rows])
    line("**budget for the required: target - bare-equivalent**", [f"{targets[r] - base[r]:,.0f}" for r in rows])
    line("**required components (removed together)**", [f"{required[r]:,.0f}" for r in rows])
    line("floor: bare-equivalent + required", [f"{e2e[r]:,.0f} ({_times(e2e[r], targets[r])} target)" for r in rows])
    if "ping" in rows:
        line("ping with the bare server's base instead of ours: bare + required",
             [f"{bare + required['ping']:,.0f} ({_times(bare + required['ping'], bare)} bare)" if r == "ping" else "-"
              for r in rows])  # fmt: skip
    return out


def _times(value: float, reference: float) -> str:
    """``value / reference`` as ``1.23x``; ``-`` when a short block measured no CPU (one kernel tick)."""
    return f"{value / reference:.2f}x" if reference > 0 else "-"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated: " + ", ".join(ROWS))
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds; the table shows medians")
    parser.add_argument("--calls", type=int, default=300, help="ping or add_task requests per in-process block")
    parser.add_argument("--requests", type=int, default=40, help="16-call requests per in-process block")
    parser.add_argument("--pool", type=int, default=4000, help="tasks registered ahead for the 16-call request")
    parser.add_argument("--e2e-calls", type=int, default=1000,
                        help="the real servers end to end, blocks of this many calls (0: none; the budget then uses "
                             "session 9's quiet-window figures)")  # fmt: skip
    args = parser.parse_args(argv)
    args.rows = [r for r in args.rows.split(",") if r]
    unknown = set(args.rows) - set(ROWS)
    if unknown:
        parser.error(f"unknown row(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info(())
    info["load average at start"] = load_average()
    started = time.monotonic()
    figures = run(args)
    info["load average at end"] = load_average()
    print(render(figures, args))
    print()
    print(machine_line(info))
    print(f"\n(total {time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
