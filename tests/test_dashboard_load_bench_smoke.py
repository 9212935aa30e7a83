"""Smoke test of benchmarks/dashboard_load.py: a quick run signs dashboards in, polls, and prints
its tables (about 15 s)."""

from __future__ import annotations

from tests.benchscripts import run_benchmark


def test_dashboard_bench_quick_runs_and_prints_its_tables():
    result = run_benchmark("dashboard_load.py", "--quick", "--seconds", "2", timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    idle = next(line for line in lines if line.startswith("| idle |"))
    loaded = next(line for line in lines if line.startswith("| 5 dashboards polling"))
    for row in (idle, loaded):
        assert int(row.split("|")[2].replace(",", "")) > 10, row  # get_work calls made
    polled = [line for line in lines if line.startswith("| `")]
    assert len(polled) == 3 and all(int(line.split("|")[2].replace(",", "")) > 0 for line in polled), result.stdout
    assert any(line.startswith("Target: get_work p99") for line in lines), result.stdout
