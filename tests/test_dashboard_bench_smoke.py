"""The dashboard-queries benchmark (benchmarks/dashboard_queries.py) still runs, small."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "dashboard_queries.py"


def test_a_small_run_prints_and_writes_its_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\n## Other\n\ntext\n")
    command = [sys.executable, str(SCRIPT), "--tasks", "400", "--reps", "1", "--cycles", "10"]
    for _ in range(2):  # the second run replaces the section the first one appended
        result = subprocess.run(
            [*command, "--write", "--readme", str(readme)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert "Dashboard queries at 400 tasks" in result.stdout
    assert "| `task_page(status=FAILED)` |" in result.stdout
    text = readme.read_text()
    assert text.startswith("# Benchmarks\n\n## Other\n\ntext\n\n## Dashboard queries\n")
    assert text.count("<!-- dashboard-queries:begin -->") == 1
    assert text.count("| `overview` |") == 1
