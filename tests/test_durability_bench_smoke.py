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
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in result.stdout.splitlines() if "| 8 |" in line}
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
