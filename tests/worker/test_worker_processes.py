"""Real worker processes against a real server: sharing a graph, losing a worker, losing the
server, draining on SIGUSR1."""

from __future__ import annotations

import collections
import os
import signal
import time

from tests.waiting import wait_for
from tests.worker.tasks import AfterSleeper, Node, Sleeper, runs


def test_two_worker_processes_share_a_500_task_dag_and_run_each_task_once(server, run_worker, tmp_path):
    root = str(tmp_path / "dag")
    args = ["--module", "tests.worker.tasks", "Node", "--root", root, "--i", "0", "--size", "500", "--workers", "2"]
    first = run_worker(args, server.worker_env("w1"))
    second = run_worker(args, server.worker_env("w2"))
    assert first.wait(120) == 0, first.text
    assert second.wait(120) == 0, second.text
    done = runs(tmp_path / "dag")
    counts = collections.Counter(task_id for task_id, _, _ in done)
    assert len(counts) == 500
    assert max(counts.values()) == 1, [t for t, n in counts.items() if n > 1]
    assert len({pid for _, _, pid in done}) >= 2  # more than one child process did the work
    root_id = Node(root=root, i=0, size=500).task_id
    with server.client() as admin:
        assert admin.task_list(status="DONE", search="Node")
        assert admin.dep_graph(task_id=root_id)[root_id]["status"] == "DONE"


def test_a_killed_workers_task_runs_again_elsewhere_only_after_the_disconnect_delay(server, run_worker, tmp_path):
    root = str(tmp_path / "lost")
    args = ["--module", "tests.worker.tasks", "Sleeper", "--root", root, "--seconds", "60"]
    doomed = run_worker(args, server.worker_env("w1"))
    first_start = wait_for(lambda: runs(tmp_path / "lost", "start"), 60, "the first run to start")
    child_pid = first_start[0][2]
    os.kill(doomed.proc.pid, signal.SIGKILL)
    killed_at = time.time()
    doomed.wait(10)
    wait_for(lambda: not _alive(child_pid), 10, "the orphaned task process to die with its worker")

    rescuer = run_worker([*args, "--keep-alive"], server.worker_env("w2"))
    starts = wait_for(lambda: runs(tmp_path / "lost", "start")[1:], 60, "the second run to start")
    assert starts[0][1] >= killed_at + 3.0, "the task ran again before the worker was declared lost"
    (tmp_path / "lost" / "release").touch()
    assert rescuer.wait(60) == 0, rescuer.text
    assert len(runs(tmp_path / "lost", "start")) == 2
    assert len(runs(tmp_path / "lost", "run")) == 1, "the killed worker's run must never finish"


def test_workers_ride_out_a_server_restart_on_the_same_port(server, run_worker, tmp_path):
    port = server.port
    root = str(tmp_path / "restart")
    args = ["--module", "tests.worker.tasks", "Wide", "--root", root, "--count", "3", "--length", "12",
            "--seconds", "0.15", "--workers", "3"]  # fmt: skip
    worker = run_worker(args, server.worker_env("w1"))
    wait_for(lambda: len(runs(tmp_path / "restart")) >= 6, 60, "some tasks to finish")
    server.stop()
    time.sleep(1.0)  # tasks keep finishing while the scheduler is away
    server.start(port=port)
    assert worker.wait(120) == 0, worker.text
    counts = collections.Counter(task_id for task_id, _, _ in runs(tmp_path / "restart"))
    assert len(counts) == 36
    assert max(counts.values()) == 1


def test_sigusr1_lets_the_running_task_finish_and_starts_nothing_new(server, run_worker, tmp_path):
    root = str(tmp_path / "drain")
    args = ["--module", "tests.worker.tasks", "AfterSleeper", "--root", root, "--seconds", "60"]
    worker = run_worker(args, server.worker_env("w1"))
    wait_for(lambda: runs(tmp_path / "drain", "start"), 60, "the slow task to start")
    os.kill(worker.proc.pid, signal.SIGUSR1)
    time.sleep(0.5)
    (tmp_path / "drain" / "release").touch()
    assert worker.wait(60) == 3, worker.text
    assert [task_id.split("_")[0] for task_id, _, _ in runs(tmp_path / "drain")] == ["Sleeper"]
    sleeper = Sleeper(root=root, seconds=60).task_id
    with server.client() as admin:
        assert admin.dep_graph(task_id=sleeper)[sleeper]["status"] == "DONE"
    assert "interrupted (SIGUSR1)" in worker.text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _made_elsewhere_while_sleeper_runs(server, run_worker, tmp_path, extra: list[str]):
    """AfterSleeper is registered PENDING; while its Sleeper runs, 'another worker' writes its output."""
    root = str(tmp_path / "race")
    worker = run_worker(["--module", "tests.worker.tasks", "AfterSleeper", "--root", root, "--seconds", "60", *extra],
                        server.worker_env("w1"))  # fmt: skip
    wait_for(lambda: runs(tmp_path / "race", "start"), 60, "the sleeper to start")
    after = AfterSleeper(root=root, seconds=60)
    with after.output().open("w") as handle:
        handle.write("made by another worker\n")
    (tmp_path / "race" / "release").touch()
    assert worker.wait(60) == 0, worker.text
    return worker, after


def test_a_task_whose_outputs_appeared_meanwhile_is_reported_done_without_running(server, run_worker, tmp_path):
    worker, after = _made_elsewhere_while_sleeper_runs(server, run_worker, tmp_path, [])
    assert [task_id.split("_")[0] for task_id, _, _ in runs(tmp_path / "race")] == ["Sleeper"]
    assert "not run again" in worker.text
    assert "1 task(s) were completed by other workers" in worker.text
    with server.client() as admin:
        assert admin.dep_graph(task_id=after.task_id)[after.task_id]["status"] == "DONE"


def test_the_check_before_running_can_be_turned_off(server, run_worker, tmp_path):
    worker, _ = _made_elsewhere_while_sleeper_runs(server, run_worker, tmp_path, ["--no-check-complete-before-run"])
    assert [task_id.split("_")[0] for task_id, _, _ in runs(tmp_path / "race")] == ["Sleeper", "AfterSleeper"]
    assert "2 task(s) ran successfully" in worker.text
