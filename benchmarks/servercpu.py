"""Server CPU per call, end to end: real server processes, a fixed number of keep-alive TLS calls.

What a call costs the server with everything around it (TLS, HTTP parsing, the connection
thread, socket I/O, authentication, dispatch, audit): the server process's user+system CPU
time (``/proc/PID/stat``, every thread) over a block of ``--calls`` requests sent back to back
on one keep-alive TLS connection, divided by the requests. The client's own CPU does not enter
the figure, so it survives a loaded machine far better than calls/s does (only the kernel
tick, 10 ms, limits its resolution: keep blocks near a second of server CPU).

Servers, all running at once:

* ``xrsched``: ``xrsched-server`` of this checkout (worker bearer token, audit log on, state
  in SQLite as by default);
* ``base``: the same from ``--against DIR`` (``PYTHONPATH=DIR``, e.g. ``git archive BASE | tar -x``);
* ``bare``: the stdlib ``SimpleXMLRPCServer`` with TLS of ``transport.py``, ``ping`` only.

Workloads are those of ``percall.py`` (same bodies): ``ping``, ``add_task`` (a new task per call)
and ``multicall`` (a worker's 8 reports + 8 asks; figures per request). Rounds interleave the
servers and rotate their order; the table gives the median of the per-round figures and the
median of the per-round ratios (servers measured back to back within a round).

    .venv/bin/python benchmarks/servercpu.py --against /tmp/base --rounds 7
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness import load_average, machine_info, machine_line, process_cpu
from percall import WORKLOADS, WorkerRequest, make_workload
from transport import Server, start_bare, start_xrsched

#: Which workloads each server answers (the bare server has only ``ping``).
ANSWERS = {"xrsched": WORKLOADS, "base": WORKLOADS, "bare": ("ping",)}


class Connection:
    """One keep-alive TLS connection posting XML-RPC bodies, as ``percall.Server.post`` does."""

    def __init__(self, server: Server) -> None:
        url = urlsplit(server.spec["url"])
        context = ssl.create_default_context(cafile=server.spec["ca"])
        self.conn = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=60)
        self.path = url.path
        self.headers = {"Content-Type": "text/xml"}
        if server.spec["secret"]:
            self.headers["Authorization"] = f"Bearer {server.spec['secret']}"
        self.connects = 0

    def post(self, body: bytes) -> bytes:
        if self.conn.sock is None:
            self.connects += 1
        self.conn.request("POST", self.path, body, self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
        return data

    def ready(self, workload: Any) -> None:
        """One untimed request, reconnecting first if the server closed the idle connection
        (a block waits for the other servers' blocks: longer than the idle timeout, at times)."""
        try:
            answer = self.post(workload.next_body())
        except (OSError, http.client.HTTPException):
            self.conn.close()
            answer = self.post(workload.next_body())
        workload.check(answer)


def block_us(server: Server, conn: Connection, workload: Any, calls: int) -> float:
    """Server CPU µs per request over ``calls`` requests (bodies built first, answers checked
    after: the client's work between calls is not the server's)."""
    answers = []
    conn.ready(workload)
    connects = conn.connects
    if isinstance(workload, WorkerRequest):  # each request reports what the last was given
        workload.reserve(calls)
        before = process_cpu(server.pid)
        for _ in range(calls):
            answer = conn.post(workload.next_body())
            workload.check(answer)
        spent = process_cpu(server.pid) - before
        _kept_alive(conn, connects)
        return spent / calls * 1e6
    bodies = [workload.next_body() for _ in range(calls)]
    before = process_cpu(server.pid)
    for body in bodies:
        answers.append(conn.post(body))
    spent = process_cpu(server.pid) - before
    _kept_alive(conn, connects)
    for answer in answers:
        workload.check(answer)
    return spent / calls * 1e6


def _kept_alive(conn: Connection, connects: int) -> None:
    if conn.connects != connects:
        raise RuntimeError("the connection was lost inside a timed block: keep-alive failed")


@contextlib.contextmanager
def servers(work: Path, against: Path | None, names: list[str], extra: tuple[str, ...]) -> Iterator[dict[str, Server]]:
    from xrsched.certgen import make_dev_certificates

    certs = make_dev_certificates(work / "certs")
    running: dict[str, Server] = {}
    try:
        for name in names:
            if name == "bare":
                running[name] = start_bare(work, certs)
            elif name == "base":
                assert against is not None
                running[name] = _start_from(against, work / "base", certs, extra)
            else:
                (work / name).mkdir()
                running[name] = start_xrsched(work / name, certs, extra=extra)
        yield running
    finally:
        for server in running.values():
            server.stop()


def _start_from(source: Path, work: Path, certs: Any, extra: tuple[str, ...]) -> Server:
    """``start_xrsched`` with the package imported from ``source`` (checked before starting)."""
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(source)}
    where = subprocess.run(
        [sys.executable, "-c", "import xrsched; print(xrsched.__file__)"],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not where.startswith(str(source.resolve())):
        raise RuntimeError(f"PYTHONPATH={source} imports xrsched from {where}")
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(source)
    try:
        return start_xrsched(work, certs, extra=extra)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved


def run(args: argparse.Namespace) -> dict[tuple[str, str], list[float]]:
    figures: dict[tuple[str, str], list[float]] = {}
    work = Path(tempfile.mkdtemp(prefix="xrsched-servercpu-"))
    try:
        extra = ("--store", args.store) if args.store else ()
        with servers(work, args.against, args.servers, extra) as running:
            plans = {}
            for name, server in running.items():
                for load in (w for w in args.workloads if w in ANSWERS[name]):
                    conn = Connection(server)
                    workload = make_workload(load, conn, args.pool)  # type: ignore[arg-type]
                    for _ in range(50):  # warm-up: caches, first-use compilation
                        workload.check(conn.post(workload.next_body()))
                    plans[name, load] = (server, conn, workload)
            keys = list(plans)
            for round_ in range(args.rounds):
                shift = round_ % len(keys)
                for key in keys[shift:] + keys[:shift]:
                    server, conn, workload = plans[key]
                    calls = args.calls // 16 if key[1] == "multicall" else args.calls
                    figures.setdefault(key, []).append(block_us(server, conn, workload, calls))
                print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(
                    f"{n}/{w} {figures[n, w][-1]:.0f}" for n, w in keys), file=sys.stderr)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures


def paired(figures: dict[tuple[str, str], list[float]], a: tuple[str, str], b: tuple[str, str]) -> str:
    if a not in figures or b not in figures:
        return "-"
    # A short block can end within one kernel tick of CPU (0 µs): such rounds have no ratio.
    ratios = [x / y for x, y in zip(figures[a], figures[b], strict=True) if y > 0]
    return f"{statistics.median(ratios):.2f}" if ratios else "-"


def render(figures: dict[tuple[str, str], list[float]], args: argparse.Namespace, info: dict[str, str]) -> str:
    lines = [
        "| workload | server | server CPU µs/request (median) | min-max | vs base | vs bare |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for load in args.workloads:
        for name in args.servers:
            values = figures.get((name, load))
            if not values:
                continue
            lines.append(
                f"| {load} | {name} | {statistics.median(values):,.0f} | {min(values):,.0f}-{max(values):,.0f} "
                f"| {paired(figures, (name, load), ('base', load))} | {paired(figures, (name, load), ('bare', load))} |"
            )
    lines.append("")
    lines.append(
        f"Store: {args.store or 'default'}; {args.rounds} rounds of {args.calls} calls "
        f"({args.calls // 16} multicall requests of 16 calls); ratios are medians of per-round ratios."
    )
    lines.append(machine_line(info))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="a checkout of another commit to compare with (server 'base')")
    parser.add_argument("--servers", help="comma-separated: xrsched, base, bare (default: all available)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS))
    parser.add_argument("--calls", type=int, default=2000, help="calls per block (multicall: calls / 16 requests)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the table shows medians")
    parser.add_argument("--store", choices=("memory", "sqlite"), help="xrsched-server's --store (default: its own)")
    parser.add_argument("--pool", type=int, default=4000, help="tasks registered ahead for multicall")
    args = parser.parse_args(argv)
    default = ["xrsched", "base", "bare"] if args.against else ["xrsched", "bare"]
    args.servers = args.servers.split(",") if args.servers else default
    args.workloads = args.workloads.split(",")
    if "base" in args.servers and args.against is None:
        parser.error("server 'base' needs --against DIR")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info(())
    started = time.monotonic()
    figures = run(args)
    info["load average at end"] = load_average()
    print(render(figures, args, info))
    print(f"\n(total {time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
