"""A/B: what the audit hash chain (and its HMAC) costs on ``ping``, in one process.

Two measurements, each interleaved (A, B, C, A, B, C, ...) so outside load hits every variant
alike, median of the rounds:

- **ping**: a real server (``ServerRuntime``: TLS with a generated certificate, a worker
  token checked per call, the audit log on) and one ``RemoteScheduler`` on a keep-alive
  connection; calls per second over ``--seconds`` per round.
- **writer**: ``AuditLog.record_call`` alone, microseconds per record.

Variants: ``plain`` (the chain replaced by a stand-in that adds nothing, i.e. the writer as it
was before the chain), ``chain`` (seq + prev, the default), ``chain+mac`` (with ``--audit-key``).

Run: ``.venv/bin/python benchmarks/audit_chain.py [--rounds 5] [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import threading
import time
from pathlib import Path

from xrsched.audit import AuditLog
from xrsched.audit_chain import Chain
from xrsched.auth import add_token
from xrsched.client import RemoteScheduler
from xrsched.server.runtime import ServerRuntime
from xrsched.settings import build_settings

KEY = b"benchmark key, 32 bytes long...."


class NoChain(Chain):
    """The writer before the chain: lines go out as built."""

    def seal(self, line: str) -> bytes:
        """The line unchanged."""
        return line.encode("ascii")

    def written(self, data: bytes) -> None:
        """Nothing to remember."""


def variant(audit: AuditLog, name: str) -> None:
    """Switch ``audit`` to the variant ``name`` (keeping where its chain stands)."""
    last, seq = audit.chain.last, audit.chain.seq
    audit.chain = NoChain() if name == "plain" else Chain(KEY if name == "chain+mac" else None)
    audit.chain.last, audit.chain.seq = last, seq


def ping_rate(client: RemoteScheduler, seconds: float) -> tuple[float, float]:
    """Pings per second on one keep-alive connection, and CPU µs per ping (client and server
    both: they share this process)."""
    count = 0
    deadline = time.perf_counter() + seconds
    started, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() < deadline:
        client.ping(worker="bench")
        count += 1
    return count / (time.perf_counter() - started), (time.process_time() - cpu) / count * 1e6


def writer_cost(directory: Path, name: str, records: int) -> float:
    """Microseconds per ``record_call`` for variant ``name``."""
    audit = AuditLog(directory / f"writer-{name}.log")
    variant(audit, name)
    started = time.perf_counter()
    for n in range(records):
        audit.record_call("127.0.0.1:50000", "token:bench", "worker", "ping", "ok", 0.123, f"req-{n}")
    elapsed = time.perf_counter() - started
    audit.close()
    return elapsed / records * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    names = ["plain", "chain", "chain+mac"]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        settings = build_settings({"port": 0, "state_path": str(directory / "state")}, environ={})
        runtime = ServerRuntime(settings, out=io.StringIO())
        thread = threading.Thread(target=runtime.run, daemon=True)
        thread.start()
        secret = add_token(settings.resolved_tokens(), "bench", "worker")
        runtime.reload()
        client = RemoteScheduler(runtime.url, secret, ca=runtime.cert_path, environ={})
        ping_rate(client, 1.0)  # warm up
        pings: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        writes: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            order = names[round_ % 3 :] + names[: round_ % 3]  # no variant always goes first
            for name in order:
                variant(runtime.audit, name)
                rate, cost = ping_rate(client, args.seconds)
                pings[name].append(rate)
                cpu[name].append(cost)
            for name in order:
                writes[name].append(writer_cost(directory, name, args.records))
        runtime.stop()
        thread.join(20)
    base = statistics.median(pings["plain"])
    base_cpu = statistics.median(cpu["plain"])
    head = ("variant", "ping calls/s", "vs plain", "CPU µs/ping", "vs plain", "writer µs/record")
    print(f"{head[0]:<10} {head[1]:>13} {head[2]:>9} {head[3]:>12} {head[4]:>9} {head[5]:>17}")
    for name in names:
        rate, cost = statistics.median(pings[name]), statistics.median(cpu[name])
        print(
            f"{name:<10} {rate:>13.0f} {100 * (rate / base - 1):>+8.1f}% {cost:>12.1f} "
            f"{100 * (cost / base_cpu - 1):>+8.1f}% {statistics.median(writes[name]):>17.2f}"
        )
    print(f"(median of {args.rounds} interleaved rounds of {args.seconds:.0f} s; writer: {args.records} records)")


if __name__ == "__main__":
    main()
