"""Dashboard load benchmark: do browsers watching the dashboard slow the workers down?

A real ``xrsched-server`` (subprocess, TLS, audit log on) holds 100,000 pending tasks. One
worker process (worker-role bearer token, one keep-alive connection) runs a paced loop,
``get_work`` then ``add_task(status=DONE)`` for the task it got, and times each ``get_work``.
That is measured in two conditions, alternating (idle, loaded, idle, loaded...) so drift on a
shared machine hits both alike:

* **idle**: nobody else talks to the server;
* **5 dashboards**: another process runs 5 simulated dashboards, each signed in through
  ``POST /session`` (viewer token, its own cookie, CSRF token and keep-alive connection), each
  polling every 2 s what the dashboard's page polls: ``overview``, ``task_page(limit=50)`` and
  ``worker_list``, as ``POST /api/<method>`` with the form field ``data``. A server without the
  first two (contract A not merged) is polled with ``task_list(status="RUNNING")`` and
  ``task_list(status="PENDING", max_shown_tasks=50)`` in their place, and the table says so.

Target (issue 15): ``get_work`` p99 with 5 dashboards within 2x of idle. ``--write`` puts the
table into benchmarks/README.md between the dashboard markers; ``--quick`` is the smoke test.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing as mp
import ssl
import statistics
import sys
import tempfile
import threading
import time
import xmlrpc.client
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from harness import (
    BearerTransport,
    kill_group,
    machine_info,
    machine_line,
    mint_token,
    process_cpu,
    server_command,
    spawn,
    wait_for_line,
    write_block,
)

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN = "<!-- dashboard:begin -->"
END = "<!-- dashboard:end -->"
WORKER = "bench-worker"
TARGET_P99_RATIO = 2.0
START_TIMEOUT = 60.0


# ------------------------------------------------------------------------------ server


def start_server(work: Path, store: str) -> tuple[Any, dict[str, Any]]:
    """xrsched-server on a free port with dev certificates; returns the process and how to reach it."""
    from xrsched.certgen import make_dev_certificates

    certs = make_dev_certificates(work / "certs")
    state = work / "state"
    state.mkdir(mode=0o700)
    spec = {
        "ca": str(certs.ca_cert),
        "worker": mint_token(state / "tokens.toml", "bench-worker", "worker"),
        "viewer": mint_token(state / "tokens.toml", "bench-viewer", "viewer"),
        "admin": mint_token(state / "tokens.toml", "bench-admin", "admin"),
    }
    log_path = work / "server.out"
    proc = spawn(server_command(state, certs, ["--store", store]), log_path)
    match = wait_for_line(proc, log_path, r"listening on https://([\d.]+):(\d+)/RPC2", START_TIMEOUT)
    spec.update(host=match.group(1), port=int(match.group(2)))
    return proc, spec


def proxy(spec: dict[str, Any], secret: str) -> xmlrpc.client.ServerProxy:
    context = ssl.create_default_context(cafile=spec["ca"])
    url = f"https://localhost:{spec['port']}/RPC2"
    return xmlrpc.client.ServerProxy(url, transport=BearerTransport(secret, context), allow_none=False)


def load_tasks(spec: dict[str, Any], count: int) -> None:
    """``count`` pending tasks in 10 families, registered by the benchmark's worker id."""
    rpc = proxy(spec, spec["worker"])
    rpc.add_worker(WORKER, {"host": "bench"})
    batch = 1000
    for start in range(0, count, batch):
        calls = []
        for n in range(start, min(start + batch, count)):
            family = f"Family{n % 10}"
            arguments = {"__starstar": True, "worker": WORKER, "task_id": f"{family}_{n:07d}", "family": family}
            arguments.update(params={"day": f"2026-{1 + n % 12:02d}-01", "n": str(n)}, priority=n % 5)
            calls.append({"methodName": "add_task", "params": [arguments]})
        for answer in rpc.system.multicall(calls):
            if isinstance(answer, dict):
                raise RuntimeError(f"add_task failed: {answer}")


def polled_methods(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """What a dashboard polls: contract A's methods when the server has them, else stand-ins."""
    names = set(proxy(spec, spec["viewer"]).system.listMethods())
    if {"overview", "task_page"} <= names:
        return [("overview", {}), ("task_page", {"limit": 50}), ("worker_list", {})]
    return [
        ("task_list", {"status": "RUNNING", "upstream_status": ""}),
        ("task_list", {"status": "PENDING", "upstream_status": "", "max_shown_tasks": 50}),
        ("worker_list", {}),
    ]


# ------------------------------------------------------------------------------ clients


def worker_main(spec: dict[str, Any], interval: float, stop: Any, results: Any, phase: Any) -> None:
    """Paced get_work + add_task(DONE); sends (phase, get_work seconds) for every call."""
    rpc = proxy(spec, spec["worker"])
    rpc.ping(WORKER)
    samples: list[tuple[int, float]] = []
    next_at = time.monotonic()
    while not stop.is_set():
        current = phase.value
        started = time.perf_counter()
        reply = rpc.get_work({"__starstar": True, "worker": WORKER, "host": "bench"})
        samples.append((current, time.perf_counter() - started))
        task_id = reply.get("task_id")
        if task_id:
            rpc.add_task({"__starstar": True, "worker": WORKER, "task_id": task_id, "status": "DONE"})
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    results.put(samples)


class Dashboard:
    """One browser tab: a session cookie, its CSRF token and one keep-alive connection."""

    def __init__(self, spec: dict[str, Any]) -> None:
        context = ssl.create_default_context(cafile=spec["ca"])
        self.conn = http.client.HTTPSConnection("localhost", spec["port"], context=context, timeout=30)
        body = json.dumps({"token": spec["viewer"]})
        answer = self._send("POST", "/session", body, {"Content-Type": "application/json"})
        if answer[0] != 200:
            raise RuntimeError(f"sign-in failed: {answer}")
        session = json.loads(answer[2])
        self.headers = {
            "Cookie": answer[1].split(";", 1)[0],
            "X-CSRF-Token": session["csrf"],
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def _send(self, verb: str, path: str, body: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        self.conn.request(verb, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.getheader("Set-Cookie", ""), response.read()

    def call(self, method: str, args: dict[str, Any]) -> tuple[float, int]:
        started = time.perf_counter()
        status, _, body = self._send("POST", f"/api/{method}", urlencode({"data": json.dumps(args)}), self.headers)
        if status != 200:
            raise RuntimeError(f"{method}: {status} {body[:200]!r}")
        return time.perf_counter() - started, len(body)


def dashboards_main(spec: dict[str, Any], count: int, period: float, methods: Any, stop: Any, results: Any) -> None:
    """``count`` dashboards in threads, each polling ``methods`` every ``period`` seconds."""
    samples: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    def tab(offset: float) -> None:
        board = Dashboard(spec)
        next_at = time.monotonic() + offset
        while not stop.wait(max(0.0, next_at - time.monotonic())):
            for method, args in methods:
                seconds, size = board.call(method, args)
                with lock:
                    samples.append((label(method, args), seconds, size))
            next_at += period

    threads = [threading.Thread(target=tab, args=(period * i / count,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(samples)


# ------------------------------------------------------------------------------ measuring


def label(method: str, args: dict[str, Any]) -> str:
    """``task_page(limit=50)``: a polled call as the tables show it."""
    return f"{method}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="xrs-dash-") as tmp:
        proc, spec = start_server(Path(tmp), args.store)
        try:
            started = time.monotonic()
            load_tasks(spec, args.tasks)
            loaded = time.monotonic() - started
            methods = polled_methods(spec)
            return {"load_seconds": loaded, "methods": methods, **measure(ctx, spec, proc.pid, methods, args)}
        finally:
            with contextlib.suppress(Exception):
                proc.terminate()
                proc.wait(20)
            kill_group(proc)


def measure(ctx: Any, spec: dict[str, Any], pid: int, methods: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Alternate idle and loaded phases with one worker loop running throughout."""
    phase, stop_worker, results = ctx.Value("i", -1), ctx.Event(), ctx.Queue()
    worker = ctx.Process(target=worker_main, args=(spec, args.interval, stop_worker, results, phase))
    worker.start()
    time.sleep(1.0)  # warm-up (phase -1 is discarded)
    board_samples: list[tuple[str, float, int]] = []
    cpu = {0: 0.0, 1: 0.0}
    for rep in range(args.reps):
        for loaded in (0, 1):
            stop_boards = ctx.Event()
            boards = None
            if loaded:
                boards = ctx.Process(
                    target=dashboards_main, args=(spec, args.dashboards, args.period, methods, stop_boards, results)
                )
                boards.start()
                time.sleep(1.0)  # the sign-ins are not part of the window
            before = process_cpu(pid)
            phase.value = loaded
            time.sleep(args.seconds)
            phase.value = -1
            cpu[loaded] += process_cpu(pid) - before
            if boards is not None:
                stop_boards.set()
                board_samples += results.get(timeout=60)
                boards.join(30)
            print(f"  rep {rep + 1}/{args.reps} {'5 dashboards' if loaded else 'idle'} done", file=sys.stderr)
    stop_worker.set()
    worker_samples = results.get(timeout=60)
    worker.join(30)
    latencies = {k: [s for p, s in worker_samples if p == k] for k in (0, 1)}
    return {"latencies": latencies, "boards": board_samples, "cpu": cpu}


# ------------------------------------------------------------------------------ report


def render(result: dict[str, Any], args: argparse.Namespace, info: dict[str, str]) -> str:
    lat = result["latencies"]
    rows = ["| condition | get_work calls | p50 (ms) | p99 (ms) | max (ms) | server CPU (s per 10 s) |"]
    rows.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    window = args.seconds * args.reps / 10
    for key, label in ((0, "idle"), (1, f"{args.dashboards} dashboards polling every {args.period:g} s")):
        values = lat[key]
        rows.append(
            f"| {label} | {len(values):,} | {percentile(values, 0.5) * 1e3:.2f} | {percentile(values, 0.99) * 1e3:.2f}"
            f" | {max(values) * 1e3:.2f} | {result['cpu'][key] / window:.2f} |"
        )
    ratio = percentile(lat[1], 0.99) / percentile(lat[0], 0.99)
    verdict = "met" if ratio <= TARGET_P99_RATIO else "not met"
    polled = ", ".join(f"`{m}({', '.join(f'{k}={v!r}' for k, v in a.items())})`" for m, a in result["methods"])
    boards = [
        "",
        "| dashboard call | calls | p50 (ms) | p99 (ms) | reply bytes |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    by_method: dict[str, list[tuple[float, int]]] = {}
    for method, seconds, size in result["boards"]:
        by_method.setdefault(method, []).append((seconds, size))
    for method, values in by_method.items():
        times = [t for t, _ in values]
        boards.append(
            f"| `{method}` | {len(values):,} | {percentile(times, 0.5) * 1e3:.2f} | {percentile(times, 0.99) * 1e3:.2f}"
            f" | {statistics.median(s for _, s in values):,.0f} |"
        )
    lines = [
        *rows,
        *boards,
        "",
        f"Target: get_work p99 with dashboards within {TARGET_P99_RATIO:g}x of idle: {ratio:.2f}x ({verdict}).",
        "",
        f"{args.tasks:,} tasks (loaded in {result['load_seconds']:.1f} s through multicall), store "
        f"`{args.store}`; one worker loop every {args.interval * 1e3:g} ms; {args.reps} x {args.seconds:g} s "
        f"per condition, alternating. Dashboards polled: {polled}.",
        "",
        machine_line(info),
    ]
    return "\n".join(lines)


def write_readme(body: str) -> None:
    section = (
        f"{BEGIN}\n## Dashboard load\n\n"
        "Worker `get_work` latency while browsers watch the dashboard (see the docstring of "
        "`dashboard_load.py`): one paced worker loop against a server holding 100,000 tasks, idle "
        "and with 5 simulated dashboards (signed-in sessions over TLS) polling every 2 s, the two "
        "conditions alternating.\n\n"
        "How to reproduce: `benchmarks/run_dashboard.sh --write` (about 5 minutes: loading the tasks "
        "takes 1-2 of them).\n\n"
        f"{body}\n{END}"
    )
    write_block(README, BEGIN, END, section)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--dashboards", type=int, default=5)
    parser.add_argument("--period", type=float, default=2.0, help="seconds between two polls of one dashboard")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between two get_work calls")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of one phase")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2,000 tasks, short phases")
    parser.add_argument("--write", action="store_true", help="put the table into benchmarks/README.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.seconds, args.reps, args.period = 2000, 3.0, 1, 1.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info(packages=())
    result = run(args)
    body = render(result, args, info)
    print(body)
    if args.write:
        write_readme(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
