"""``luigi --module ... --scheduler-url https://ID:SECRET@host:port/``: unmodified Luigi workers
use xrsched as their central scheduler over TLS with a token."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.luigi_api.conftest import LUIGI_TIMEOUT, XrschedProcess, make_project

TASKS = 50
SUCCESS = "This progress looks :) because there were no failed tasks or missing dependencies"


def _assert_each_ran_once(runs: list[str]) -> None:
    counts = Counter(runs)
    assert len(counts) == TASKS, f"{len(counts)} distinct tasks ran"
    assert [task for task, n in counts.items() if n > 1] == []


def test_a_50_task_pipeline_runs_each_task_once(xrsched_server: XrschedProcess, tmp_path: Path):
    project = make_project(tmp_path / "p", xrsched_server)
    url = xrsched_server.url("luigi", xrsched_server.token("luigi"))

    run = project.run(url)

    assert run.returncode == 0, run.output[-4000:]
    assert SUCCESS in run.output, run.output[-4000:]
    assert f"{TASKS} ran successfully" in run.output
    _assert_each_ran_once(project.runs())
