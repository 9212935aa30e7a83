"""Metrics overhead: server CPU per call with and without /metrics instrumentation, in process.

Two copies of the server's application (:class:`xrsched.server.app.SchedulerApp` over a
:class:`~xrsched.service.SchedulerService`, in-memory or, with ``--store sqlite``, over the
SQLite store with ``sync=normal`` in a temporary directory) answer the same fixed
XML-RPC bodies, ``ping`` and ``add_task`` (a re-registration), straight through
``handle_rpc``: parse, authorize, dispatch, core, audit hook, marshal. One copy has a
:class:`~xrsched.metrics.ServerMetrics` attached (call counter and histogram, transitions,
``get_work`` timing, transitions for the observer, timed store writes), the other none. No
socket or TLS is involved (and no store in memory), so the instrumentation's share is the
largest it can be; a real call adds the transport's cost on top, which the metrics do not touch.

A round times ``--calls`` calls of one method on one copy with ``time.process_time``; rounds
alternate between the copies (so drift on a shared machine hits both alike) and the table
shows the best of ``--rounds`` for each: CPU µs per call and the difference.

    python benchmarks/metrics_overhead.py [--calls 20000] [--rounds 7] [--store memory|sqlite]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import xmlrpc.client
from pathlib import Path

from xrsched.audit import AuditLog
from xrsched.metrics import ServerMetrics
from xrsched.rpc.app import RequestInfo
from xrsched.server.app import ANONYMOUS_ADMIN, SchedulerApp
from xrsched.service import SchedulerService
from xrsched.store import SQLiteStore

BODIES = {
    "ping": xmlrpc.client.dumps(("bench-worker",), "ping").encode(),
    "add_task": xmlrpc.client.dumps(
        (
            {
                "__starstar": True,
                "task_id": "Bench_1",
                "worker": "bench-worker",
                "family": "Bench",
                "params": {"day": "2026-12-06"},
            },
        ),
        "add_task",
    ).encode(),
}
REQUEST = RequestInfo(peer=("127.0.0.1", 40000), method="POST", path="/RPC2", request_id="", identity=ANONYMOUS_ADMIN)


def build(with_metrics: bool, store_dir: Path | None = None) -> SchedulerApp:
    """One application, over SQLite in ``store_dir`` if given; with ``with_metrics`` wired the way
    ServerRuntime wires it."""
    metrics = ServerMetrics(process=False) if with_metrics else None
    store = SQLiteStore(store_dir / "state.sqlite3", sync="normal") if store_dir is not None else None
    service = SchedulerService(observer=metrics, store=store)
    app = SchedulerApp(service, tokens=None, audit=AuditLog(None), metrics=metrics)
    if metrics is not None:
        metrics.live.scheduler = service.status_counts
    return app


def one_round(app: SchedulerApp, body: bytes, calls: int) -> float:
    """CPU seconds per call over ``calls`` calls."""
    handle = app.handle_rpc
    started = time.process_time()
    for _ in range(calls):
        handle(body, REQUEST)
    return (time.process_time() - started) / calls


def measure(calls: int, rounds: int, store_root: Path | None = None) -> dict[str, tuple[float, float]]:
    """method -> (best µs/call without metrics, best µs/call with metrics)."""
    if store_root is None:
        plain, instrumented = build(False), build(True)
    else:
        (store_root / "plain").mkdir()
        (store_root / "metrics").mkdir()
        plain, instrumented = build(False, store_root / "plain"), build(True, store_root / "metrics")
    results = {}
    for method, body in BODIES.items():
        for app in (plain, instrumented):
            assert b"<fault>" not in app.handle_rpc(body, REQUEST).body
            one_round(app, body, max(calls // 10, 1))  # warm-up
        best = [float("inf"), float("inf")]
        for _ in range(rounds):
            for index, app in enumerate((plain, instrumented)):
                best[index] = min(best[index], one_round(app, body, calls))
        results[method] = (best[0] * 1e6, best[1] * 1e6)
    return results


def table(results: dict[str, tuple[float, float]]) -> str:
    lines = [
        "| method | CPU µs/call without metrics | with metrics | difference |",
        "|---|---:|---:|---:|",
    ]
    for method, (without, with_) in results.items():
        share = (with_ / without - 1) * 100
        lines.append(f"| {method} | {without:.1f} | {with_:.1f} | {with_ - without:+.1f} µs ({share:+.1f}%) |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per copy (best is kept)")
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory", help="state store of both copies")
    args = parser.parse_args()
    if args.store == "memory":
        print(table(measure(args.calls, args.rounds)))
        return
    with tempfile.TemporaryDirectory(prefix="xrsched-metrics-bench-") as root:
        print(table(measure(args.calls, args.rounds, Path(root))))


if __name__ == "__main__":
    main()
