"""A dropped worker's lost runs: remembered on the task (``last_runner``) and in ``lost_runs``
until the task runs again, goes DONE or is removed, and recovered after a restart."""

from __future__ import annotations

from tests.core.conftest import T0, add, finish, make, run, status_of
from xrsched.core import Scheduler
from xrsched.core.restore import meta_of, restore
from xrsched.store.records import TaskDecoder, decode_meta, encode_meta, encode_task

DROPPED = T0 + 61  # past the default worker_disconnect_delay (60 s) of a worker last seen at T0


def _drop_w1_running(s: Scheduler, task_id: str = "A") -> None:
    """w1 runs ``task_id`` and goes silent; w2 stays alive and holds the task too."""
    add(s, task_id, worker="w1")
    add(s, task_id, worker="w2")
    assert run(s, "w1") == task_id
    s.ping(worker="w2", now=DROPPED)
    s.prune(now=DROPPED)


def test_a_run_failed_because_its_worker_was_dropped_remembers_that_worker(sched):
    _drop_w1_running(sched)
    task = sched.tasks["A"]
    assert (task.status, task.worker_running, task.last_runner) == ("FAILED", None, "w1")
    assert sched.lost_runs == {"w1": {"A"}}


def test_the_last_runners_late_done_ends_the_lost_run(sched):
    _drop_w1_running(sched)
    finish(sched, "A", "w1", now=DROPPED + 1)
    assert status_of(sched, "A") == "DONE"
    assert sched.tasks["A"].last_runner is None
    assert sched.lost_runs == {}


def test_a_late_failed_report_keeps_the_lost_run_until_the_task_runs_again(sched):
    _drop_w1_running(sched)
    finish(sched, "A", "w1", now=DROPPED + 1, status="FAILED")
    assert status_of(sched, "A") == "FAILED"
    assert sched.lost_runs == {"w1": {"A"}}
    sched.ping(worker="w2", now=DROPPED + 1000)
    sched.prune(now=DROPPED + 1000)  # retry_delay passed: PENDING again
    assert run(sched, "w2", now=DROPPED + 1000) == "A"
    assert sched.tasks["A"].last_runner is None and sched.lost_runs == {}


def test_another_worker_taking_the_task_ends_the_lost_run(sched):
    _drop_w1_running(sched)
    sched.ping(worker="w2", now=DROPPED + 1000)
    sched.prune(now=DROPPED + 1000)
    assert run(sched, "w2", now=DROPPED + 1000) == "A"
    task = sched.tasks["A"]
    assert (task.worker_running, task.last_runner) == ("w2", None)
    assert sched.lost_runs == {}


def test_a_removed_task_takes_its_lost_run_with_it():
    s = make(remove_delay=10)
    add(s, "A", worker="w1")
    assert run(s, "w1") == "A"
    s.prune(now=DROPPED)  # w1 dropped: A fails and nobody holds it
    assert s.lost_runs == {"w1": {"A"}}
    s.prune(now=DROPPED + 11)
    assert "A" not in s.tasks
    assert s.lost_runs == {}


def test_a_restart_recovers_the_lost_runs_from_the_stored_tasks(sched):
    _drop_w1_running(sched)
    policy = sched.config.retry_policy
    tasks = TaskDecoder(policy).decode_rows([encode_task(t, policy) for t in sched.tasks.values()])
    fresh = make()
    restore(fresh, tasks, [], now=DROPPED + 5, **decode_meta(encode_meta(meta_of(sched))))
    assert fresh.tasks["A"].last_runner == "w1"
    assert fresh.lost_runs == {"w1": {"A"}}
    finish(fresh, "A", "w1", now=DROPPED + 6)
    assert status_of(fresh, "A") == "DONE" and fresh.lost_runs == {}
