"""benchmarks/floors.py: a tiny run prints both tables, and each removal takes out its component
(and only for its block) while the requests are still answered correctly."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.benchscripts import ROOT, run_benchmark

CELL = re.compile(r"^-?[\d,]+\.\d \(-?[\d,]+\.\d\)$")


def test_floors_tiny_run_prints_the_ablation_and_the_budget():
    tiny = ("--rounds", "1", "--calls", "16", "--requests", "2", "--pool", "200", "--e2e-calls", "32")
    result = run_benchmark("floors.py", *tiny, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[3:-1]]
            for line in result.stdout.splitlines() if line.startswith("| ")}  # fmt: skip
    full = rows["**full**"]
    assert len(full) == 3 and all(CELL.match(c) and float(c.split()[0].replace(",", "")) > 0 for c in full), full
    for name in ("token check", "audit chain (seq, prev, SHA-256)", "metrics", "XML parse", "core call"):
        assert all(CELL.match(c) for c in rows[f"without {name}: saved"]), result.stdout
    assert all(CELL.match(c) for c in rows["bare stdlib handler + dispatcher, same requests"]), result.stdout
    assert "| end to end (server CPU µs per request, this run) |" in result.stdout
    budget = next(line for line in result.stdout.splitlines() if line.startswith("| **budget for the required"))
    assert len(budget.split("|")) == 6, budget


@pytest.fixture
def floors(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import floors

    return floors


@pytest.fixture
def calls(monkeypatch) -> Counter[str]:
    """Counts calls of the real components (class- or module-level, so that a removal's own
    replacement, which shadows them, is what the count must not see)."""
    import xrsched.audit
    import xrsched.audit_chain
    import xrsched.auth.credentials
    import xrsched.core.scheduler
    import xrsched.metrics.server
    import xrsched.rpc.dispatch
    import xrsched.server.app
    import xrsched.service.facade
    import xrsched.service.replies

    counted: Counter[str] = Counter()

    def count(target: Any, name: str, label: str) -> None:
        real = getattr(target, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            counted[label] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(target, name, counting)

    count(xrsched.auth.credentials.TokenStore, "check", "token check")
    count(xrsched.server.app.SchedulerApp, "_authorize", "role check")
    count(xrsched.audit, "_utc_now", "audit record text")
    count(xrsched.audit_chain.Chain, "seal", "audit chain (seq, prev, SHA-256)")
    count(xrsched.audit.AuditLog, "_write", "audit write")
    count(xrsched.audit.AuditLog, "record_call", "audit, all")
    count(xrsched.metrics.server.ServerMetrics, "rpc_call", "metrics")
    count(xrsched.service.facade, "check_call", "ownership check")
    count(xrsched.service.replies.ReplyCache, "remember", "reply cache")
    count(xrsched.service.replies.ReplyCache, "lookup", "request ids (and so the reply cache)")
    count(xrsched.rpc.dispatch, "parse_call", "XML parse")
    count(xrsched.rpc.dispatch, "dump_response", "marshalling of the reply")
    count(xrsched.core.scheduler.Scheduler, "add_task", "core call")
    return counted


#: What "all required" must take out.
TOGETHER = ("token check", "role check", "audit, all", "metrics", "ownership check", "reply cache")


@pytest.mark.parametrize("row", ["add_task", "multicall"])
def test_each_removal_takes_out_its_component_for_its_block_only(floors, calls, tmp_path, row):
    bench = floors.make_bench(row, tmp_path, 200)
    if row == "multicall":
        bench.workload.reserve(70)  # every block's tasks registered now, outside the counts
    full = floors.REMOVALS[0]
    block: Callable[[Any], float] = lambda removal: floors.block_us(bench, removal, 32)  # noqa: E731
    try:
        for removal in floors.REMOVALS[1:]:
            gone = TOGETHER if removal.name == "all required" else (removal.name,)
            calls.clear()
            assert block(removal) > 0  # the workload checked every answer
            assert all(calls[name] == 0 for name in gone), (removal.name, calls)
            assert sum(calls.values()) > 0, removal.name  # the rest of the path still ran
            calls.clear()
            block(full)
            assert all(calls[name] > 0 for name in gone), (removal.name, "not back after its block", calls)
    finally:
        bench.server.close()
