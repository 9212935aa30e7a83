"""The core benchmark (benchmarks/core.py) still runs: a quick pass without Luigi."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "core.py"


#: Runs the script with ``import luigi`` failing, as where Luigi is not installed.
WITHOUT_LUIGI = (
    "import runpy, sys; sys.modules['luigi'] = None; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_LUIGI, str(SCRIPT), "--quick", "--no-luigi", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_quick_run_prints_a_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\nintro\n\n<!-- core:begin -->\nold\n<!-- core:end -->\n\n## Other\n")
    result = run("--memory-tasks", "5k", "--write", "--readme", str(readme))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "| shape | pending tasks | xrsched" in out
    for shape in ("runnable", "blocked", "resources"):
        assert f"| {shape} | 300 |" in out
        assert f"| {shape} | 2,000 |" in out
    assert "B/task" in out
    assert "luigi not run" in out
    text = readme.read_text()
    assert "old" not in text
    assert text.startswith("# Benchmarks\n\nintro\n\n<!-- core:begin -->\n")
    assert text.endswith("<!-- core:end -->\n\n## Other\n")
    assert "| runnable | 300 |" in text


def test_options_select_shapes_and_sizes():
    result = run("--shapes", "blocked", "--sizes", "500", "--no-memory")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| blocked | 500 |" in result.stdout
    assert "| runnable |" not in result.stdout
