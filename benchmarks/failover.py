"""Failover benchmark (issue 16): kill -9 of the leader -> first successful call through the client.

For each state size (default 1,000 and 100,000 tasks; ``--tasks 1k,100k,1m``) a throwaway
PostgreSQL cluster on this machine (the tests' ``tests/pg/cluster.py``, ``synchronous_commit``
on) gets a database with that many tasks, written through the store's own encoder
(``durability.build_state``). Two ``xrsched-server`` processes share it with the default
election settings (``lock_check_interval`` 1 s, ``takeover_delay`` 5 s): A leads, B stands by.
A client (``RemoteScheduler(urls=[A, B])``, short backoff so its own waiting hardly adds to the
figure) makes one successful call to A; then A is killed with SIGKILL and the client calls
``ping`` until one succeeds. Reported: that time, and B's own "recovered N tasks ... in X s"
(the state load that is part of it). Repeated ``--reps`` times per size, alternating the roles.
A server that keeps a warm standby copy (``standby: warm at change`` in its log) is given time to
read the state before A is killed. ``--standby-cpu SECONDS``: before the kill, B's CPU over that
long with A idle, then with A busy (a client adding tasks back to back), and B's RSS.
With ``--against DIR`` (another checkout, e.g. ``git archive main | tar -x -C DIR``), that
checkout's servers fail over on a copy of the database too (without schema version 4's change
numbers if it predates them), alternating with this one's (an A/B).

``python benchmarks/failover.py [--tasks 1k,100k] [--reps 3] [--against DIR] [--write]``;
``--write`` puts the table into benchmarks/README.md between the failover markers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from durability import _count, _rss_mib, build_state, environment, start_pg_cluster
from harness import (
    free_port,
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
BEGIN = "<!-- failover:begin -->"
END = "<!-- failover:end -->"
LOAD_TIMEOUT = 900.0


def start_server(work: Path, certs: Any, name: str, store_url: str, tokens: Path) -> tuple[Any, str, Path]:
    port = free_port()
    url = f"https://localhost:{port}/RPC2"
    state = work / name
    state.mkdir(exist_ok=True, mode=0o700)
    log = work / f"{name}-{time.monotonic_ns()}.out"
    flags = ["--store", store_url, "--tokens", str(tokens), "--advertise-url", url, "--log-level", "INFO"]
    command = server_command(state, certs, flags)
    command[command.index("--port") + 1] = str(port)
    proc = spawn(command, log)
    wait_for_line(proc, log, r"xrsched-server listening on https://", 60, poll=0.01)
    return proc, url, log


def one_failover(
    work: Path, certs: Any, store_url: str, tokens: Path, secret: str, rep: str, *, warm: bool, cpu_window: float
) -> dict[str, float]:
    from xrsched.client import RemoteScheduler

    first, first_url, first_log = start_server(work, certs, f"a{rep}", store_url, tokens)
    second = None
    try:
        wait_for_line(first, first_log, r"leader at epoch \d+: recovered", LOAD_TIMEOUT, poll=0.01)
        second, second_url, second_log = start_server(work, certs, f"b{rep}", store_url, tokens)
        wait_for_line(second, second_log, r"standby: waiting", 60, poll=0.01)
        time.sleep(2.0)  # B has polled the lock and found it held
        if warm:
            wait_for_line(second, second_log, r"standby: warm at change", LOAD_TIMEOUT, poll=0.05)
        client = RemoteScheduler(urls=[first_url, second_url], token=secret, ca=certs.ca_cert, environ={},
                                 retries=400, backoff=0.02, max_backoff=0.1, timeout=60)  # fmt: skip
        client.call("ping", worker="bench-failover")
        standby = standby_cost(second.pid, client, cpu_window) if cpu_window > 0 else {}
        killed = time.monotonic()
        os.killpg(first.pid, signal.SIGKILL)
        client.call("ping", worker="bench-failover")
        took = time.monotonic() - killed
        client.close()
        text = second_log.read_text(errors="replace")
        match = re.search(r"leader at epoch \d+: recovered (\d+) tasks and \d+ workers in ([\d.]+)s", text)
        return {"failover": took, "load": float(match.group(2)) if match else float("nan"), **standby}
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                kill_group(proc)


def standby_cost(pid: int, client: Any, window: float) -> dict[str, float]:
    """B's CPU share over ``window`` with the leader idle, then with a client adding tasks to the
    leader back to back (how many it added), and B's RSS at the end."""
    before = process_cpu(pid)
    time.sleep(window)
    idle = (process_cpu(pid) - before) / window
    before, added, until = process_cpu(pid), 0, time.monotonic() + window
    while time.monotonic() < until:
        client.call("add_task", task_id=f"StandbyCost{time.monotonic_ns()}", worker="bench-failover")
        added += 1
    busy = (process_cpu(pid) - before) / window
    return {"standby_idle_cpu": idle, "standby_busy_cpu": busy, "busy_calls": added, "standby_rss": _rss_mib(pid)}


def copy_at_version_3(cluster: Any, database: str, base: Path) -> str:
    """A copy of ``database`` for a checkout that predates schema version 4 (if ``base`` does):
    the same rows, without version 4's change numbers (see xrsched/store/pgschema.py)."""
    copy = f"{database}_base"
    with cluster.connect() as conn:
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{database}"')
    if "xrsched_changes" in (base / "xrsched" / "store" / "pgschema.py").read_text():
        return cluster.url(copy)
    with cluster.connect(copy) as conn, conn.transaction():
        for table in ("meta", "tasks", "workers"):
            conn.execute(f"ALTER TABLE xrsched_{table} DROP COLUMN change")
        conn.execute("DROP TABLE xrsched_changes, xrsched_removed")
        conn.execute("UPDATE xrsched_schema SET version = 3")
    return cluster.url(copy)


def _joined(runs: list[dict[str, float]], key: str, spec: str) -> str:
    return ", ".join(format(run[key], spec) for run in runs)


def render(results: dict[tuple[int, str], list[dict[str, float]]], info: dict[str, str]) -> str:
    lines = [
        "| stored tasks | kill -9 → first successful call (s, median) | min-max | new leader's state load (s) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for (tasks, name), runs in results.items():
        times = [r["failover"] for r in runs]
        loads = [r["load"] for r in runs]
        lines.append(
            f"| {tasks:,}{f' ({name})' if name != 'this' else ''} | {statistics.median(times):.2f} "
            f"| {min(times):.2f}-{max(times):.2f} | {statistics.median(loads):.2f} |"
        )
    costs = [
        f"- {tasks:,} ({name}): standby CPU {_joined(runs, 'standby_idle_cpu', '.1%')} of a core with the "
        f"leader idle, {_joined(runs, 'standby_busy_cpu', '.1%')} with it busy "
        f"({_joined(runs, 'busy_calls', '.0f')} add_task calls); standby RSS {_joined(runs, 'standby_rss', '.0f')} MiB"
        for (tasks, name), runs in results.items()
        if runs and "standby_idle_cpu" in runs[0]
    ]
    if costs:
        lines += ["", *costs]
    reps = len(next(iter(results.values()))) if results else 0  # per size and checkout
    return "\n".join(
        [
            *lines,
            "",
            f"{reps} failovers per size; default election settings (lock_check_interval 1 s, takeover_delay 5 s).",
            "",
            machine_line(info),
        ]
    )


def write_readme(body: str) -> None:
    section = (
        f"{BEGIN}\n## Failover (PostgreSQL store)\n\n"
        "Two `xrsched-server` processes on one PostgreSQL database (on the same machine); the leader is "
        "killed with SIGKILL and a `RemoteScheduler(urls=[leader, standby])` calls `ping` until one "
        "succeeds. The standby takes the lock within `lock_check_interval` of the kill (PostgreSQL frees "
        "a dead session's lock at once), loads the state, then serves. How to reproduce: "
        "`python benchmarks/failover.py --write`.\n\n"
        f"{body}\n{END}"
    )
    write_block(README, BEGIN, END, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", default="1k,100k", help="state sizes, comma-separated (default 1k,100k)")
    parser.add_argument("--reps", type=int, default=3, help="failovers per size (default 3)")
    parser.add_argument("--against", type=Path, help="another checkout whose servers fail over too, alternating")
    parser.add_argument("--write", action="store_true", help="write the table into benchmarks/README.md")
    parser.add_argument("--standby-cpu", type=float, default=0.0, metavar="SECONDS",
                        help="the standby CPU over this long, leader idle then busy (default: not)")  # fmt: skip
    args = parser.parse_args(argv)
    sizes = [_count(size) for size in args.tasks.split(",") if size.strip()]
    from xrsched.certgen import make_dev_certificates
    from xrsched.store.pgurl import parse_store_url
    from xrsched.store.postgres import PostgresStore

    info = machine_info()
    work = Path(tempfile.mkdtemp(prefix="xrsched-failover-"))
    certs = make_dev_certificates(work / "certs")
    tokens = work / "tokens.toml"
    secret = mint_token(tokens, "bench", "worker")
    cluster = start_pg_cluster()
    results: dict[tuple[int, str], list[dict[str, float]]] = {}
    try:
        for tasks in sizes:
            store_url = cluster.create_database(f"failover{tasks}")
            store = PostgresStore(parse_store_url(store_url), history_days=0)
            built = build_state(work / "unused", tasks, store=store)
            store.close()
            print(f"{tasks:,} tasks written in {built['seconds']:.1f} s", file=sys.stderr, flush=True)
            urls = {"this": store_url}
            if args.against is not None:
                urls["base"] = copy_at_version_3(cluster, f"failover{tasks}", args.against)
            for rep in range(args.reps):
                order: list[tuple[str, Path | None]] = [("this", None)]
                if args.against is not None:
                    order.insert(rep % 2, ("base", args.against))
                for name, source in order:
                    with (
                        environment(PYTHONPATH=str(source.resolve()))
                        if source is not None
                        else contextlib.nullcontext()
                    ):
                        run = one_failover(work, certs, urls[name], tokens, secret, f"{name}{rep}",
                                           warm=source is None, cpu_window=args.standby_cpu)  # fmt: skip
                    results.setdefault((tasks, name), []).append(run)
                    print(f"{tasks:,} tasks, failover {rep + 1}/{args.reps} ({name}): {run['failover']:.2f} s "
                          f"(state load {run['load']:.2f} s)", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        cluster.destroy()
    body = render(results, info)
    print(body)
    if args.write:
        write_readme(body)
        print(f"wrote {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
