"""The failover benchmark still runs (small state, one failover): it must not rot between full runs."""

from __future__ import annotations

import pytest

from tests.benchscripts import run_benchmark
from tests.pg.cluster import find_binaries


def test_failover_benchmark_quick_run():
    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl): run scripts/install-test-packages.sh")
    result = run_benchmark("failover.py", "--tasks", "200", "--reps", "1", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| 200 |" in result.stdout
