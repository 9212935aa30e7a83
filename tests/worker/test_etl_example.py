"""The ETL example runs end to end with its own script: server, token, worker, dynamic partitions."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.worker.conftest import ROOT


def test_the_etl_example_runs_in_one_command(tmp_path):
    scratch = tmp_path / "scratch"  # the script's mktemp -d goes here
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XRSCHED_")}
    env.update(HOME=str(tmp_path / "home"), XRSCHED_ETL_DATA=str(tmp_path / "data"), TMPDIR=str(scratch),
               XRSCHED_BIN=str(Path(sys.executable).parent))  # fmt: skip
    result = subprocess.run(
        [str(ROOT / "examples" / "etl" / "run.sh"), "2026-11-22"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "every task asked for is complete" in output
    assert "dynamic dependencies" in output
    assert "running Extract_2026_11_22_" in output  # short ids: the data directory is not a parameter
    ran = [line.split(" running ", 1)[1] for line in output.splitlines() if " running " in line]
    assert ran and not any("pytest" in task_id or "data" in task_id for task_id in ran), ran
    assert list(scratch.iterdir()) == []  # the run's temporary directory is gone
    with sqlite3.connect(tmp_path / "data" / "warehouse.sqlite3") as db:
        rows = db.execute("SELECT region, sales FROM sales WHERE day = '2026-11-22'").fetchall()
    regions = sorted(path.name for path in (tmp_path / "data" / "2026-11-22").glob("region-*.csv"))
    assert len(rows) == len(regions) >= 3  # one dynamic TransformRegion per region found at run time
    assert sum(sales for _, sales in rows) == 300
