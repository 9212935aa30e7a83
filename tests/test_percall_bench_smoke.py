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


def test_percall_stages_prints_a_row_per_stage_that_adds_up():
    result = run_benchmark("percall_stages.py", "--calls", "20", "--pool", "200", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in result.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| stage")}  # fmt: skip
    stages = ("authenticate", "parse", "bind", "ownership", "core", "facade", "marshal", "audit", "glue")
    assert set(stages) <= set(rows), result.stdout
    for column in (0, 2):  # add_task, multicall: µs of each stage, and the total
        figures = [float(rows[s][column].replace(",", "")) for s in stages]
        total = float(rows["**total**"][column].replace(",", ""))
        assert figures[stages.index("parse")] > 0 and figures[stages.index("core")] > 0, result.stdout
        assert all(figure < total for figure in figures), result.stdout  # only the request's own work
        assert abs(sum(figures) - total) <= 0.05 * total + 1, result.stdout
