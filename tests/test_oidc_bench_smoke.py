"""Smoke test of benchmarks/oidc.py: a quick run finishes and prints both tables."""

from __future__ import annotations

from tests.benchscripts import run_benchmark


def test_oidc_bench_quick_runs_and_prints_both_tables():
    result = run_benchmark("oidc.py", "--quick", timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    checks = [line for line in lines if line.startswith(("| RS256 JWT |", "| ES256 JWT |"))]
    assert len(checks) == 4, result.stdout
    pings = [line for line in lines if line.startswith(("| our own token |", "| RS256 JWT, cache"))]
    assert len(pings) == 3, result.stdout
    for row in pings:
        assert float(row.split("|")[2].replace(",", "")) > 0, row
