"""The durability benchmark still runs (quick, no luigid): it must not rot between full runs."""

from __future__ import annotations

from tests.benchscripts import run_benchmark


def test_durability_benchmark_quick_run():
    result = run_benchmark(
        "durability.py", "--quick", "--only", "durable,memory", "--restart-tasks", "2000", timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| xrsched" in result.stdout
    assert "restart with 2,000 tasks" in result.stdout


def test_durability_benchmark_postgresql_row():
    import pytest

    from tests.pg.cluster import find_binaries

    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl): run scripts/install-test-packages.sh")
    result = run_benchmark("durability.py", "--quick", "--only", "postgresql", "--restart-tasks", "0", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| xrsched PostgreSQL store (synchronous_commit on) | 8 |" in result.stdout
