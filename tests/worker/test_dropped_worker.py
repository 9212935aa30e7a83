"""A worker the scheduler dropped (silent past ``worker_disconnect_delay``) no longer holds the
tasks it registered: the scheduler would hand them to nobody. When it comes back and finds the
scheduler holding none of its unfinished tasks, it registers its graph again and finishes it.
Real ``xrsched-server`` and ``xrsched run`` processes; SIGSTOP makes the drop happen every time."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.waiting import wait_for
from tests.worker.tasks import runs


def test_a_dropped_worker_registers_its_unfinished_tasks_again_and_runs_them(server, run_worker, tmp_path):
    root = tmp_path / "drop"
    args = ["--module", "tests.worker.tasks", "AfterSleeper", "--root", str(root), "--seconds", "120"]
    worker = run_worker(args, server.worker_env("w1"))
    sleeper = wait_for(lambda: runs(root, "start"), 60, "the Sleeper to start")[0][0]
    os.kill(worker.proc.pid, signal.SIGSTOP)  # silent: dropped after 3 s; its child runs on
    try:
        with server.client() as admin:
            wait_for(lambda: admin.dep_graph(task_id=sleeper)[sleeper]["status"] == "FAILED", 60, "the drop")
            graph = admin.dep_graph(task_id=next(iter(admin.task_list(status="PENDING"))))
            after = next(t for t, info in graph.items() if info["name"] == "AfterSleeper")
            assert graph[after]["workers"] == []  # the scheduler holds it for nobody now
        Path(root, "release").touch()
        wait_for(lambda: runs(root, "run"), 60, "the Sleeper to finish")
    finally:
        os.kill(worker.proc.pid, signal.SIGCONT)
    assert worker.wait(120) == 0, worker.text
    assert sorted(t.split("_")[0] for t, _, _ in runs(root, "run")) == ["AfterSleeper", "Sleeper"]
    assert [t for t, _, _ in runs(root, "start")] == [sleeper]  # the Sleeper ran once
    assert "holds none of this worker's 1 unfinished task" in worker.text, worker.text
    with server.client() as admin:
        assert admin.dep_graph(task_id=after)[after]["status"] == "DONE"
