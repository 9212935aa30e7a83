"""Smoke test of benchmarks/e2e.py: a small xrsched-only run finishes, every task runs once, the
requests-only loop gets through the chain, and the table has its rows (no luigi needed; ~10 s)."""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchscripts import ROOT, run_benchmark


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


def test_e2e_bench_gc_probe_shows_the_servers_collections_on_each_run():
    """``--gc-probe``: the server runs through benchmarks/gc_probe.py, whose counts (written at
    its exit, after a SIGTERM) end each run's line."""
    result = run_benchmark("e2e.py", "--only", "xrsched", "--shapes", "fan-in", "--tasks", "20", "--reps", "1",
                           "--gc-probe", timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    runs = [line for line in result.stdout.splitlines() if line.startswith("rep ")]
    assert len(runs) == 1 and "tasks=20 " in runs[0], result.stdout
    probe = re.search(
        r"gc: (\d+) full passes [\d.]+ s CPU .* gen 0/1: (\d+)/\d+ .*frozen garbage at exit (\d+)", runs[0]
    )
    assert probe is not None, runs[0]
    assert int(probe.group(2)) > 0 and probe.group(3) == "0", runs[0]


def test_e2e_bench_luigi_workers_row_runs_luigi_against_xrsched_and_fills_its_own_block(tmp_path):
    """The row "Luigi workers -> xrsched": the real ``luigi`` command against a real xrsched server
    (TLS, token in the URL), next to luigid; ``--block e2e-luigi`` leaves the main table alone."""
    pytest.importorskip("luigi")
    readme = tmp_path / "README.md"
    readme.write_text("# B\n\n<!-- e2e:begin -->\nall systems\n<!-- e2e:end -->\n")
    result = run_benchmark(
        "e2e.py", "--only", "luigi-xrsched,luigid", "--shapes", "fan-in", "--tasks", "12", "--reps", "1",
        "--write", "--readme", str(readme), "--block", "e2e-luigi", timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {row[1].strip(): row for row in (line.split("|") for line in result.stdout.splitlines()) if len(row) == 11}
    mine, theirs = rows["Luigi workers -> xrsched"], rows["luigid"]
    for row in (mine, theirs):
        assert row[2].strip() == "fan-in" and row[3].strip() == "12", row  # every task ran once
        assert row[9].strip() == "0", row  # the luigi command's exit status
    assert mine[8].strip().endswith("x") and float(mine[8].strip()[:-1]) > 0, mine
    assert "This run (medians), Luigi workers -> xrsched: tasks/s at least" in result.stdout
    text = readme.read_text()
    assert "<!-- e2e:begin -->\nall systems\n<!-- e2e:end -->" in text
    block = text.split("<!-- e2e-luigi:begin -->", 1)[1].split("<!-- e2e-luigi:end -->", 1)[0]
    assert "## End to end: Luigi workers, luigid or xrsched" in block
    assert "| Luigi workers -> xrsched | fan-in |" in block
    assert "`benchmarks/run_e2e.sh --only luigi-xrsched,luigid --shapes fan-in --tasks 12" in block


def test_e2e_bench_luigi_local_row_is_luigis_worker_without_a_server():
    """The floor row: the same ``luigi`` command with ``--local-scheduler``; not judged by a target."""
    pytest.importorskip("luigi")
    result = run_benchmark(
        "e2e.py", "--only", "luigi-local", "--shapes", "fan-in", "--tasks", "12", "--reps", "1", timeout=120
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| Luigi workers, --local")]
    assert len(rows) == 1, result.stdout
    assert rows[0][2].strip() == "fan-in" and rows[0][3].strip() == "12" and rows[0][9].strip() == "0", rows
    assert "This run (medians), Luigi workers -> xrsched" not in result.stdout


def test_e2e_bench_luigi_xrsched_normal_row_runs_luigi_against_a_sync_normal_server():
    """The same Luigi command against xrsched at --sync normal: its own row, not judged by a target."""
    pytest.importorskip("luigi")
    result = run_benchmark(
        "e2e.py", "--only", "luigi-xrsched-normal", "--shapes", "fan-in", "--tasks", "12", "--reps", "1",
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| Luigi workers -> xrsched")]
    assert len(rows) == 1, result.stdout
    assert rows[0][1].strip() == "Luigi workers -> xrsched (sync normal)", rows
    assert rows[0][3].strip() == "12" and rows[0][9].strip() == "0", rows
    assert "This run (medians), Luigi workers -> xrsched" not in result.stdout


def test_e2e_bench_refuses_an_unknown_system():
    result = run_benchmark("e2e.py", "--only", "xrsched,luigi-xrsched-fast", "--tasks", "12", timeout=60)
    assert result.returncode == 2
    assert "unknown system(s) luigi-xrsched-fast" in result.stderr


def test_e2e_bench_timeout_stops_a_run_and_shows_the_rate_so_far():
    result = run_benchmark(
        "e2e.py", "--only", "xrsched", "--shapes", "chain", "--tasks", "20000", "--reps", "1", "--timeout", "2",
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| xrsched |")]
    assert len(rows) == 1, result.stdout
    assert int(rows[0][3].replace(",", "")) < 20000 and rows[0][9].strip() == "124", rows
    assert 2 <= float(rows[0][5]) < 10, rows  # wall: stopped at the timeout, not run to the end
    assert "Exit 124: the run was stopped at `--timeout`" in result.stdout


def test_e2e_bench_several_sizes_take_turns_and_are_compared():
    """``--tasks 8,16``: within each repetition both sizes run (the smaller first), one table per
    size, and a line per shape gives the larger size's median rate over the smaller's."""
    result = run_benchmark("e2e.py", "--only", "xrsched", "--tasks", "8,16", "--reps", "2", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    runs = [(line.split()[1], line.split()[3], line.split()[4]) for line in lines if line.startswith("rep ")]
    order = [("1/2", "chain", "tasks=8"), ("1/2", "fan-in", "tasks=8"), ("1/2", "chain", "tasks=16"),
             ("1/2", "fan-in", "tasks=16")]  # fmt: skip
    assert runs == order + [("2/2", shape, size) for _, shape, size in order], result.stdout
    rows = [line.split("|") for line in lines if line.startswith("| xrsched |")]
    assert [(row[2].strip(), row[3].strip()) for row in rows] == [
        ("chain", "8"),
        ("fan-in", "8"),
        ("chain", "16"),
        ("fan-in", "16"),
    ], result.stdout
    flat = [line for line in lines if line.startswith("- xrsched, ")]
    assert len(flat) == 2 and all("16 / 8: " in line and "first" in line for line in flat), result.stdout
    assert all("while running" in line and "(while running: " in line for line in flat), result.stdout


def test_e2e_bench_out_dir_takes_the_task_outputs_and_each_run_shows_its_rate_by_tenths(tmp_path):
    """``--out-dir``: the tasks write under it (emptied after each run) and the
    machine line names its file system; every run's line gives 10 rates, one per tenth of its tasks."""
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    before = outputs.stat().st_mtime_ns
    time.sleep(0.01)
    result = run_benchmark(
        "e2e.py", "--only", "xrsched", "--shapes", "fan-in", "--tasks", "20,40", "--reps", "1",
        "--out-dir", str(outputs), timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    runs = [line for line in lines if line.startswith("rep ")]
    assert len(runs) == 2 and all(" exit=0 " in line for line in runs), result.stdout
    for line in runs:
        tenths = line.rsplit("tenths=", 1)[1].split(",")
        assert len(tenths) == 10 and all(float(rate) > 0 for rate in tenths), line
    # Each run's directory was made in it (which changes its mtime) and removed after the run.
    assert outputs.stat().st_mtime_ns != before and list(outputs.iterdir()) == [], list(outputs.iterdir())
    assert "task outputs on: ext4 at /" in result.stdout or "task outputs on: tmpfs at /" in result.stdout
    medians = [line for line in lines if " by tenths of its tasks (median tasks/s): " in line]
    assert [line.split(" by ")[0].strip() for line in medians] == ["- 20", "- 40"], result.stdout


def _tenths_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("e2e_tenths", ROOT / "benchmarks" / "e2e_tenths.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tenth_rates_measure_each_tenth_from_the_end_of_the_one_before():
    tenth_rates = _tenths_module().tenth_rates
    # 20 tasks, two per tenth; the first tenth is counted from the first start (t=0), the k-th
    # ends at 2k seconds except the first (1 s): rates 2/1, then 2/3 (from 1 to 4), then 2/2...
    starts = [0.0] * 20
    ends = [0.5, 1.0, 3.0, 4.0, *(2.0 * k + d for k in range(3, 11) for d in (-0.5, 0.0))]
    rates = tenth_rates(starts, list(reversed(ends)))  # in the order they ended, whatever the log's
    assert rates == [2.0, 2 / 3, *([1.0] * 8)]
    assert tenth_rates([0.0] * 9, [1.0] * 9) == []
    assert len(tenth_rates([0.0] * 25, [float(i + 1) for i in range(25)])) == 10  # 5 left out


def test_filesystem_names_the_longest_mount_point_above_a_path(tmp_path):
    filesystem = _tenths_module().filesystem
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\nshm /dev/shmx tmpfs rw 0 0\n"
        "tmpfs /mnt/my\\040disk tmpfs rw 0 0\n"
    )
    assert filesystem(Path("/dev/shm/e2e"), str(mounts)) == "tmpfs at /dev/shm"
    assert filesystem(Path("/dev/shmy/e2e"), str(mounts)) == "ext4 at /"
    assert filesystem(Path("/mnt/my disk/x"), str(mounts)) == "tmpfs at /mnt/my disk"
    assert filesystem(Path("/x"), str(tmp_path / "missing")) == "unknown"
