"""The durability benchmark still runs (quick, no luigid): it must not rot between full runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_durability_benchmark_quick_run():
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "durability.py"),
            "--quick",
            "--only",
            "durable,memory",
            "--restart-tasks",
            "2000",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| xrsched" in result.stdout
    assert "restart with 2,000 tasks" in result.stdout
