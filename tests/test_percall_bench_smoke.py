"""Smoke test of benchmarks/percall.py: quick in-process runs (in memory, durable, A/B) finish."""

from __future__ import annotations

import re

from tests.benchscripts import ROOT, run_benchmark

QUICK = ("--calls", "20", "--reps", "2", "--pool", "200")


def test_percall_quick_run_prints_each_workload():
    result = run_benchmark("percall.py", *QUICK, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for workload in ("ping", "add_task", "multicall"):
        line = next(x for x in result.stdout.splitlines() if x.startswith(workload))
        assert float(re.search(r"([\d,.]+) µs", line).group(1).replace(",", "")) > 0, line


def test_percall_durable_run_with_a_full_sync_store():
    result = run_benchmark("percall.py", *QUICK, "--store", "full", "--workloads", "add_task", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("add_task"), result.stdout


def test_percall_ab_against_a_checkout_prints_the_ratio():
    result = run_benchmark("percall.py", *QUICK, "--workloads", "ping", "--against", str(ROOT), "--rounds", "1",
                           timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(x for x in result.stdout.splitlines() if x.startswith("| ping |"))
    assert float(row.split("|")[4]) > 0 and float(row.split("|")[5]) > 0, row
