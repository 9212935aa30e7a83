"""benchmarks/metrics_overhead.py still runs (a tiny pass of each store kind)."""

from __future__ import annotations

import pytest

from tests.benchscripts import run_benchmark


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_quick_run_prints_the_table(store: str):
    result = run_benchmark("metrics_overhead.py", "--calls", "50", "--rounds", "1", "--store", store, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| method | CPU µs/call without metrics | with metrics | difference |" in result.stdout
    assert "| ping |" in result.stdout and "| add_task |" in result.stdout
