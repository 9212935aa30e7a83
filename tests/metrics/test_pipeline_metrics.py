"""A real pipeline (``xrsched run`` against a real TLS server) shows up in a real scrape."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.metrics.conftest import scrape

ROOT = Path(__file__).resolve().parents[2]


def test_finished_failed_and_disabled_tasks_are_counted_per_family(live_server, env, tmp_path: Path):
    worker_secret = live_server.token("etl", "worker")
    viewer = live_server.token("prom", "viewer")
    env.update(
        XRSCHED_TOKEN=worker_secret,
        XRSCHED_SCHEDULER_URL=live_server.url,
        XRSCHED_CA=str(live_server.ca),
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "xrsched.cli.run", "--module", "tests.metrics.pipeline", "Report",
         "--root", str(tmp_path / "out"), "--workers", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr  # something failed

    found = scrape(live_server, viewer)
    assert found.status == 200
    assert found.value("luigi_task_started_total", family="Load") == 3
    assert found.value("luigi_task_done_total", family="Load") == 3
    assert found.value("luigi_task_started_total", family="Flaky") == 1
    assert found.value("luigi_task_failed_total", family="Flaky") == 1
    assert found.value("luigi_task_disabled_total", family="Flaky") == 0
    assert found.value("luigi_task_started_total", family="Doomed") == 1
    assert found.value("luigi_task_disabled_total", family="Doomed") == 1
    assert found.value("luigi_task_failed_total", family="Doomed") == 0  # a failure that disables counts once
    assert found.value("luigi_task_started_total", family="Report") == 0  # never runnable
    assert found.label_values("luigi_task_execution_time_seconds", "family") >= {"Load", "Flaky", "Doomed"}
    assert 0 <= found.value("luigi_task_execution_time_seconds", family="Load") < 30

    assert found.value("xrsched_tasks", status="DONE") == 3
    assert found.value("xrsched_tasks", status="FAILED") == 1
    assert found.value("xrsched_tasks", status="DISABLED") == 1
    assert found.value("xrsched_tasks", status="PENDING") == 1
    assert found.value("xrsched_tasks", status="RUNNING") == 0
    assert found.value("xrsched_workers_active") >= 1  # the worker has not timed out yet

    # The worker's own calls, counted by method: one get_work at least per task it ran.
    assert found.value("xrsched_rpc_calls_total", method="get_work", outcome="ok") >= 5
    assert found.value("xrsched_rpc_call_duration_seconds_count", method="get_work") == found.value(
        "xrsched_rpc_calls_total", method="get_work", outcome="ok"
    )
    assert found.value("xrsched_get_work_duration_seconds_count") == found.value(
        "xrsched_rpc_calls_total", method="get_work", outcome="ok"
    )
    assert found.value("xrsched_store_commit_duration_seconds_count") >= 1
