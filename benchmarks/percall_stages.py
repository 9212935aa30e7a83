"""Where a request's in-process CPU goes, stage by stage (the table in README's per-call section).

Runs a :mod:`percall` workload with timers around each stage of ``SchedulerApp``'s path:
authentication, parsing, argument binding, the ownership check, the scheduler core, the rest of
the service facade (lock, clock, reply cache, durability hand-off), marshalling and the audit
record. Whatever is left is the glue between them (contexts, authorization, dispatch). Each
stage's CPU (``time.process_time``) is summed over ``--calls`` requests after a warm-up. The
timers cost about a microsecond per timed call; that cost, measured on a call of nothing, is
taken out of the stages and the glue, so a stage's figure is good to about a microsecond per
call. These shares complement ``percall.py``'s totals rather than replace them.

Like ``percall.py`` it measures whichever xrsched ``PYTHONPATH`` names, so the same script
gives the before and after tables.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import percall  # the sibling script: its server, workloads and bodies

STAGES = ("authenticate", "parse", "bind", "ownership", "core", "facade", "marshal", "audit", "glue")


class Timers:
    """Sums of CPU per stage while ``active``; nested stages are subtracted from the stage
    around them."""

    def __init__(self) -> None:
        self.spent: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.active = False  # off while a workload prepares its next body (it may register tasks)
        self._inner: list[float] = [0.0]

    def wrap(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        clock, inner = time.process_time, self._inner

        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.active:
                return function(*args, **kwargs)
            inner.append(0.0)
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                total = clock() - started
                nested = inner.pop()
                self.spent[stage] += total - nested
                inner[-1] += total
                self.counts[stage] += 1

        return timed


def _instrument(timers: Timers, server: percall.Server) -> None:
    """Put the timers around each stage of this server's path (module names as imported there)."""
    import xrsched.audit as audit
    import xrsched.rpc.dispatch as dispatch
    import xrsched.service.facade as facade

    app = server.app
    app.authenticate = timers.wrap("authenticate", app.authenticate)  # type: ignore[method-assign]
    dispatch.parse_call = timers.wrap("parse", dispatch.parse_call)
    dispatch.dump_value = timers.wrap("marshal", dispatch.dump_value)
    dispatch.dump_response = timers.wrap("marshal", dispatch.dump_response)
    facade.check_call = timers.wrap("ownership", facade.check_call)
    for name in ("record_call", "record", "_append_lines"):
        setattr(audit.AuditLog, name, timers.wrap("audit", getattr(audit.AuditLog, name)))
    for entry in app.dispatcher._entries.values():
        entry._bind = timers.wrap("bind", entry._bind)  # type: ignore[method-assign]
    core = server.service.core
    for name in ("add_task", "get_work", "ping"):
        setattr(core, name, timers.wrap("core", getattr(core, name)))
    # The facade captured the core's bound methods when it was built: build them again.
    service = server.service
    service._methods.update({name: service._expose(name) for name in ("add_task", "get_work", "ping")})
    for name in ("add_task", "get_work", "ping"):
        entry = app.dispatcher._entries[name]
        entry.func = timers.wrap("facade", service._methods[name])


def _timer_cost() -> tuple[float, float]:
    """CPU of one timed call of nothing: the part a stage's own figure includes, and the whole
    (the rest of it is counted as glue)."""
    probe = Timers()
    probe.active = True
    nothing = probe.wrap("probe", lambda: None)
    calls = 20000
    started = time.process_time()
    for _ in range(calls):
        nothing()
    whole = (time.process_time() - started) / calls
    return probe.spent["probe"] / calls, whole


def stages(workload: str, calls: int, pool: int) -> tuple[dict[str, float], float]:
    """µs per request for each stage, and the request's total, for ``calls`` requests."""
    with tempfile.TemporaryDirectory(prefix="percall-stages-") as tmp:
        server = percall.Server(Path(tmp), store=None)
        try:
            load = percall.make_workload(workload, server, pool)
            timers = Timers()
            _instrument(timers, server)
            for _ in range(min(calls, 50)):
                load.check(server.post(load.next_body()))
            total = 0.0
            for _ in range(calls):
                body = load.next_body()
                timers.active = True
                started = time.process_time()
                answer = server.post(body)
                total += time.process_time() - started
                timers.active = False
                load.check(answer)
        finally:
            server.close()
    inside, whole = _timer_cost()
    calls_timed = sum(timers.counts.values())
    shares = {stage: max(0.0, timers.spent[stage] - timers.counts[stage] * inside) / calls * 1e6 for stage in STAGES}
    total -= calls_timed * whole
    shares["glue"] = max(0.0, total / calls * 1e6 - sum(shares[stage] for stage in STAGES if stage != "glue"))
    return shares, total / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="add_task,multicall", help="comma-separated percall workloads")
    parser.add_argument("--calls", type=int, default=300, help="requests timed per workload")
    parser.add_argument("--pool", type=int, default=4000, help="tasks registered ahead for multicall")
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    results = {w: stages(w, args.calls, args.pool) for w in workloads}
    print("| stage | " + " | ".join(f"{w} µs | share" for w in workloads) + " |")
    print("| --- |" + " ---: | ---: |" * len(workloads))
    for stage in STAGES:
        cells = []
        for w in workloads:
            shares, total = results[w]
            cells.append(f"{shares[stage]:,.1f} | {shares[stage] / total * 100:.0f} %")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    print("| **total** | " + " | ".join(f"{results[w][1]:,.1f} | 100 %" for w in workloads) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
