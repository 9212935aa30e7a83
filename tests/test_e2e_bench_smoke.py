"""Smoke test of benchmarks/e2e.py: a small xrsched-only run finishes, every task runs once, the
requests-only loop gets through the chain, and the table has its rows (no luigi needed; ~10 s)."""

from __future__ import annotations

from tests.benchscripts import run_benchmark


def test_e2e_bench_small_run_prints_a_table_of_medians():
    result = run_benchmark("e2e.py", "--only", "xrsched,requests-only", "--tasks", "30", "--reps", "2", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # 2 shapes x 2 repetitions, and the requests-only row for the chain only
    assert sum(line.startswith("rep ") for line in lines) == 6, result.stdout
    rows = [line.split("|") for line in lines if line.startswith("| xrsched |")]
    assert [row[2].strip() for row in rows] == ["chain", "fan-in"], result.stdout
    for row in rows:
        assert row[3].strip() == "30", row  # every task ran (each appends one line to runs.log)
        assert float(row[6].replace(",", "")) > 0, row
        assert row[9].strip() == "0", row  # exit status of the worker
    ceiling = [line.split("|") for line in lines if line.startswith("| requests only (no tasks) |")]
    assert len(ceiling) == 1 and ceiling[0][2].strip() == "chain", result.stdout
    assert ceiling[0][3].strip() == "30" and ceiling[0][4].strip() == "-" and ceiling[0][9].strip() == "0", ceiling
    assert "no luigid run to compare with" in result.stdout
