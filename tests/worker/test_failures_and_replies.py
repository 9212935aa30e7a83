"""Failures reach the scheduler with their traceback and are retried per policy; a reply lost
in flight never makes a task run twice; ``--local-scheduler`` needs no server."""

from __future__ import annotations

import collections
import subprocess
import sys

from tests.client.proxy import FaultyProxy, drop_reply
from tests.worker.conftest import ROOT
from tests.worker.tasks import Boom, NeedsBoom, runs


def test_a_failure_is_visible_through_fetch_error_and_retried_per_policy(server, run_worker, tmp_path):
    root = str(tmp_path / "fail")
    args = ["--module", "tests.worker.tasks", "NeedsBoom", "--root", root, "--keep-alive"]
    worker = run_worker(args, server.worker_env("w1"))
    assert worker.wait(60) == 1, worker.text
    boom = Boom(root=root).task_id
    assert [task_id for task_id, _, _ in runs(tmp_path / "fail")] == [boom, boom]  # retry_count = 2, then disabled
    with server.client() as admin:
        error = admin.fetch_error(task_id=boom)["error"]
        status = admin.dep_graph(task_id=NeedsBoom(root=root).task_id)
    assert "Traceback" in error and "boom: the disk is made of cheese" in error
    assert status[boom]["status"] == "DISABLED"
    assert "1 task(s) failed" in worker.text and "a dependency failed" in worker.text


def test_without_keep_alive_a_failure_ends_the_run_at_once(server, run_worker, tmp_path):
    root = str(tmp_path / "once")
    worker = run_worker(["--module", "tests.worker.tasks", "NeedsBoom", "--root", root], server.worker_env("w1"))
    assert worker.wait(60) == 1, worker.text
    assert len(runs(tmp_path / "once")) == 1


def test_missing_external_input_exits_2(server, run_worker, tmp_path):
    root = str(tmp_path / "ext")
    worker = run_worker(["--module", "tests.worker.tasks", "UsesInput", "--root", root], server.worker_env("w1"))
    assert worker.wait(60) == 2, worker.text
    assert "missing external inputs" in worker.text
    assert runs(tmp_path / "ext") == []


def test_replies_dropped_in_flight_never_run_a_task_twice(server, run_worker, tmp_path, dev_certs):
    proxy = FaultyProxy(dev_certs.server_cert, dev_certs.server_key, server.cert, ("localhost", server.port))
    try:
        # The first three requests that ask for work reach the server, which hands out tasks,
        # but their answers are lost; the worker repeats them with the same request ids.
        proxy.plan(drop_reply, drop_reply, drop_reply, match=b"get_work")
        root = str(tmp_path / "drop")
        args = ["--module", "tests.worker.tasks", "Node", "--root", root, "--i", "0", "--size", "40",
                "--workers", "2"]  # fmt: skip
        env = server.worker_env("w1", url=proxy.url, ca=dev_certs.ca_cert)
        worker = run_worker(args, env)
        assert worker.wait(90) == 0, worker.text
        assert not proxy.actions, "every planned drop happened"
    finally:
        proxy.close()
    counts = collections.Counter(task_id for task_id, _, _ in runs(tmp_path / "drop"))
    assert len(counts) == 40
    assert max(counts.values()) == 1
    assert "retrying" in worker.text


def test_local_scheduler_runs_a_small_dag_without_a_server(tmp_path):
    root = str(tmp_path / "local")
    result = subprocess.run(
        [sys.executable, "-m", "xrsched.cli.run", "--module", "tests.worker.tasks", "Node", "--root", root,
         "--i", "0", "--size", "25", "--local-scheduler", "--workers", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "25 task(s) ran successfully" in result.stdout
    counts = collections.Counter(task_id for task_id, _, _ in runs(tmp_path / "local"))
    assert len(counts) == 25 and max(counts.values()) == 1
