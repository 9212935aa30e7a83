"""Smoke test of benchmarks/e2e.py: a small xrsched-only run finishes, every task runs once, the
requests-only loop gets through the chain, and the table has its rows (no luigi needed; ~10 s)."""

from __future__ import annotations

import pytest

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
