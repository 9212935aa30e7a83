"""prune: silent workers, their runs, task removal, retries and re-enables falling due."""

from __future__ import annotations

import pytest

from tests.core.conftest import T0, add, finish, make, run, stakeholders_of, status_of, work, workers_of


def worker_names(s, now):
    return {w["name"] for w in s.worker_list(now=now)}


def test_prune_returns_none(sched):
    assert sched.prune(now=T0) is None


def test_silent_worker_is_dropped_after_disconnect_delay(sched):
    sched.add_worker(worker="w1", info={}, now=T0)
    sched.prune(now=T0 + 60)
    assert "w1" in sched.workers
    sched.prune(now=T0 + 60.5)
    assert "w1" not in sched.workers


@pytest.mark.parametrize("call", ["ping", "add_task", "get_work", "add_worker", "add_task_batcher"])
def test_any_worker_call_keeps_it_alive(sched, call):
    sched.add_worker(worker="w1", info={}, now=T0)
    later = T0 + 50
    if call == "ping":
        sched.ping(worker="w1", now=later)
    elif call == "add_task":
        add(sched, "A", now=later)
    elif call == "get_work":
        work(sched, now=later)
    elif call == "add_worker":
        sched.add_worker(worker="w1", info={"k": "v"}, now=later)
    else:
        sched.add_task_batcher(worker="w1", task_family="F", batched_args=["p"], now=later)
    sched.prune(now=T0 + 100)
    assert "w1" in sched.workers
    sched.prune(now=T0 + 111)
    assert "w1" not in sched.workers


def test_disconnect_delay_is_configurable():
    s = make(worker_disconnect_delay=5)
    s.ping(worker="w1", now=T0)
    s.prune(now=T0 + 5.5)
    assert "w1" not in s.workers


def test_worker_list_prunes_silent_workers(sched):
    sched.ping(worker="w1", now=T0)
    sched.ping(worker="w2", now=T0 + 30)
    assert worker_names(sched, T0 + 61) == {"w2"}


def test_vanished_worker_running_task_fails_and_is_retried(sched):
    add(sched, "A", worker="w1")
    add(sched, "A", worker="w2")
    assert run(sched, "w1") == "A"
    # w2 keeps pinging, w1 goes silent
    for t in range(30, 1200, 30):
        sched.ping(worker="w2", now=T0 + t)
        sched.prune(now=T0 + t)
        if t == 60:
            assert status_of(sched, "A") == "RUNNING"
        if t == 90:
            task = sched.tasks["A"]
            assert task.status == "FAILED"
            assert task.worker_running is None
            assert task.retry == T0 + 90 + 900
            assert workers_of(sched, "A") == ["w2"]
            assert stakeholders_of(sched, "A") == {"w2"}
        if t == 990:
            assert status_of(sched, "A") == "FAILED"
        if t == 1020:
            assert status_of(sched, "A") == "PENDING"
    assert run(sched, "w2", now=T0 + 1200) == "A"


def test_vanished_runner_failure_counts_toward_the_policy():
    s = make(retry_count=1)
    add(s, "A", worker="w1")
    add(s, "A", worker="w2")
    run(s, "w1")
    s.ping(worker="w2", now=T0 + 61)
    s.prune(now=T0 + 61)
    assert status_of(s, "A") == "DISABLED"


def test_running_task_of_live_worker_is_untouched(sched):
    add(sched, "A")
    run(sched)
    for t in range(30, 3000, 30):
        sched.ping(worker="w1", now=T0 + t)
        sched.prune(now=T0 + t)
    assert status_of(sched, "A") == "RUNNING"


def test_running_task_is_not_removed_while_its_runner_lives(sched):
    # the runner (an assistant) is no stakeholder, and the registering worker is gone
    add(sched, "A", worker="w1")
    add(sched, "A", worker="helper", assistant=True, status="RUNNING")
    assert sched.tasks["A"].worker_running == "helper"
    for t in range(30, 1500, 30):
        sched.ping(worker="helper", now=T0 + t)
        sched.prune(now=T0 + t)
    assert stakeholders_of(sched, "A") == set()
    assert status_of(sched, "A") == "RUNNING"
    sched.add_task(task_id="A", worker="helper", assistant=True, status="DONE", now=T0 + 1500)
    assert status_of(sched, "A") == "DONE"
    sched.ping(worker="helper", now=T0 + 2090)
    sched.prune(now=T0 + 2101)
    assert "A" not in sched.tasks


def test_task_without_stakeholders_is_removed_after_remove_delay(sched):
    add(sched, "A")
    sched.prune(now=T0 + 61)  # w1 dropped at T0+61
    assert "A" in sched.tasks
    sched.prune(now=T0 + 61 + 600)
    assert "A" in sched.tasks
    sched.prune(now=T0 + 61 + 600.5)
    assert "A" not in sched.tasks


@pytest.mark.parametrize("status", ["PENDING", "DONE", "FAILED", "DISABLED"])
def test_tasks_of_any_status_are_removed_without_stakeholders(sched, status):
    add(sched, "A", status=status)
    sched.prune(now=T0 + 61)
    sched.prune(now=T0 + 700)
    assert "A" not in sched.tasks


def test_remove_delay_is_configurable():
    s = make(remove_delay=1, worker_disconnect_delay=1)
    add(s, "A")
    s.prune(now=T0 + 2)
    s.prune(now=T0 + 3.5)
    assert "A" not in s.tasks


def test_tasks_with_a_live_stakeholder_stay(sched):
    add(sched, "A", worker="w1")
    add(sched, "A", worker="w2", runnable=False)
    for t in range(30, 3000, 30):
        sched.ping(worker="w2", now=T0 + t)
        sched.prune(now=T0 + t)
    assert "A" in sched.tasks
    assert stakeholders_of(sched, "A") == {"w2"}
    assert workers_of(sched, "A") == []


def test_placeholders_are_held_by_the_registering_worker(sched):
    add(sched, "A", deps=["B"])
    for t in range(30, 3000, 30):
        sched.ping(worker="w1", now=T0 + t)
        sched.prune(now=T0 + t)
    assert status_of(sched, "B") == "UNKNOWN"


def test_task_registered_only_by_an_assistant_is_removed(sched):
    add(sched, "A", worker="helper", assistant=True)
    for t in range(30, 1000, 30):
        sched.ping(worker="helper", now=T0 + t)
        sched.prune(now=T0 + t)
    assert "A" not in sched.tasks


def test_reregistration_cancels_a_pending_removal(sched):
    add(sched, "A", worker="w1")
    sched.prune(now=T0 + 61)
    add(sched, "A", worker="w2", now=T0 + 500)
    for t in range(530, 2000, 30):
        sched.ping(worker="w2", now=T0 + t)
        sched.prune(now=T0 + t)
    assert "A" in sched.tasks


def test_done_dependency_is_kept_by_the_dependents_worker(sched):
    add(sched, "A", worker="w1", deps=["B"])
    add(sched, "B", worker="w2", status="DONE")
    for t in range(30, 800, 30):
        sched.ping(worker="w1", now=T0 + t)
        sched.prune(now=T0 + t)
    # w2 left; B had w1 as a stakeholder too (through A's deps), so it stays
    assert status_of(sched, "B") == "DONE"
    assert run(sched, "w1", now=T0 + 800) == "A"


def test_pruning_is_idempotent(sched):
    add(sched, "A")
    sched.prune(now=T0 + 61)
    sched.prune(now=T0 + 61)
    sched.prune(now=T0 + 30)  # a clock going backwards changes nothing
    assert "A" in sched.tasks
    assert "w1" not in sched.workers


def test_worker_coming_back_after_being_dropped_starts_fresh(sched):
    add(sched, "A")
    sched.prune(now=T0 + 61)
    assert "w1" not in sched.workers
    add(sched, "A", now=T0 + 70)
    assert workers_of(sched, "A") == ["w1"]
    assert run(sched, now=T0 + 71) == "A"


def test_dropped_worker_cannot_report_its_old_run(sched):
    add(sched, "A", worker="w1")
    add(sched, "A", worker="w2")
    run(sched, "w1")
    sched.ping(worker="w2", now=T0 + 61)
    sched.prune(now=T0 + 61)
    assert status_of(sched, "A") == "FAILED"
    finish(sched, "A", "w1", now=T0 + 62)
    # the task is no longer RUNNING, so any worker's DONE report counts (as in Luigi)
    assert status_of(sched, "A") == "DONE"


def _restart_without_worker_records(s):
    """The scheduler ``s`` as recovered from a store that lost every worker record."""
    from xrsched.core.restore import meta_of, restore
    from xrsched.store.records import TaskDecoder, decode_meta, encode_meta, encode_task

    policy = s.config.retry_policy
    tasks = TaskDecoder(policy).decode_rows([encode_task(t, policy) for t in s.tasks.values()])
    fresh = make()
    restore(fresh, tasks, [], now=T0 + 10, **decode_meta(encode_meta(meta_of(s))))
    return fresh


def test_a_restored_run_whose_runner_has_no_record_fails_when_the_runner_stays_silent(sched):
    add(sched, "A", worker="w1")
    assert run(sched, "w1") == "A"
    fresh = _restart_without_worker_records(sched)
    fresh.prune(now=T0 + 10 + 60)
    assert status_of(fresh, "A") == "RUNNING"
    fresh.prune(now=T0 + 10 + 61)
    assert status_of(fresh, "A") == "FAILED"
    assert fresh.tasks["A"].worker_running is None


def test_a_restored_run_whose_runner_comes_back_keeps_running(sched):
    add(sched, "A", worker="w1")
    assert run(sched, "w1") == "A"
    fresh = _restart_without_worker_records(sched)
    for t in range(30, 300, 30):
        fresh.ping(worker="w1", now=T0 + 10 + t)
        fresh.prune(now=T0 + 10 + t)
    assert status_of(fresh, "A") == "RUNNING"
    assert fresh.tasks["A"].worker_running == "w1"
