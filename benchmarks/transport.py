"""Transport benchmark: ``ping`` round trips against three servers, side by side, in one run.

* **xrsched**: the real ``xrsched-server`` (subprocess) over TLS, HTTP/1.1 keep-alive, a
  worker-role bearer token checked on every call and the audit log on (its default).
* **luigid**: Luigi's own ``luigid`` over plain HTTP, called through Luigi's own client
  (``luigi.rpc.RemoteScheduler``), which keeps its connection alive through a
  ``requests.Session`` when requests is installed (urllib otherwise: a connection per call).
* **bare**: a stdlib ``SimpleXMLRPCServer`` + ``ThreadingMixIn`` with TLS and HTTP/1.1
  keep-alive and nothing else: no auth, no audit, no limits, no request log. The ceiling
  of this stack (Python + ssl + xmlrpc).

xrsched and bare are called with the same client: ``xmlrpc.client.ServerProxy`` over a
``SafeTransport`` (one keep-alive connection per client), plus the bearer token for xrsched.

Each client is a separate process (forked via multiprocessing: with the GIL, 8 client
threads in one process would measure the client, not the server), with its own connection
and its own worker id. A measurement: every client connects and makes one call, then all
call ``ping`` back to back for a warm-up, then a fixed window; calls/s is the calls
completed in the window divided by its length, server CPU µs/call is the server process's
user+system CPU time over the window (``/proc/PID/stat``, all threads) divided by those
calls. Servers, client counts and repetitions are interleaved (round robin) so that drift
on a shared machine hits all servers alike; the table shows medians.

Run through ``benchmarks/run_transport.sh`` (it makes a venv with luigi; xrsched never
depends on luigi). ``--only xrsched,bare`` needs no luigi. ``--write`` puts the table into
benchmarks/README.md between the transport markers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import queue
import shutil
import signal
import socketserver
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from harness import (
    BearerTransport,
    kill_group,
    load_average,
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
BEGIN = "<!-- transport:begin -->"
END = "<!-- transport:end -->"
SERVERS = ("xrsched", "luigid", "bare")
#: Targets from the issue: xrsched >= 2.5x luigid's calls/s, and within 25 % of bare.
TARGET_VS_LUIGID = 2.5
TARGET_VS_BARE = 0.75
START_TIMEOUT = 30.0
#: argv[1] of this script when it runs xrsched-server under a per-thread cProfile.
PROFILED = "--serve-xrsched-profiled"


# ------------------------------------------------------------------------------ servers


@dataclass
class Server:
    """A running server subprocess and how clients reach it."""

    name: str
    proc: subprocess.Popen[bytes]
    spec: dict[str, Any]
    log_path: Path
    #: The per-call log the server keeps (xrsched's audit log, luigid's access log), if any.
    call_log: Path | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGINT to the server's own process group: every server here stops cleanly on it
        (and the profiled xrsched writes its profile)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)


def start_xrsched(work: Path, certs: Any, profile: Path | None = None, extra: tuple[str, ...] = ()) -> Server:
    """``xrsched-server`` with a worker token, TLS and its defaults; ``extra``: more options."""
    state = work / "xrsched-state"
    state.mkdir(mode=0o700)
    secret = mint_token(state / "tokens.toml", "bench", "worker")
    log_path = work / "xrsched-server.out"
    launcher = None if profile is None else [sys.executable, str(Path(__file__).resolve()), PROFILED, str(profile)]
    command = server_command(state, certs, extra, launcher)
    proc = spawn(command, log_path)
    match = wait_for_line(proc, log_path, r"xrsched-server listening on (https://\S+?/RPC2)", START_TIMEOUT)
    spec = {"kind": "xmlrpc", "url": match.group(1), "ca": str(certs.ca_cert), "secret": secret}
    server = Server("xrsched", proc, spec, log_path, state / "audit.log")
    return server


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def start_luigid(work: Path) -> Server:
    proc, port = spawn_luigid(work, "run_transport.sh", START_TIMEOUT)
    spec = {"kind": "luigi", "url": f"http://127.0.0.1:{port}"}
    return Server("luigid", proc, spec, work / "luigid.out", work / "luigid-logs" / "luigi-server.log")


def start_bare(work: Path, certs: Any) -> Server:
    log_path = work / "bare.out"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve-bare",
        "--cert",
        str(certs.server_cert),
        "--key",
        str(certs.server_key),
    ]
    proc = spawn(command, log_path)
    match = wait_for_line(proc, log_path, r"bare listening on (https://\S+?/RPC2)", START_TIMEOUT)
    return Server(
        "bare",
        proc,
        {"kind": "xmlrpc", "url": match.group(1), "ca": str(certs.ca_cert), "secret": None},
        log_path,
    )


class BareHandler(SimpleXMLRPCRequestHandler):
    """The stdlib's handler, as little changed as keep-alive over TLS needs."""

    protocol_version = "HTTP/1.1"  # keep-alive
    # The handler writes headers and body in two sends; with Nagle on, the body waits for
    # the client's delayed ACK of the headers (~40 ms a call). The stdlib switch for it:
    disable_nagle_algorithm = True


class BareServer(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    """The stdlib's server, a thread per connection."""

    daemon_threads = True


def bare_ping(worker: str | None = None) -> dict[str, Any]:
    """The bare server's only method: what xrsched's ping answers a worker with no messages."""
    return {"rpc_messages": []}


def serve_bare(cert: str, key: str) -> None:
    """The ceiling: stdlib SimpleXMLRPCServer, threaded, TLS, HTTP/1.1 keep-alive, nothing else."""
    server = BareServer(("127.0.0.1", 0), requestHandler=BareHandler, logRequests=False, allow_none=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # Handshakes then run in accept(), on the serving thread: fine for keep-alive clients.
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.register_function(bare_ping, "ping")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    host, port = server.server_address[:2]
    print(f"bare listening on https://{host}:{port}/RPC2", flush=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        server.serve_forever()
    server.server_close()


def serve_xrsched_profiled(out: Path, server_args: list[str]) -> int:
    """xrsched-server with one cProfile per thread, merged into ``out`` when the server stops.

    ``python -m cProfile`` would see only the main thread, which just waits for signals: the
    requests are served by one thread per connection.
    """
    import atexit
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []
    thread_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            thread_run(self)
        finally:
            profile.disable()

    def dump() -> None:
        merged: pstats.Stats | None = None
        for profile in profiles:
            profile.disable()  # a connection thread may still be waiting in its keep-alive loop
            with contextlib.suppress(TypeError):  # a thread that ran nothing profiled
                merged = pstats.Stats(profile) if merged is None else merged.add(profile)
        if merged is not None:
            merged.dump_stats(out)

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    # xrsched-server ends with os._exit after the atexit handlers (no interpreter teardown),
    # so the profile is written from one.
    atexit.register(dump)
    from xrsched.cli.server import main as server_main

    try:
        server_main(server_args, prog_name="xrsched-server")
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 0
    return 0


def print_profile(path: Path, top: int = 30) -> None:
    """The profiled server's top functions, per request (per Connection._serve_one call)."""
    import pstats

    if not path.exists():
        print(f"no profile written to {path}", file=sys.stderr)
        return
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    requests = max((v[1] for k, v in stats.items() if k[2] == "_serve_one"), default=0)
    if not requests:
        print("the profile holds no request", file=sys.stderr)
        return
    waits = ("acquire' of '_thread.lock", "poll' of 'select.poll", "'read' of '_ssl", "'write' of '_ssl")
    rows = []
    for (filename, line, name), (_cc, ncalls, self_time, cumulative, _callers) in stats.items():
        where = "/".join(filename.split("/")[-2:]) + f":{line}" if filename != "~" else ""
        rows.append((self_time, cumulative, ncalls, f"{where}({name})" if where else name))
    out = [
        f"\nxrsched-server profile: {requests:,} requests; us per request under cProfile (wall clock);",
        "socket reads/writes and idle waits include waiting, not only CPU.",
        "",
        "by own time:",
    ]
    for self_time, cumulative, ncalls, name in sorted(rows, reverse=True)[: top + 4]:
        if any(w in name for w in waits):
            continue
        out.append(
            f"  {self_time / requests * 1e6:7.1f} own {cumulative / requests * 1e6:7.1f} cum "
            f"{ncalls / requests:6.1f}x  {name}"
        )
    out.append("by cumulative time, inside request handling:")
    handling = [r for r in rows if r[1] <= rows_total(rows, "_serve_one")]
    for self_time, cumulative, ncalls, name in sorted(handling, key=lambda r: -r[1])[:top]:
        out.append(
            f"  {cumulative / requests * 1e6:7.1f} cum {self_time / requests * 1e6:7.1f} own "
            f"{ncalls / requests:6.1f}x  {name}"
        )
    print("\n".join(out), file=sys.stderr)


def rows_total(rows: list[tuple[float, float, int, str]], name: str) -> float:
    return max((r[1] for r in rows if r[3].endswith(f"({name})")), default=0.0)


# ------------------------------------------------------------------------------ clients


def _make_client(spec: dict[str, Any], worker: str) -> tuple[Callable[[], Any], Callable[[], dict[str, Any]]]:
    """(call, stats): ``call()`` makes one ping; ``stats()`` tells how the connection was used."""
    if spec["kind"] == "xmlrpc":
        context = ssl.create_default_context(cafile=spec["ca"])
        transport = BearerTransport(spec["secret"], context)
        proxy = xmlrpc.client.ServerProxy(spec["url"], transport=transport)
        seen = {"sock": None, "connections": 0}

        def call() -> Any:
            result = proxy.ping(worker)
            conn = transport._connection[1]
            sock = conn.sock if conn is not None else None
            if sock is not seen["sock"]:  # http.client reopened: keep-alive was lost
                seen["sock"] = sock
                seen["connections"] += 1
            return result

        def stats() -> dict[str, Any]:
            return {"client": "xmlrpc.client.ServerProxy + SafeTransport", "connections": seen["connections"]}

        return call, stats

    import luigi.rpc

    scheduler = luigi.rpc.RemoteScheduler(url=spec["url"])
    fetcher = scheduler._fetcher

    def luigi_call() -> Any:
        return scheduler.ping(worker=worker)

    def luigi_stats() -> dict[str, Any]:
        out: dict[str, Any] = {"client": f"luigi.rpc.RemoteScheduler ({type(fetcher).__name__})"}
        session = getattr(fetcher, "session", None)
        if session is not None:
            pools = session.get_adapter(spec["url"]).poolmanager.pools
            # urllib3 counts the connections each pool opened: 1 means requests kept it alive.
            keys = pools.keys()  # RecentlyUsedContainer: no plain iteration
            out["connections"] = sum(pools[key].num_connections for key in keys)
        else:
            out["connections"] = None  # urllib: one connection per call
        return out

    return luigi_call, luigi_stats


def _client_main(spec: dict[str, Any], index: int, results: Any, go: Any, times: Any) -> None:
    """One client process: connect, report ready, then ping back to back until the window ends."""
    try:
        call, stats = _make_client(spec, f"bench-w{index}")
        first = call()
        if not isinstance(first, dict) or first.get("rpc_messages") != []:
            raise RuntimeError(f"unexpected ping result: {first!r}")
        results.put(("ready", index, None))
        if not go.wait(START_TIMEOUT):
            raise RuntimeError("never told to start")
        start, end = times[0], times[1]
        calls = 0
        cpu_start = cpu_end = 0.0
        while True:
            call()
            now = time.monotonic()
            if now >= start:
                if calls == 0 and cpu_start == 0.0:
                    cpu_start = time.process_time()
                if now >= end:
                    cpu_end = time.process_time()
                    break
                calls += 1
        results.put(("done", index, {"calls": calls, "cpu": cpu_end - cpu_start, **stats()}))
    except BaseException:
        results.put(("error", index, traceback.format_exc()))


# ------------------------------------------------------------------------------ measuring


@dataclass
class Sample:
    server: str
    clients: int
    calls: int
    seconds: float
    server_cpu: float
    client_cpu: float
    connections: list[Any]
    client: str

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    @property
    def server_us(self) -> float:
        return self.server_cpu / max(self.calls, 1) * 1e6

    @property
    def client_us(self) -> float:
        return self.client_cpu / max(self.calls, 1) * 1e6


def measure(server: Server, clients: int, warmup: float, duration: float) -> Sample:
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    go = ctx.Event()
    times = ctx.Array("d", 2, lock=False)
    procs = [
        ctx.Process(target=_client_main, args=(server.spec, i, results, go, times), daemon=True) for i in range(clients)
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
        cpu0 = process_cpu(server.pid)
        sleep_until(times[1])
        cpu1 = process_cpu(server.pid)
        while len(done) < clients:
            collect(START_TIMEOUT)
    finally:
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    stats = list(done.values())
    return Sample(
        server=server.name,
        clients=clients,
        calls=sum(s["calls"] for s in stats),
        seconds=duration,
        server_cpu=cpu1 - cpu0,
        client_cpu=sum(s["cpu"] for s in stats),
        connections=[s["connections"] for s in stats],
        client=stats[0]["client"],
    )


# ------------------------------------------------------------------------------ reporting


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
    def client_us(self) -> float:
        return statistics.median(s.client_us for s in self.samples)

    @property
    def spread(self) -> str:
        rates = [s.rate for s in self.samples]
        return f"{min(rates):,.0f}-{max(rates):,.0f}"


def paired_ratio(row: Row, base: Row) -> float:
    """Median over repetitions of row's calls/s over base's, each pair measured back to back.

    On a shared machine a burst of outside load hits neighbouring measurements alike, so the
    ratio within one repetition is steadier than the ratio of the two medians.
    """
    return statistics.median(mine.rate / theirs.rate for mine, theirs in zip(row.samples, base.samples, strict=True))


def _ratio(row: Row, base: Row | None) -> str:
    return f"{paired_ratio(row, base):.2f}x" if base is not None else "-"


def render(rows: list[Row], info: dict[str, str], args: argparse.Namespace, notes: list[str]) -> str:
    by = {(r.server, r.clients): r for r in rows}
    lines = [
        "| server | clients | calls/s (median) | calls/s (min-max) | server CPU µs/call | ratio vs luigid "
        "| ratio vs bare | client CPU µs/call |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row.server} | {row.clients} | {row.rate:,.0f} | {row.spread} | {row.server_us:,.0f} "
            f"| {_ratio(row, by.get(('luigid', row.clients)))} "
            f"| {_ratio(row, by.get(('bare', row.clients)))} | {row.client_us:,.0f} |"
        )
    out = ["\n".join(lines), ""]
    verdicts = []
    for clients in args.clients:
        mine = by.get(("xrsched", clients))
        if mine is None:
            continue
        luigid, bare = by.get(("luigid", clients)), by.get(("bare", clients))
        if luigid is not None:
            ratio = paired_ratio(mine, luigid)
            verdicts.append(
                f"- {clients} client(s): xrsched / luigid = {ratio:.2f}x "
                f"(target ≥ {TARGET_VS_LUIGID}x: {'met' if ratio >= TARGET_VS_LUIGID else 'MISSED'})"
            )
        if bare is not None:
            ratio = paired_ratio(mine, bare)
            verdicts.append(
                f"- {clients} client(s): xrsched / bare = {ratio:.2f}x "
                f"(target ≥ {TARGET_VS_BARE}x: {'met' if ratio >= TARGET_VS_BARE else 'MISSED'}); "
                f"server CPU per call {mine.server_us:,.0f} µs vs {bare.server_us:,.0f} µs "
                f"({mine.server_us / bare.server_us:.2f}x)"
            )
    if verdicts:
        out += ["Targets:", "", *verdicts, ""]
    reps = args.reps
    out.append(
        f"Medians of {reps} repetition{'s' if reps != 1 else ''}; each a {args.warmup:g} s warm-up then a "
        f"{args.duration:g} s window; servers, client counts and repetitions interleaved round robin. "
        "Ratios are medians of the per-repetition ratios (the two servers measured back to back)."
    )
    out.append("")
    out.append(machine_line(info))
    if notes:
        out += ["", *[f"- {n}" for n in notes]]
    return "\n".join(out)


def write_readme(body: str) -> None:
    section = (
        f"{BEGIN}\n## Transport\n\n"
        "`ping` round trips, one client process per client, each with one keep-alive connection "
        "(see the docstring of `transport.py`). xrsched: TLS + worker bearer token + audit log; "
        "luigid: plain HTTP through `luigi.rpc.RemoteScheduler`; bare: stdlib `SimpleXMLRPCServer` "
        "with TLS and keep-alive only, the ceiling of this stack. calls/s is the sum over clients; "
        "server CPU is the server process's user+system time per call (clients run on the same "
        "2 cores, so calls/s also pays for the client: see the last column). On a shared machine, "
        "calls/s with 8 clients (the CPU saturated) moves with outside load; server CPU µs/call is "
        "the steadier figure. `--profile-xrsched FILE` runs xrsched-server under a per-thread "
        "cProfile and prints its top functions per request.\n\n"
        "How to reproduce: `benchmarks/run_transport.sh --write` (makes `benchmarks/.venv-transport` "
        "with luigi and requests; about 4 minutes).\n\n"
        f"{body}\n{END}"
    )
    write_block(README, BEGIN, END, section)


# ------------------------------------------------------------------------------ main


@contextlib.contextmanager
def running_servers(names: list[str], work: Path, profile: Path | None) -> Iterator[dict[str, Server]]:
    from xrsched.certgen import make_dev_certificates

    certs = make_dev_certificates(work / "certs")
    servers: dict[str, Server] = {}
    try:
        for name in names:
            if name == "xrsched":
                servers[name] = start_xrsched(work, certs, profile)
            elif name == "luigid":
                servers[name] = start_luigid(work)
            else:
                servers[name] = start_bare(work, certs)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def _progress(rep: int, reps: int, sample: Sample) -> None:
    print(
        f"rep {rep + 1}/{reps} {sample.server:8} clients={sample.clients}: {sample.rate:8,.0f} calls/s"
        f"  server {sample.server_us:6,.0f} us/call  client {sample.client_us:6,.0f} us/call"
        f"  connections={sample.connections}",
        file=sys.stderr,
        flush=True,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default=",".join(SERVERS), help="servers, comma-separated (default: all)")
    parser.add_argument("--clients", default="1,8", help="client counts, comma-separated (default: 1,8)")
    parser.add_argument("--reps", type=int, default=7, help="repetitions; the table shows medians")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds of warm-up per measurement")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds measured per measurement")
    parser.add_argument("--quick", action="store_true", help="1 repetition of 0.3 s + 1 s (smoke test)")
    parser.add_argument("--write", action="store_true", help="write the table into benchmarks/README.md")
    parser.add_argument("--json", type=Path, help="also dump every sample here")
    parser.add_argument(
        "--profile-xrsched",
        type=Path,
        metavar="FILE",
        help="run xrsched-server under a cProfile per thread, save the merged stats (pstats) to FILE "
        "and print the top functions per call; its numbers are then inflated by the profiler",
    )
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cert", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.servers = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))} (known: {', '.join(SERVERS)})")
    args.servers = [s for s in SERVERS if s in args.servers]  # table order
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    if args.quick:
        args.reps, args.warmup, args.duration = 1, 0.3, 1.0
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [PROFILED]:
        return serve_xrsched_profiled(Path(argv[1]), argv[2:])
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.cert, args.key)
        return 0
    # SIGTERM unwinds like Ctrl-C, so the servers (in their own sessions) are always stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    info = machine_info(("luigi", "tornado", "requests"))
    work = Path(tempfile.mkdtemp(prefix="xrsched-transport-"))
    (work / "luigi.cfg").write_text("")
    os.environ["LUIGI_CONFIG_PATH"] = str(work / "luigi.cfg")  # luigid and luigi's client alike
    samples: list[Sample] = []
    started = time.monotonic()
    try:
        with running_servers(args.servers, work, args.profile_xrsched) as servers:
            for rep in range(args.reps):
                for clients in args.clients:
                    for name in args.servers:
                        sample = measure(servers[name], clients, args.warmup, args.duration)
                        samples.append(sample)
                        _progress(rep, args.reps, sample)
            logged = {name: _count_lines(s.call_log) for name, s in servers.items() if s.call_log}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        Row(name, clients, [s for s in samples if s.server == name and s.clients == clients])
        for name in args.servers
        for clients in args.clients
    ]
    notes = []
    for name in args.servers:
        mine = [s for s in samples if s.server == name]
        counts = [c for s in mine for c in s.connections if c is not None]
        kept = f"at most {max(counts)} connection(s) per client process" if counts else "connections not counted"
        line = f"{name}: client {mine[0].client}; {kept}"
        if name in logged:
            kind = "audit log" if name == "xrsched" else "access log"
            line += f"; {logged[name]:,} lines in its {kind} (one per call)"
        notes.append(line + ".")
    info["load average at end"] = load_average()
    body = render(rows, info, args, notes)
    print(body)
    print(f"\n(total {time.monotonic() - started:.0f} s)", file=sys.stderr)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "samples": [{**s.__dict__, "rate": s.rate, "server_us": s.server_us} for s in samples],
                },
                indent=2,
            )
        )
    if args.profile_xrsched is not None:
        print_profile(args.profile_xrsched)
    if args.write:
        write_readme(body)
        print(f"wrote {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
