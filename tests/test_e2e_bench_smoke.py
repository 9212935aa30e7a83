"""Smoke test of benchmarks/e2e.py: a small xrsched-only run finishes, every task runs once, and
the table has its rows (no luigi needed; about 10 s)."""

from __future__ import annotations

from tests.benchscripts import run_benchmark


def test_e2e_bench_small_run_prints_a_table_of_medians():
    result = run_benchmark("e2e.py", "--only", "xrsched", "--tasks", "30", "--reps", "2", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("rep ") for line in lines) == 4, result.stdout  # 2 shapes x 2 repetitions
    rows = [line.split("|") for line in lines if line.startswith("| xrsched |")]
    assert [row[2].strip() for row in rows] == ["chain", "fan-in"], result.stdout
    for row in rows:
        assert row[3].strip() == "30", row  # every task ran (each appends one line to runs.log)
        assert float(row[6].replace(",", "")) > 0, row
        assert row[9].strip() == "0", row  # exit status of the worker
    assert "no luigid run to compare with" in result.stdout
