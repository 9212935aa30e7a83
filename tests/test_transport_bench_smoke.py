"""Smoke test of benchmarks/transport.py: a quick xrsched-vs-bare run finishes and prints its table.

No luigi needed (luigid is left out); bounded to about 30 s.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "transport.py"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def test_transport_bench_quick_runs_and_prints_a_table():
    python = VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)
    result = subprocess.run(
        [str(python), str(SCRIPT), "--quick", "--only", "xrsched,bare"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("| server | clients | calls/s") for line in lines), result.stdout
    rows = [line for line in lines if line.startswith(("| xrsched |", "| bare |"))]
    assert len(rows) == 4, result.stdout  # 2 servers x 1 and 8 clients
    for row in rows:
        calls_per_second = float(row.split("|")[3].replace(",", ""))
        assert calls_per_second > 0, row
    assert not any(line.startswith("| luigid |") for line in lines), result.stdout
