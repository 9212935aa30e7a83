"""Failures: retry times, the disable policy, per-task retry policies, re-enabling."""

from __future__ import annotations

import pytest

from tests.core.conftest import T0, add, finish, listed, make, run, status_of


def fail_once(s, task_id, at, worker="w1", **kwargs):
    """Re-register, run and fail ``task_id`` at time ``at`` (retries forgiven first)."""
    if status_of(s, task_id) == "FAILED":
        s.forgive_failures(task_id=task_id, now=at)
    add(s, task_id, worker=worker, now=at, **kwargs)
    assert run(s, worker, now=at) == task_id
    finish(s, task_id, worker, now=at, status="FAILED")


def test_failure_sets_retry_time_with_default_delay(sched):
    add(sched, "A")
    run(sched)
    finish(sched, "A", status="FAILED", now=T0 + 5)
    task = sched.tasks["A"]
    assert task.status == "FAILED"
    assert task.retry == T0 + 5 + 900
    assert task.worker_running is not None or task.status == "FAILED"


def test_failed_task_is_not_handed_out_before_retry(sched):
    add(sched, "A")
    run(sched)
    finish(sched, "A", status="FAILED", now=T0)
    sched.prune(now=T0 + 900)
    assert status_of(sched, "A") == "FAILED"
    assert run(sched, now=T0 + 900) is None


def test_failed_task_becomes_pending_after_retry_delay(sched):
    add(sched, "A")
    run(sched)
    finish(sched, "A", status="FAILED", now=T0)
    sched.ping(worker="w1", now=T0 + 880)
    sched.prune(now=T0 + 900.5)
    assert status_of(sched, "A") == "PENDING"
    assert run(sched, now=T0 + 901) == "A"


def test_retry_delay_is_configurable():
    s = make(retry_delay=5)
    add(s, "A")
    run(s)
    finish(s, "A", status="FAILED", now=T0)
    s.prune(now=T0 + 5.5)
    assert status_of(s, "A") == "PENDING"


def test_negative_retry_delay_never_retries():
    s = make(retry_delay=-1, worker_disconnect_delay=10**9, remove_delay=10**9)
    add(s, "A")
    run(s)
    finish(s, "A", status="FAILED", now=T0)
    s.prune(now=T0 + 10**6)
    assert status_of(s, "A") == "FAILED"


def test_default_policy_never_disables(sched):
    for i in range(20):
        fail_once(sched, "A", T0 + i)
    assert status_of(sched, "A") == "FAILED"


def test_retry_count_failures_within_window_disable():
    s = make(retry_count=3)
    fail_once(s, "A", T0)
    fail_once(s, "A", T0 + 10)
    assert status_of(s, "A") == "FAILED"
    fail_once(s, "A", T0 + 20)
    task = s.tasks["A"]
    assert task.status == "DISABLED"
    assert task.scheduler_disable_time == T0 + 20
    assert listed(s, now=T0 + 20)["A"]["re_enable_able"] is True


def test_failures_outside_the_window_do_not_count():
    s = make(retry_count=2, disable_window=100)
    fail_once(s, "A", T0)
    fail_once(s, "A", T0 + 101)
    assert status_of(s, "A") == "FAILED"
    fail_once(s, "A", T0 + 150)
    assert status_of(s, "A") == "DISABLED"


def test_disable_hard_timeout_disables_a_task_still_failing():
    s = make(disable_hard_timeout=1000)
    fail_once(s, "A", T0)
    fail_once(s, "A", T0 + 999)
    assert status_of(s, "A") == "FAILED"
    fail_once(s, "A", T0 + 1000)
    assert status_of(s, "A") == "DISABLED"


def test_retry_policy_dict_overrides_the_defaults(sched):
    add(sched, "A", retry_policy_dict={"retry_count": 2})
    fail_once(sched, "A", T0)
    assert status_of(sched, "A") == "FAILED"
    sched.forgive_failures(task_id="A", now=T0 + 1)
    sched.add_task(task_id="A", worker="w1", retry_policy_dict={"retry_count": 2}, now=T0 + 1)
    assert run(sched, now=T0 + 1) == "A"
    finish(sched, "A", status="FAILED", now=T0 + 2)
    assert status_of(sched, "A") == "DISABLED"


def test_retry_policy_dict_window_and_hard_timeout():
    s = make(retry_count=2)
    window = {"disable_window": 10}
    fail_once(s, "A", T0, retry_policy_dict=window)
    fail_once(s, "A", T0 + 20, retry_policy_dict=window)
    # the first failure fell outside the task's 10-second window
    assert status_of(s, "A") == "FAILED"
    fail_once(s, "A", T0 + 25, retry_policy_dict=window)
    assert status_of(s, "A") == "DISABLED"
    hard = {"disable_hard_timeout": 5}
    fail_once(s, "B", T0, retry_policy_dict=hard)
    fail_once(s, "B", T0 + 6, retry_policy_dict=hard)
    assert status_of(s, "B") == "DISABLED"


def test_a_registration_without_retry_policy_dict_restores_the_defaults():
    s = make(retry_count=2)
    fail_once(s, "A", T0, retry_policy_dict={"disable_window": 10})
    # Luigi sets the task's retry policy on every add_task
    fail_once(s, "A", T0 + 20)
    assert status_of(s, "A") == "DISABLED"


def test_other_tasks_keep_the_default_policy(sched):
    add(sched, "B")
    add(sched, "A", retry_policy_dict={"retry_count": 1})
    fail_once(sched, "B", T0)
    assert status_of(sched, "B") == "FAILED"
    run(sched, now=T0)
    finish(sched, "A", status="FAILED", now=T0)
    assert status_of(sched, "A") == "DISABLED"


def test_scheduler_disable_persists_until_disable_persist():
    s = make(retry_count=1, worker_disconnect_delay=10**9)
    fail_once(s, "A", T0)
    assert status_of(s, "A") == "DISABLED"
    s.prune(now=T0 + 86400)
    assert status_of(s, "A") == "DISABLED"
    s.prune(now=T0 + 86400.5)
    task = s.tasks["A"]
    # re-enabled as FAILED with a clean record, retried after retry_delay
    assert task.status == "FAILED"
    assert task.scheduler_disable_time is None
    assert not task.failures
    assert task.retry == T0 + 86400.5 + 900
    s.prune(now=T0 + 86400.5 + 901)
    assert status_of(s, "A") == "PENDING"


def test_disable_persist_is_configurable():
    s = make(retry_count=1, disable_persist=50)
    fail_once(s, "A", T0)
    s.prune(now=T0 + 51)
    assert status_of(s, "A") == "FAILED"


def test_worker_imposed_disable_does_not_lapse(sched):
    add(sched, "A", status="DISABLED")
    sched.add_worker(worker="w1", info={}, now=T0)
    s_now = T0 + 86400 * 2
    sched.ping(worker="w1", now=s_now - 1)
    sched.prune(now=s_now)
    assert status_of(sched, "A") == "DISABLED"


def test_failure_while_disabled_by_worker_is_not_counted():
    s = make(retry_count=1)
    add(s, "A", status="DISABLED")
    add(s, "A", status="FAILED", now=T0 + 1)
    # a DISABLED task reported FAILED becomes FAILED without counting a failure
    assert status_of(s, "A") == "FAILED"
    assert not s.tasks["A"].failures


def test_running_task_is_never_disabled_from_outside(sched):
    add(sched, "A")
    run(sched)
    finish(sched, "A", status="DISABLED", now=T0 + 1)
    assert status_of(sched, "A") == "RUNNING"


def test_re_enable_task_lifts_a_scheduler_disable():
    s = make(retry_count=1)
    fail_once(s, "A", T0)
    shown = s.re_enable_task(task_id="A", now=T0 + 10)
    assert shown["status"] == "FAILED"
    assert "deps" in shown
    assert "re_enable_able" not in shown
    task = s.tasks["A"]
    assert task.scheduler_disable_time is None
    assert not task.failures
    assert task.retry == T0 + 10 + 900
    # a clean record: the next failure counts from zero again (retry_count 1 disables at once)
    s.forgive_failures(task_id="A", now=T0 + 11)
    assert status_of(s, "A") == "PENDING"


def test_re_enable_task_ignores_worker_disables_and_other_statuses(sched):
    add(sched, "A", status="DISABLED")
    add(sched, "B")
    assert sched.re_enable_task(task_id="A", now=T0) == {}
    assert sched.re_enable_task(task_id="B", now=T0) == {}
    assert status_of(sched, "A") == "DISABLED"
    assert status_of(sched, "B") == "PENDING"


def test_forgive_failures_returns_failed_task_to_pending(sched):
    add(sched, "A")
    run(sched)
    finish(sched, "A", status="FAILED", now=T0)
    assert sched.forgive_failures(task_id="A", now=T0 + 1) == {"task_id": "A", "status": "PENDING"}
    assert run(sched, now=T0 + 2) == "A"


@pytest.mark.parametrize("status", ["PENDING", "DONE", "DISABLED"])
def test_forgive_failures_leaves_other_statuses(sched, status):
    add(sched, "A", status=status)
    assert sched.forgive_failures(task_id="A", now=T0 + 1) == {"task_id": "A", "status": status}


def test_forgive_failures_does_not_touch_a_running_task(sched):
    add(sched, "A")
    run(sched)
    assert sched.forgive_failures(task_id="A", now=T0) == {"task_id": "A", "status": "RUNNING"}


def test_forgive_failures_keeps_the_failure_history():
    s = make(retry_count=2)
    fail_once(s, "A", T0)
    s.forgive_failures(task_id="A", now=T0 + 1)
    # forgive but do not forget: the next failure disables
    assert run(s, now=T0 + 1) == "A"
    finish(s, "A", status="FAILED", now=T0 + 2)
    assert status_of(s, "A") == "DISABLED"


def test_failed_dependency_blocks_and_retry_unblocks(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B")
    assert run(sched) == "B"
    finish(sched, "B", status="FAILED", now=T0)
    assert listed(sched, upstream_status="UPSTREAM_FAILED", status="PENDING") != {}
    sched.forgive_failures(task_id="B", now=T0 + 1)
    assert run(sched, now=T0 + 2) == "B"
    finish(sched, "B", now=T0 + 3)
    assert run(sched, now=T0 + 4) == "A"


def test_re_disabled_task_waits_for_its_new_disable_persist():
    s = make(retry_count=1, worker_disconnect_delay=10**9)
    fail_once(s, "A", T0)
    s.re_enable_task(task_id="A", now=T0 + 10)
    fail_once(s, "A", T0 + 20)
    assert status_of(s, "A") == "DISABLED"
    s.prune(now=T0 + 86401)
    assert status_of(s, "A") == "DISABLED"
    s.prune(now=T0 + 86421)
    assert status_of(s, "A") == "FAILED"


def test_vanished_sole_worker_task_fails_then_is_removed(sched):
    add(sched, "A")
    run(sched)
    sched.prune(now=T0 + 61)
    assert status_of(sched, "A") == "FAILED"
    sched.prune(now=T0 + 61 + 601)
    assert "A" not in sched.tasks
