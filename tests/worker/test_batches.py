"""Batches in xrsched's own worker: a real server, real ``xrsched run`` subprocesses.

The worker declares batchable families (``add_task_batcher``), the scheduler hands out up to
``max_batch_size`` tasks at once, the worker runs one combined task for them, and every member
gets its outcome.
"""

from __future__ import annotations

import math
import threading

from tests.worker.batch_tasks import (
    MAX_BATCH,
    Day,
    GathersNumbered,
    ManyNumbered,
    ManyUncombinable,
    Numbered,
    PartsThenNumbered,
    Uncombinable,
    UpToHour,
    batch_runs,
)
from tests.worker.tasks import Part, runs
from xrsched.worker import CompletenessChecker, Worker, WorkerSettings, walk
from xrsched.worker.registration import registration_calls

MODULE = ["--module", "tests.worker.batch_tasks", "ManyNumbered"]


def statuses(server, root_task) -> dict[str, str]:
    """The scheduler's status of every task in ``root_task``'s graph."""
    with server.client() as admin:
        graph = admin.dep_graph(task_id=root_task.task_id, include_done=True)
    return {task_id: info["status"] for task_id, info in graph.items()}


def members(root: str, count: int, **params) -> list[str]:
    return [Numbered(root=root, key=f"k{i:02d}", **params).task_id for i in range(count)]


def test_twenty_batchable_tasks_run_as_few_batches_and_every_member_is_done(server, run_worker, tmp_path):
    root = str(tmp_path / "batch")
    worker = run_worker([*MODULE, "--root", root, "--count", "20", "--parts", "3", "--workers", "2"],
                        server.worker_env("w1"))  # fmt: skip
    assert worker.wait(90) == 0, worker.text
    done = batch_runs(tmp_path / "batch")
    assert len(done) == math.ceil(20 / MAX_BATCH), done
    assert all(len(keys) <= MAX_BATCH for keys in done), done
    assert sorted(key for keys in done for key in keys) == [f"k{i:02d}" for i in range(20)]
    status = statuses(server, ManyNumbered(root=root, count=20, parts=3))
    for task_id in members(root, 20):
        assert status[task_id] == "DONE", (task_id, status[task_id])
    # A family without a batch method is unaffected: each Part ran on its own, once.
    parts = sorted(task_id for task_id, _, _ in runs(tmp_path / "batch"))
    assert parts == sorted(Part(root=root, n=n).task_id for n in range(3))
    assert "24 task(s) ran successfully" in worker.text, worker.text  # members, parts and the root


def test_a_failing_batch_fails_every_member_with_the_traceback(server, run_worker, tmp_path):
    root = str(tmp_path / "fail")
    worker = run_worker([*MODULE, "--root", root, "--count", "8", "--fail"], server.worker_env("w1"))
    assert worker.wait(90) == 1, worker.text
    assert len(batch_runs(tmp_path / "fail")) == math.ceil(8 / MAX_BATCH)
    status = statuses(server, ManyNumbered(root=root, count=8, fail=True))
    with server.client() as admin:
        for task_id in members(root, 8, fail=True):
            assert status[task_id] == "FAILED", (task_id, status[task_id])
            error = admin.fetch_error(task_id=task_id)["error"]
            assert "Traceback" in error and "fails on purpose" in error, error
    assert "8 task(s) failed" in worker.text, worker.text


def test_a_batch_whose_combined_output_exists_is_done_without_running(server, run_worker, tmp_path):
    # The members' dependency makes the combined output after they were registered incomplete,
    # as another worker's run of the same batch would.
    root = str(tmp_path / "ready")
    keys = "k00,k01,k02"
    worker = run_worker([*MODULE, "--root", root, "--count", "3", "--premade", keys], server.worker_env("w1"))
    assert worker.wait(90) == 0, worker.text
    assert "was complete when its turn came" in worker.text, worker.text
    assert batch_runs(tmp_path / "ready") == []
    status = statuses(server, ManyNumbered(root=root, count=3, premade=keys))
    assert [status[task_id] for task_id in members(root, 3, premade=keys)] == ["DONE"] * 3


def test_batchable_dynamic_dependencies_run_in_batches(server, run_worker, tmp_path):
    root = str(tmp_path / "dyn")
    args = ["--module", "tests.worker.batch_tasks", "GathersNumbered", "--root", root, "--count", "10"]
    worker = run_worker(args, server.worker_env("w1"))
    assert worker.wait(90) == 0, worker.text
    done = batch_runs(tmp_path / "dyn")
    assert len(done) == math.ceil(10 / MAX_BATCH), done
    status = statuses(server, GathersNumbered(root=root, count=10))
    for i in range(10):
        assert status[Numbered(root=root, key=f"d{i:02d}").task_id] == "DONE"


def test_a_batch_method_of_max_runs_the_latest_member_for_all(server, run_worker, tmp_path):
    root = str(tmp_path / "day")
    worker = run_worker(["--module", "tests.worker.batch_tasks", "Day", "--root", root], server.worker_env("w1"))
    assert worker.wait(90) == 0, worker.text
    assert batch_runs(tmp_path / "day") == [["23"]]  # one run, as the last hour
    status = statuses(server, Day(root=root))
    assert {status[UpToHour(root=root, hour=hour).task_id] for hour in range(24)} == {"DONE"}
    assert "25 task(s) ran successfully" in worker.text, worker.text


def test_a_batch_whose_combined_task_cannot_be_built_fails_every_member(server, run_worker, tmp_path):
    root = str(tmp_path / "refused")
    args = ["--module", "tests.worker.batch_tasks", "ManyUncombinable", "--root", root]
    worker = run_worker(args, server.worker_env("w1"))
    assert worker.wait(90) == 1, worker.text
    status = statuses(server, ManyUncombinable(root=root))
    with server.client() as admin:
        for i in range(3):
            task_id = Uncombinable(root=root, key=f"u{i}").task_id
            assert status[task_id] == "FAILED", (task_id, status[task_id])
            error = admin.fetch_error(task_id=task_id)["error"]
            assert "cannot build the batch task" in error and "cannot combine 3 keys" in error, error
    assert "3 task(s) failed" in worker.text, worker.text


def test_a_graph_with_batchable_tasks_registers_in_one_go_even_when_pipelined(server, tmp_path):
    # Batches hold only what is registered when they are handed out: the first request of a
    # pipelined registration (16 calls) would cut 40 tasks into more batches than needed.
    quiet = WorkerSettings(ping_interval=3600)
    with server.client("w1") as client, Worker(client, processes=1, settings=quiet, handle_signals=False) as worker:
        assert worker.add(ManyNumbered(root=str(tmp_path / "one"), count=40), pipelined=True)
        with server.client() as admin:
            assert admin.count_pending(worker=worker.worker_id)["n_pending_tasks"] == 41


def test_batchable_tasks_met_after_the_first_leaves_were_sent_still_run_in_full_batches(server, run_worker, tmp_path):
    # The pipelined walk sends the first Parts before it meets Numbered (100 Parts come first);
    # the rest, batchable members included (60: more than the first request of the rest, 50
    # calls), is registered before the worker asks again.
    root = str(tmp_path / "late")
    args = ["--module", "tests.worker.batch_tasks", "PartsThenNumbered", "--root", root, "--count", "60"]
    worker = run_worker([*args, "--workers", "2"], server.worker_env("w1"))
    assert worker.wait(90) == 0, worker.text
    assert "registered the first 15 task(s)" in worker.text, worker.text  # the streamed path ran
    done = batch_runs(tmp_path / "late")
    assert len(done) == math.ceil(60 / MAX_BATCH), done
    assert sorted(key for keys in done for key in keys) == [f"k{i:02d}" for i in range(60)]
    status = statuses(server, PartsThenNumbered(root=root, count=60))
    assert all(status[task_id] == "DONE" for task_id in members(root, 60))


def test_the_worker_asks_for_nothing_while_the_rest_with_batchable_tasks_is_sent(server, tmp_path):
    # A get_work between two requests of the rest would hand out a short batch; the race is too
    # narrow to catch end to end, so watch the flag ``run`` obeys while each request goes out.
    quiet = WorkerSettings(ping_interval=3600)
    held: list[bool] = []
    with server.client("w1") as client, Worker(client, processes=1, settings=quiet, handle_signals=False) as worker:
        send_many = worker.link.send_many

        def watched(calls, **kwargs):
            held.append(worker._hold_asks.is_set())
            return send_many(calls, **kwargs)

        worker.link.send_many = watched
        assert worker.add(PartsThenNumbered(root=str(tmp_path), count=60), pipelined=True)
        for thread in worker._registrars:
            thread.join(60)
        assert held[0] is False and held[1:] and all(held[1:]), held  # the first leaves, then the rest
        assert not worker._hold_asks.is_set()


def test_a_registration_that_ends_while_asks_are_held_is_still_asked_for(server, tmp_path):
    # The race behind a rare exit 2 with every task pending: the loop decided not to ask (asks
    # held while the rest was sent), the registrar finished, and the loop then found nothing
    # registering, running or handed out, and stopped. Here the registrar sends the rest only
    # once the loop has decided, while asks are held, and the loop goes on only once it is done.
    quiet = WorkerSettings(ping_interval=3600)
    decided = threading.Event()
    with server.client("w1") as client, Worker(client, processes=2, settings=quiet, handle_signals=False) as worker:
        send_many, size = worker.link.send_many, worker._asks.size

        def send_once_the_loop_decided(calls, **kwargs):
            if worker._hold_asks.is_set():
                decided.wait(30)
            return send_many(calls, **kwargs)

        def decide_then_let_the_registrar_finish(free):
            if worker._hold_asks.is_set() and not decided.is_set():
                decided.set()
                for thread in list(worker._registrars):
                    thread.join(60)
            return size(free)

        worker.link.send_many = send_once_the_loop_decided
        worker._asks.size = decide_then_let_the_registrar_finish
        assert worker.add(PartsThenNumbered(root=str(tmp_path), count=60), pipelined=True)
        summary = worker.run()
    assert decided.is_set(), "the loop never decided while asks were held: the race was not set up"
    assert summary.exit_code == 0, summary
    status = statuses(server, PartsThenNumbered(root=str(tmp_path), count=60))
    assert set(status.values()) == {"DONE"}, status


def test_each_batchable_family_is_declared_once_before_its_tasks(tmp_path):
    graphs = [ManyNumbered(root=str(tmp_path), count=3, parts=2), ManyUncombinable(root=str(tmp_path))]
    found = walk(graphs, CompletenessChecker(1))
    declared: set[str] = set()
    calls = registration_calls(found, "w1", declared)
    batchers = [kwargs for method, kwargs in calls if method == "add_task_batcher"]
    assert batchers == [
        {"task_family": "Numbered", "batched_args": ["key"], "max_batch_size": MAX_BATCH, "worker": "w1"},
        {"task_family": "Uncombinable", "batched_args": ["key"], "worker": "w1"},  # no limit: left out
    ]
    assert [method for method, _ in calls[:2]] == ["add_task_batcher"] * 2
    assert declared == {"Numbered", "Uncombinable"}
    assert all(method == "add_task" for method, _ in registration_calls(found, "w1", declared))
