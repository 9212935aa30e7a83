"""Smoke test of benchmarks/servercpu.py: real server processes, a short A/B against a checkout."""

from __future__ import annotations

from tests.benchscripts import ROOT, run_benchmark


def test_servercpu_ab_run_prints_every_server_and_workload():
    result = run_benchmark(
        "servercpu.py", "--against", str(ROOT), "--rounds", "1", "--calls", "64", "--pool", "200",
        "--store", "memory", timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]) for line in result.stdout.splitlines()}
    for load in ("ping", "add_task", "multicall"):
        assert (load, "xrsched") in rows and (load, "base") in rows, result.stdout
    assert ("ping", "bare") in rows and ("add_task", "bare") not in rows, result.stdout
