"""Per-call server CPU, in process: fixed XML-RPC bodies through the server's Application.

What a request costs the server past HTTP and TLS: authentication (a worker bearer token),
parsing, argument checks, the role and ownership checks, the scheduler call, the reply cache,
the audit record (chained, written to a file), the metrics and marshalling. The application is
the one a real ``ServerRuntime`` builds (never started). The body goes straight into
``SchedulerApp.authenticate`` + ``SchedulerApp.handle_rpc``, so no socket, no client and no
other process shares the timing: on a shared machine these figures are far steadier than the
end-to-end benchmarks', and the same script runs against any checkout (``PYTHONPATH``) that has
``ServerRuntime`` (session 7 on). ``--http`` adds the server's own HTTP handler in front (no TLS).

Workloads (every body is built before its timed block; each call carries its own request id,
as xrsched's client sends, so the reply cache never answers in place of the method):

* ``ping``: ``ping(worker)``.
* ``add_task``: a new task registered per call, with the arguments of the durability benchmark.
* ``multicall``: a worker's typical request in the e2e fan-in: 8 ``add_task(DONE)`` reports of
  the tasks the previous request handed out (with their fields, as reports carry them) plus 8
  ``get_work`` asks, in one ``system.multicall``. Figures are per request (16 calls).

``--store`` runs the same with a SQLite store (``--sync full`` by default, as xrsched-server):
the committer thread's CPU counts too (process CPU time), the fsync's wait does not.

Timing: CPU time of this process (``time.process_time``) around blocks of ``--calls`` requests;
the figure is the best block of ``--reps``. ``--against DIR`` runs this script twice per round,
once with ``PYTHONPATH=DIR`` (a checkout of another commit, e.g. ``git archive BASE | tar -x``)
and once with this checkout, interleaved, and prints both and their ratio.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOADS = ("ping", "add_task", "multicall")
WORKER = "bench-worker-1"
PEER = ("127.0.0.1", 50000)
REPORTS = 8
ASKS = 8


# ------------------------------------------------------------------------------- the server


class Server:
    """The application of a real ``ServerRuntime`` (as xrsched-server builds it: tokens file,
    chained audit log, metrics, the chosen store), never started: no thread serves its
    listener, requests go to its ``SchedulerApp`` directly or through ``HttpPath``."""

    def __init__(self, directory: Path, *, store: str | None) -> None:
        import io

        from xrsched.auth import Role, add_token
        from xrsched.server.runtime import ServerRuntime
        from xrsched.settings import ServerSettings

        state = directory / "state"
        state.mkdir(mode=0o700)
        secret = add_token(state / "tokens.toml", "bench", Role.WORKER)
        self.headers = {"Authorization": f"Bearer {secret}", "Content-Type": "text/xml"}
        backing = {"store": "memory"} if store is None else {"store": "sqlite", "sync": store}
        settings = ServerSettings(port=0, state_path=state, **backing)  # type: ignore[arg-type]
        self.runtime = ServerRuntime(settings, out=io.StringIO())
        self.app = self.runtime.app
        self.service = self.app.service
        self._sequence = itertools.count(1)
        self._http: HttpPath | None = None

    def post(self, body: bytes) -> bytes:
        """One request as the HTTP handler makes it: authenticate, then handle the body."""
        from xrsched.rpc.app import RequestInfo

        sequence = next(self._sequence)
        identity = self.app.authenticate(self.headers, None, peer=PEER)
        request = RequestInfo(
            peer=PEER, method="POST", path="/RPC2", request_id=f"r{sequence}",
            identity=identity, tls=True, headers={"User-Agent": "percall"},
        )  # fmt: skip
        result = self.app.handle_rpc(body, request)
        if result.status != 200:
            raise RuntimeError(f"HTTP {result.status}: {result.message}")
        return result.body

    def http_path(self) -> HttpPath:
        """The HTTP layer in front of this server's application (made on first use)."""
        if self._http is None:
            self._http = HttpPath(self)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self.runtime.shutdown()


class HttpPath:
    """The server's own HTTP layer in front of the application: a block's requests are written
    down a Unix socketpair at once (pipelined on one keep-alive connection) and read, routed
    and answered by ``RpcRequestHandler`` in the timing thread, as a connection thread of
    xrsched-server does, without TLS. Only the handler's thread is timed (``thread_time``): the
    threads that write the requests and read the answers are the client's."""

    def __init__(self, server: Server) -> None:
        from xrsched.rpc.http_server import RpcHttpServer

        self.server = server
        self.http = RpcHttpServer(("127.0.0.1", 0), server.app, tls_context=None)
        auth = server.headers["Authorization"]
        self.head = ("POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
                     f"Content-Type: text/xml\r\nUser-Agent: percall\r\nAuthorization: {auth}\r\n")  # fmt: skip

    def request(self, body: bytes) -> bytes:
        """One HTTP request as xrsched's client sends it (its own request id in the body)."""
        return (self.head + f"Content-Length: {len(body)}\r\n\r\n").encode("ascii") + body

    def serve_block(self, bodies: list[bytes]) -> tuple[float, list[bytes]]:
        """CPU seconds the handler spent on ``bodies``, and the answers' bodies."""
        from xrsched.rpc.handler import RpcRequestHandler

        requests = b"".join(self.request(body) for body in bodies)
        return serve_pipelined(requests, len(bodies), lambda served: RpcRequestHandler(served, PEER, self.http))

    def close(self) -> None:
        self.http.server_close()


def serve_pipelined(
    requests: bytes, count: int, handle: Callable[[socket.socket], object]
) -> tuple[float, list[bytes]]:
    """``requests`` (``count`` of them) written down a Unix socketpair at once and served by
    ``handle(socket)`` in this thread until the input ends: the handler thread's CPU seconds
    (``thread_time``; the threads that write and read are the client's) and the answers' bodies."""
    client, served = socket.socketpair()
    received = bytearray()

    def send() -> None:
        client.sendall(requests)
        client.shutdown(socket.SHUT_WR)

    def receive() -> None:
        while chunk := client.recv(1 << 20):
            received.extend(chunk)

    threads = [threading.Thread(target=send), threading.Thread(target=receive)]
    for thread in threads:
        thread.start()
    started = time.thread_time()
    handle(served)  # serves until the input ends
    cpu = time.thread_time() - started
    served.close()  # as the server's shutdown_request does (the stdlib's handler leaves it open)
    for thread in threads:
        thread.join()
    client.close()
    return cpu, _split_answers(bytes(received), count)


def _split_answers(data: bytes, count: int) -> list[bytes]:
    """The bodies of ``count`` pipelined 200 answers (anything else is an error here)."""
    answers = []
    at = 0
    while at < len(data):
        end = data.index(b"\r\n\r\n", at)
        head = data[at:end]
        if not head.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError(f"answer {len(answers) + 1}: {data[at : at + 400]!r}")
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        answers.append(data[end + 4 : end + 4 + length])
        at = end + 4 + length
    if len(answers) != count:
        raise RuntimeError(f"{len(answers)} answers to {count} requests")
    return answers


def _keywords(**kwargs: Any) -> dict[str, Any]:
    return {"__starstar": True, **{k: v for k, v in kwargs.items() if v is not None},
            "__request_id": uuid.uuid4().hex}  # fmt: skip


def _call(method: str, **kwargs: Any) -> bytes:
    return xmlrpc.client.dumps((_keywords(**kwargs),), method).encode()


def _multicall(calls: list[tuple[str, dict[str, Any]]]) -> bytes:
    """A multicall as xrsched's client writes it: no whitespace between elements."""
    entries = [{"methodName": m, "params": [_keywords(**kw)]} for m, kw in calls]
    return xmlrpc.client.dumps((entries,), "system.multicall").encode().replace(b">\n<", b"><")


def _answer(body: bytes) -> Any:
    try:
        return xmlrpc.client.loads(body, use_builtin_types=True)[0][0]
    except xmlrpc.client.Fault as fault:
        raise RuntimeError(f"fault {fault.faultCode}: {fault.faultString}") from None


def task_fields(n: int) -> dict[str, Any]:
    """A task's ``add_task`` fields, as the durability benchmark registers them."""
    return {
        "task_id": f"BenchTask_{n:08d}", "family": "BenchTask", "module": "bench.tasks",
        "params": {"date": "2026-11-22", "n": str(n)}, "param_visibilities": {"date": 0, "n": 0},
        "priority": n % 5, "resources": {}, "retry_policy_dict": {}, "deps": [], "runnable": True,
        "accepts_messages": False, "assistant": False,
    }  # fmt: skip


def report(task_id: str) -> dict[str, Any]:
    """A worker's DONE report: the task's fields but those at the scheduler's default (as
    ``Task.scheduler_fields`` leaves them out), worker, status, expl."""
    n = int(task_id.rsplit("_", 1)[1])
    fields = {k: v for k, v in task_fields(n).items() if k in ("task_id", "family", "module", "params")}
    if n % 5:
        fields["priority"] = n % 5
    return {**fields, "batchable": False, "worker": WORKER, "status": "DONE", "expl": ""}


# ----------------------------------------------------------------------------- workloads


class Workload:
    """Makes the next request's body (untimed) and checks its answer (untimed)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def next_body(self) -> bytes:
        raise NotImplementedError

    def check(self, answer: bytes) -> None:
        _answer(answer)


class Ping(Workload):
    def next_body(self) -> bytes:
        return _call("ping", worker=WORKER)


class AddTask(Workload):
    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.n = 0

    def next_body(self) -> bytes:
        self.n += 1
        return _call("add_task", worker=WORKER, status="PENDING", **task_fields(self.n))


class WorkerRequest(Workload):
    """8 reports of what the last request handed out + 8 asks; tasks registered in advance."""

    def __init__(self, server: Server, *, pool: int) -> None:
        super().__init__(server)
        self.pool = pool
        self.registered = 0
        self.running: list[str] = []
        self.given = 0  # tasks handed out so far
        self._register(pool)
        self.check(server.post(self.next_body()))

    def _register(self, count: int) -> None:
        for start in range(self.registered, self.registered + count, 500):
            calls = [("add_task", {**task_fields(n), "worker": WORKER, "status": "PENDING"})
                     for n in range(start, min(start + 500, self.registered + count))]  # fmt: skip
            for entry in _answer(self.server.post(_multicall(calls))):
                if isinstance(entry, dict):
                    raise RuntimeError(f"registration refused: {entry}")
        self.registered += count

    def reserve(self, requests: int) -> None:
        """Register enough tasks now that the next ``requests`` requests register none (so a
        timed block holds only worker requests)."""
        short = (requests + 4) * ASKS - (self.registered - self.given)
        if short > 0:
            self._register(max(short, self.pool))

    def next_body(self) -> bytes:
        if self.registered - self.given < 4 * ASKS:
            self._register(self.pool)
        calls = [("add_task", report(t)) for t in self.running[:REPORTS]]
        for i in range(ASKS):
            ask: dict[str, Any] = {"worker": WORKER, "host": "bench-host"}
            if i == 0:
                ask["current_tasks"] = []
            if i < ASKS - 1:
                ask["brief"] = True
            calls.append(("get_work", ask))
        return _multicall(calls)

    def check(self, answer: bytes) -> None:
        entries = _answer(answer)
        if any(isinstance(e, dict) for e in entries):
            raise RuntimeError(f"a call failed: {[e for e in entries if isinstance(e, dict)][:1]}")
        replies = [e[0] for e in entries[-ASKS:]]
        self.running = [r["task_id"] for r in replies if r.get("task_id")]
        self.given += len(self.running)
        if len(self.running) != ASKS:
            raise RuntimeError(f"get_work handed out {len(self.running)} tasks, not {ASKS}")


def make_workload(name: str, server: Server, pool: int) -> Workload:
    if name == "ping":
        return Ping(server)
    if name == "add_task":
        return AddTask(server)
    return WorkerRequest(server, pool=pool)


# -------------------------------------------------------------------------------- timing


def measure(
    name: str,
    *,
    calls: int,
    reps: int,
    store: str | None,
    pool: int,
    profile: Path | None,
    threads: int = 1,
    http: bool = False,
) -> float:
    """Best µs of CPU per request over ``reps`` blocks of ``calls`` requests (``threads`` threads
    share each block of ping or add_task: group commit then has several callers to group)."""
    with tempfile.TemporaryDirectory(prefix="percall-") as tmp:
        server = Server(Path(tmp), store=store)
        try:
            workload = make_workload(name, server, pool)
            for _ in range(min(calls, 50)):  # warm-up: caches, first-use compilation
                workload.check(server.post(workload.next_body()))
            best = float("inf")
            profiler = _profiler() if profile else None
            for _ in range(reps):
                if http:
                    cpu = _timed_http(server, workload, [workload.next_body() for _ in range(calls)], profiler)
                elif name == "multicall":
                    cpu = _timed_dependent(server, workload, calls, profiler)
                elif threads > 1:
                    cpu = _timed_threads(server, workload, [workload.next_body() for _ in range(calls)], threads)
                else:
                    cpu = _timed_block(server, workload, [workload.next_body() for _ in range(calls)], profiler)
                best = min(best, cpu / calls * 1e6)
            if profiler is not None and profile is not None:
                profiler.dump_stats(str(profile))
            return best
        finally:
            server.close()


def _profiler() -> Any:
    import cProfile

    return cProfile.Profile()


def _timed_block(server: Server, workload: Workload, bodies: list[bytes], profiler: Any) -> float:
    answers = []
    if profiler is not None:
        profiler.enable()
    started = time.process_time()
    for body in bodies:
        answers.append(server.post(body))
    cpu = time.process_time() - started
    if profiler is not None:
        profiler.disable()
    for answer in answers:
        workload.check(answer)
    return cpu


def _timed_http(server: Server, workload: Workload, bodies: list[bytes], profiler: Any) -> float:
    path = server.http_path()
    if profiler is not None:
        profiler.enable()
    cpu, answers = path.serve_block(bodies)
    if profiler is not None:
        profiler.disable()
    for answer in answers:
        workload.check(answer)
    return cpu


def _timed_threads(server: Server, workload: Workload, bodies: list[bytes], threads: int) -> float:
    """``bodies`` posted by ``threads`` threads at once; CPU of the whole process."""
    answers: list[bytes] = []
    start = threading.Barrier(threads + 1)

    def post_share(share: list[bytes]) -> None:
        start.wait()
        answers.extend(server.post(body) for body in share)

    workers = [threading.Thread(target=post_share, args=(bodies[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    started = time.process_time()
    start.wait()
    for worker in workers:
        worker.join()
    cpu = time.process_time() - started
    if len(answers) != len(bodies):
        raise RuntimeError(f"{len(bodies) - len(answers)} request(s) failed in the threads")
    for answer in answers:
        workload.check(answer)
    return cpu


def _timed_dependent(server: Server, workload: Workload, calls: int, profiler: Any) -> float:
    """Each request depends on the previous answer: only ``post`` is inside the clock."""
    cpu = 0.0
    for _ in range(calls):
        body = workload.next_body()
        if profiler is not None:
            profiler.enable()
        started = time.process_time()
        answer = server.post(body)
        cpu += time.process_time() - started
        if profiler is not None:
            profiler.disable()
        workload.check(answer)
    return cpu


# --------------------------------------------------------------------------------- A/B


def _child(pythonpath: str, args: argparse.Namespace, workloads: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    command = [sys.executable, str(Path(__file__)), "--json", "--workloads", ",".join(workloads),
               "--calls", str(args.calls), "--reps", str(args.reps), "--pool", str(args.pool),
               "--threads", str(args.threads)]  # fmt: skip
    if args.store:
        command += ["--store", args.store]
    if args.http:
        command.append("--http")
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=tempfile.gettempdir())
    if out.returncode != 0:
        raise SystemExit(f"run with PYTHONPATH={pythonpath} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if Path(result.pop("source")) != Path(pythonpath).resolve():
        raise SystemExit(f"PYTHONPATH={pythonpath} did not decide which xrsched was imported")
    return {w: float(result[w]) for w in workloads}


def compare(args: argparse.Namespace, workloads: list[str]) -> None:
    """Interleave runs of the other checkout (A) and this one (B); print medians of the bests."""
    a_runs: dict[str, list[float]] = {w: [] for w in workloads}
    b_runs: dict[str, list[float]] = {w: [] for w in workloads}
    print(f"load average at start: {_load()}")
    for round_no in range(args.rounds):
        for label, path, runs in (("A", args.against, a_runs), ("B", str(REPO), b_runs)):
            figures = _child(str(path), args, workloads)
            for w in workloads:
                runs[w].append(figures[w])
            shown = ", ".join(f"{w} {figures[w]:,.0f}" for w in workloads)
            print(f"round {round_no + 1} {label}: {shown} µs", flush=True)
    print(f"load average at end: {_load()}")
    store = f"store {args.store}" if args.store else "in memory"
    print(f"\n| request ({store}) | A µs (median of bests) | B µs | B / A | B / A per round (median) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for w in workloads:
        a, b = statistics.median(a_runs[w]), statistics.median(b_runs[w])
        paired = statistics.median(y / x for x, y in zip(a_runs[w], b_runs[w], strict=True))
        print(f"| {w} | {a:,.1f} | {b:,.1f} | {b / a:.2f} | {paired:.2f} |")
    print(f"\nA = {args.against}, B = {REPO}; {args.rounds} rounds, each the best of {args.reps} blocks "
          f"of {args.calls} requests")  # fmt: skip


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS))
    parser.add_argument("--calls", type=int, default=300, help="requests per timed block")
    parser.add_argument("--reps", type=int, default=7, help="timed blocks; the best counts")
    parser.add_argument("--pool", type=int, default=4000, help="tasks registered ahead for multicall")
    parser.add_argument("--store", choices=("full", "normal", "off"), help="a SQLite store with this sync")
    parser.add_argument("--threads", type=int, default=1, help="threads posting ping/add_task bodies at once")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the timed blocks (one workload)")
    parser.add_argument("--against", type=Path, help="a checkout to compare with (A/B, interleaved)")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds")
    parser.add_argument("--http", action="store_true",
                        help="through the server's HTTP handler too (pipelined over a socketpair, no TLS; "
                             "ping and add_task)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON line of µs per request")
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    if args.http and ("multicall" in workloads or args.threads > 1):
        parser.error("--http measures ping and add_task, one connection (multicall requests depend on answers)")
    if args.against is not None:
        compare(args, workloads)
        return 0
    figures = {w: measure(w, calls=args.calls, reps=args.reps, store=args.store, pool=args.pool,
                          profile=args.profile, threads=args.threads, http=args.http) for w in workloads}  # fmt: skip
    if args.json:
        import xrsched

        print(json.dumps({**figures, "source": str(Path(xrsched.__file__).resolve().parent.parent)}))
    else:
        for w, us in figures.items():
            print(f"{w:10} {us:8,.1f} µs CPU per request (best of {args.reps} blocks of {args.calls})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
