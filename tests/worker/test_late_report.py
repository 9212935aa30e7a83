"""A worker the scheduler dropped while its task ran reports the run when it comes back: the
scheduler accepts it (nobody else runs the task), the worker exits 0 and the task ran once.
Real ``xrsched-server`` and ``xrsched run`` processes; the worker is held silent with SIGSTOP
(its task's child keeps running), so the drop happens every time, not only under load."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.waiting import wait_for
from tests.worker.tasks import runs


@pytest.mark.parametrize("restart", [False, True], ids=["silent-worker", "scheduler-restart"])
def test_a_dropped_workers_late_done_is_accepted_and_nothing_runs_twice(server, run_worker, tmp_path, restart):
    root = tmp_path / "late"
    args = ["--module", "tests.worker.tasks", "Sleeper", "--root", str(root), "--seconds", "120"]
    worker = run_worker(args, server.worker_env("w1"))
    task_id = wait_for(lambda: runs(root, "start"), 60, "the Sleeper to start")[0][0]
    if restart:  # the scheduler dies while the task runs and comes back on its port
        os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
    os.kill(worker.proc.pid, signal.SIGSTOP)  # the worker process falls silent; its child runs on
    try:
        if restart:
            server.start(port=server.port)
        with server.client() as admin:
            # Silent past worker_disconnect_delay (3 s): dropped, its run failed.
            wait_for(lambda: admin.dep_graph(task_id=task_id)[task_id]["status"] == "FAILED", 60, "the drop")
        Path(root, "release").touch()
        wait_for(lambda: runs(root, "run"), 60, "the Sleeper to finish")
    finally:
        os.kill(worker.proc.pid, signal.SIGCONT)
    assert worker.wait(120) == 0, worker.text
    assert "refused" not in worker.text, worker.text  # without the rule: add_task(...) refused: [403]
    with server.client() as admin:
        assert admin.dep_graph(task_id=task_id)[task_id]["status"] == "DONE"
    assert [t for t, _, _ in runs(root, "start")] == [task_id]
