"""Tasks handed out ahead (prefetched) while a worker's tasks are short: they count as the
worker's own (``current_tasks``), run like any other, and are reported FAILED, never left
RUNNING, when the worker is told to stop at once before they start."""

from __future__ import annotations

import os
import signal
import time

from tests.waiting import wait_for
from tests.worker.tasks import Sleeper, runs


def test_a_task_held_ahead_is_failed_not_forgotten_when_the_worker_stops_at_once(server, run_worker, tmp_path):
    root = str(tmp_path / "ahead")
    # One process; Quick runs first, then with prefetching both Sleepers are handed out at once:
    # one runs, the other waits in the worker. (A generous prefetch_below: the first task's
    # time includes the child's warm-up.)
    args = ["--module", "tests.worker.tasks", "QuickThenSleepers", "--root", root, "--workers", "1",
            "--prefetch-below", "30"]  # fmt: skip
    worker = run_worker(args, server.worker_env("w1"))
    started = wait_for(lambda: runs(tmp_path / "ahead", "start"), 60, "a Sleeper to start")
    running = started[0][0]
    held = next(s.task_id for s in (Sleeper(root=root, name=n, seconds=60) for n in "ab") if s.task_id != running)
    with server.client() as admin:
        wait_for(lambda: admin.dep_graph(task_id=held)[held]["status"] == "RUNNING", 30, "the held task")
    os.kill(worker.proc.pid, signal.SIGTERM)
    time.sleep(0.3)
    os.kill(worker.proc.pid, signal.SIGTERM)  # the second one: stop at once
    assert worker.wait(60) != 0, worker.text
    assert [task_id for task_id, _, _ in runs(tmp_path / "ahead", "start")] == [running]  # held never started
    with server.client() as admin:
        assert admin.dep_graph(task_id=held)[held]["status"] == "FAILED"
        assert "not started" in admin.fetch_error(task_id=held)["error"]
        assert admin.dep_graph(task_id=running)[running]["status"] == "FAILED"
