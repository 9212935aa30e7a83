"""Smoke test of benchmarks/transport.py: a quick xrsched-vs-bare run finishes and prints its table.

No luigi needed (luigid is left out); bounded to about 30 s.
"""

from __future__ import annotations

from tests.benchscripts import run_benchmark


def test_transport_bench_quick_runs_and_prints_a_table():
    result = run_benchmark("transport.py", "--quick", "--only", "xrsched,bare", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("| server | clients | calls/s") for line in lines), result.stdout
    rows = [line for line in lines if line.startswith(("| xrsched |", "| bare |"))]
    assert len(rows) == 4, result.stdout  # 2 servers x 1 and 8 clients
    for row in rows:
        calls_per_second = float(row.split("|")[3].replace(",", ""))
        assert calls_per_second > 0, row
    assert not any(line.startswith("| luigid |") for line in lines), result.stdout
