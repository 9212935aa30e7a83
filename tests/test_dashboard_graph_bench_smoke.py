"""Smoke test of benchmarks/dashboard_graph.py: one small graph drawn in Chromium, table printed."""

from __future__ import annotations

import os

import pytest

from tests.benchscripts import run_benchmark
from tests.dashboard.browser import missing_browser


def test_dashboard_graph_bench_draws_a_small_graph_and_prints_a_table():
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    result = run_benchmark("dashboard_graph.py", "--sizes", "200", "--reps", "1", timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 200 |")]
    assert len(rows) == 1, result.stdout
    assert rows[0].split("|")[2].strip() == "200 tasks"
