"""The durability benchmark still runs (quick, no luigid): it must not rot between full runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.benchscripts import ROOT, run_benchmark


def test_durability_benchmark_quick_run():
    result = run_benchmark(
        "durability.py", "--quick", "--only", "durable,memory", "--restart-tasks", "2000", timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| xrsched" in result.stdout
    assert "restart with 2,000 tasks" in result.stdout
    assert "vs base" not in result.stdout and "base:" not in result.stdout  # only with --against


def test_durability_benchmark_postgresql_row():
    import pytest

    from tests.pg.cluster import find_binaries

    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl): run scripts/install-test-packages.sh")
    result = run_benchmark("durability.py", "--quick", "--only", "postgresql", "--restart-tasks", "0", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| xrsched PostgreSQL store (synchronous_commit on) | 8 |" in result.stdout


def base_checkout(tmp_path: Path, marker: str = "") -> Path:
    """A copy of this checkout's package to run as the base (``marker``: the copy's
    ``xrsched-server`` exits with it as it starts, so only a server run from the copy fails)."""
    base = tmp_path / "base"
    shutil.copytree(ROOT / "xrsched", base / "xrsched", ignore=shutil.ignore_patterns("__pycache__"))
    if marker:
        server = base / "xrsched" / "cli" / "server.py"
        server.write_text(server.read_text() + f"\nraise SystemExit({marker!r})\n")
    return base


def test_durability_ab_against_a_checkout_adds_base_rows_and_ratios(tmp_path: Path):
    base = base_checkout(tmp_path)
    result = run_benchmark(
        "durability.py", "--only", "durable,memory", "--reps", "2", "--warmup", "0.2", "--duration", "0.5",
        "--restart-tasks", "0", "--against", str(base), timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rates = result.stdout.split("Machine accounting per call", 1)[0]  # the first table only
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in rates.splitlines() if "| 8 |" in line}
    assert set(rows) == {
        "xrsched durable (sqlite, sync full)",
        "base: xrsched durable (sqlite, sync full)",
        "xrsched in-memory",
        "base: xrsched in-memory",
    }, result.stdout
    assert re.fullmatch(r" \d+\.\d\dx ", rows["xrsched durable (sqlite, sync full)"][-1]), result.stdout
    assert re.fullmatch(r" \d+\.\d\dx ", rows["xrsched in-memory"][-1]), result.stdout
    assert rows["base: xrsched in-memory"][-1] == " - ", result.stdout
    assert f"xrsched from {base / 'xrsched' / '__init__.py'}" in result.stdout
    # Both rounds measure every server; the second puts each base server before its counterpart.
    order = [m.group(1) for m in re.finditer(r"^rep (\d/2 \S+) +clients", result.stderr, re.MULTILINE)]
    assert order == [
        "1/2 durable", "1/2 base-durable", "1/2 memory", "1/2 base-memory",
        "2/2 base-durable", "2/2 durable", "2/2 base-memory", "2/2 memory",
    ], result.stderr  # fmt: skip


def test_durability_base_servers_run_the_base_checkouts_code(tmp_path: Path):
    base = base_checkout(tmp_path, marker="this is the base checkout's server")
    result = run_benchmark(
        "durability.py", "--quick", "--only", "durable", "--restart-tasks", "0", "--against", str(base), timeout=300
    )
    assert result.returncode != 0, result.stdout[-3000:]
    assert "this is the base checkout's server" in result.stderr, result.stderr[-3000:]


def test_durability_against_a_directory_without_xrsched_is_refused(tmp_path: Path):
    result = run_benchmark("durability.py", "--quick", "--restart-tasks", "0", "--against", str(tmp_path), timeout=120)
    assert result.returncode != 0
    assert f"--against {tmp_path}: PYTHONPATH={tmp_path} imports xrsched from" in result.stderr, result.stderr[-3000:]


def test_durability_floor_accounts_for_the_machine_and_takes_the_commit_path_apart():
    result = run_benchmark(
        "durability.py", "--quick", "--only", "durable,nosync,handoff,encode,memory", "--restart-tasks", "0",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    accounting = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in result.stdout.split("Machine accounting per call", 1)[1].split("Durable floor", 1)[0].splitlines()
        if "| 8 |" in line
    }
    assert set(accounting) == {
        "xrsched durable (sqlite, sync full)",
        "ablation: sqlite, synchronous=OFF (no fsync)",
        "ablation: committer hand-off, no write",
        "ablation: changes encoded, then dropped",
        "xrsched in-memory",
    }, result.stdout
    for cells in accounting.values():
        assert re.fullmatch(r"\d+%", cells[7]), cells  # the clients' share of the call's CPU
        assert re.match(r"(CPU|waiting) \(idle \d+%\)", cells[-1]), cells
        assert re.fullmatch(r"\d+\.\d", cells[-2]), cells  # the server's context switches per call
    # The SQLite writer is the server's child process: its CPU has a column of its own (counted
    # with the server's in "server + writer", no longer in the rest of the machine).
    server, writer, both = (
        float(cell.replace(",", "")) for cell in accounting["xrsched durable (sqlite, sync full)"][3:6]
    )
    assert writer > 0 and both >= server, accounting
    assert accounting["xrsched in-memory"][4] == "0", accounting
    # Calls per transaction from the server's /metrics: only servers that commit have one.
    assert re.fullmatch(r"\d+\.\d\d", accounting["xrsched durable (sqlite, sync full)"][-4]), accounting
    assert re.fullmatch(r"\d+\.\d\d", accounting["ablation: committer hand-off, no write"][-4]), accounting
    assert accounting["ablation: changes encoded, then dropped"][-4] == "-", accounting
    assert accounting["xrsched in-memory"][-4] == "-", accounting
    # Each ablation did what it says: the hand-off server's committer took every change set,
    # the encode-only server's none.
    handed = re.search(r"^handoff: (\d+) change sets written in (\d+) transactions", result.stderr, re.MULTILINE)
    assert handed is not None and int(handed.group(1)) > 0 and int(handed.group(2)) > 0, result.stderr[-3000:]
    assert re.search(r"^encode: 0 change sets written", result.stderr, re.MULTILINE), result.stderr[-3000:]
    floor = result.stdout.split("Durable floor, 8 clients", 1)[1]
    assert "| handoff: + committer hand-off" in floor
    assert re.search(r"At best durable / in-memory = \d+\.\d\dx on this machine", floor), floor


def test_the_ablation_server_refuses_to_start_without_a_mode():
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k != "XRSCHED_BENCH_ABLATION"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ablation_server.py"), "--port", "0"],
        env=environment, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "XRSCHED_BENCH_ABLATION must be one of encode, handoff, nosync" in result.stderr


def test_committer_cost_compares_the_committer_with_none():
    result = run_benchmark("committer_cost.py", "--rounds", "2", "--seconds", "0.2", "--write-ms", "0.2", timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = (
        r"^committer +\d+\.\d µs/call, none +\d+\.\d µs/call, "
        r"difference +-?\d+\.\d \(\d+\.\d\d calls per transaction\)$"
    )
    rounds = re.findall(line, result.stdout, re.MULTILINE)
    assert len(rounds) == 2, result.stdout
    assert re.search(r"the committer's cost per call: -?\d+\.\d µs \(median of 2 rounds", result.stdout), result.stdout


def test_committer_cost_with_a_real_sqlite_store():
    result = run_benchmark("committer_cost.py", "--rounds", "1", "--seconds", "0.2", "--sqlite", "off", timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"the committer's cost per call: -?\d+\.\d µs \(median of 1 rounds", result.stdout), result.stdout
