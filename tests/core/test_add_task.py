"""add_task: registration, repeated registrations, status guards, dependencies, priority."""

from __future__ import annotations

from tests.core.conftest import (
    SERIALIZED_KEYS,
    T0,
    add,
    deps_of,
    finish,
    listed,
    make,
    run,
    stakeholders_of,
    status_of,
    work,
    workers_of,
)


def test_new_task_is_pending_runnable_and_listed_with_luigi_keys(sched):
    add(sched, "A", family="Fam", module="mod", params={"x": "1"}, priority=3, resources={"r": 1})
    shown = listed(sched)["A"]
    assert set(shown) >= SERIALIZED_KEYS
    assert "deps" not in shown
    assert shown["status"] == "PENDING"
    assert shown["workers"] == ["w1"]
    assert shown["name"] == "Fam"
    assert shown["params"] == {"x": "1"}
    assert shown["display_name"] == "Fam(x=1)"
    assert shown["priority"] == 3
    assert shown["resources"] == {"r": 1}
    assert shown["start_time"] == T0
    assert shown["last_updated"] == T0
    assert shown["worker_running"] is None
    assert shown["resources_running"] is None
    assert sched.tasks["A"].runnable


def test_add_task_returns_none(sched):
    assert sched.add_task(task_id="A", worker="w1", now=T0) is None


def test_add_task_registers_the_worker(sched):
    add(sched, "A", worker="wx")
    assert [w["name"] for w in sched.worker_list(now=T0)] == ["wx"]


def test_unregistered_dependency_gets_an_unknown_placeholder(sched):
    add(sched, "A", deps=["B"], priority=5)
    assert status_of(sched, "B") == "UNKNOWN"
    assert sched.tasks["B"].priority == 5
    assert "w1" in stakeholders_of(sched, "B")
    assert workers_of(sched, "B") == []
    # A waits for B, so nothing is handed out
    assert run(sched) is None


def test_placeholder_becomes_pending_when_registered_and_keeps_priority(sched):
    add(sched, "A", deps=["B"], priority=5)
    add(sched, "B", family="Bfam")
    assert status_of(sched, "B") == "PENDING"
    assert sched.tasks["B"].family == "Bfam"
    assert sched.tasks["B"].priority == 5
    assert run(sched) == "B"


def test_repeated_registration_is_idempotent(sched):
    for i in range(3):
        add(sched, "A", now=T0 + i, params={"p": 1})
    task = sched.tasks["A"]
    assert list(task.workers) == ["w1"]
    assert set(task.stakeholders) == {"w1"}
    assert task.time == T0  # first-seen time does not move
    assert status_of(sched, "A") == "PENDING"
    assert work(sched, now=T0 + 5)["n_pending_tasks"] == 1


def test_repeated_registration_by_other_workers_adds_workers_in_order(sched):
    add(sched, "A", worker="w1")
    add(sched, "A", worker="w2")
    add(sched, "A", worker="w1")
    assert workers_of(sched, "A") == ["w1", "w2"]
    assert stakeholders_of(sched, "A") == {"w1", "w2"}


def test_family_module_and_params_first_registration_wins(sched):
    add(sched, "A", family="F1", module="m1", params={"a": 1})
    add(sched, "A", family="F2", module="m2", params={"a": 2})
    task = sched.tasks["A"]
    assert (task.family, task.module, task.params) == ("F1", "m1", {"a": 1})


def test_resources_are_replaced_by_the_latest_registration(sched):
    add(sched, "A", resources={"r": 2})
    add(sched, "A", resources={"s": 1})
    assert sched.tasks["A"].resources == {"s": 1}


def test_suspended_means_pending(sched):
    add(sched, "A", status="SUSPENDED")
    assert status_of(sched, "A") == "PENDING"
    assert run(sched) == "A"


def test_done_report_marks_done_and_unblocks_dependents(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B", status="DONE")
    assert status_of(sched, "B") == "DONE"
    assert run(sched) == "A"


def test_deps_are_replaced_and_new_deps_extend(sched):
    add(sched, "A", deps=["B", "C"])
    add(sched, "A", deps=["C"])
    assert deps_of(sched, "A") == {"C"}
    add(sched, "A", new_deps=["D"])
    assert deps_of(sched, "A") == {"C", "D"}
    assert status_of(sched, "D") == "UNKNOWN"


def test_deps_none_keeps_existing_dependencies(sched):
    add(sched, "A", deps=["B"])
    add(sched, "A")
    assert deps_of(sched, "A") == {"B"}


def test_only_the_runner_changes_a_running_task(sched):
    add(sched, "A", worker="w1")
    add(sched, "A", worker="w2")
    assert run(sched, "w1") == "A"
    for status in ("PENDING", "DONE", "FAILED", "DISABLED", "SUSPENDED"):
        add(sched, "A", worker="w2", status=status, now=T0 + 1)
        assert status_of(sched, "A") == "RUNNING", status
        assert sched.tasks["A"].worker_running == "w1"
    finish(sched, "A", "w1", now=T0 + 2)
    assert status_of(sched, "A") == "DONE"


def test_other_worker_with_new_deps_cannot_change_a_running_task(sched):
    add(sched, "A", worker="w1")
    assert run(sched, "w1") == "A"
    add(sched, "A", worker="w2", status="PENDING", new_deps=["B"], now=T0 + 1)
    assert status_of(sched, "A") == "RUNNING"


def test_runner_pending_report_is_ignored_without_new_deps(sched):
    add(sched, "A")
    assert run(sched) == "A"
    add(sched, "A", status="PENDING", now=T0 + 1)
    assert status_of(sched, "A") == "RUNNING"


def test_runner_reports_dynamic_dependencies(sched):
    add(sched, "A")
    assert run(sched) == "A"
    add(sched, "A", status="PENDING", new_deps=["B"], runnable=False, now=T0 + 1)
    assert status_of(sched, "A") == "PENDING"
    assert deps_of(sched, "A") == {"B"}
    assert status_of(sched, "B") == "UNKNOWN"
    add(sched, "B", now=T0 + 2)
    assert run(sched, now=T0 + 3) == "B"
    finish(sched, "B", now=T0 + 4)
    assert run(sched, now=T0 + 5) == "A"


def test_runner_can_report_its_running_task_as_running_again(sched):
    add(sched, "A")
    assert run(sched) == "A"
    add(sched, "A", status="RUNNING", tracking_url="http://t/1", now=T0 + 1)
    assert status_of(sched, "A") == "RUNNING"
    assert sched.tasks["A"].tracking_url == "http://t/1"


def test_running_task_keeps_tracking_url_when_reregistered_without_one(sched):
    add(sched, "A")
    run(sched)
    add(sched, "A", status="RUNNING", tracking_url="http://t/1", now=T0 + 1)
    add(sched, "A", worker="w2", now=T0 + 2)
    assert sched.tasks["A"].tracking_url == "http://t/1"


def test_running_report_for_a_pending_task_assigns_the_reporter(sched):
    add(sched, "A", status="RUNNING", worker="w7")
    assert status_of(sched, "A") == "RUNNING"
    assert sched.tasks["A"].worker_running == "w7"
    assert sched.tasks["A"].time_running == T0


def test_done_cooldown_ignores_pending_reregistration(sched):
    add(sched, "A", status="DONE")
    add(sched, "A", status="PENDING", now=T0 + 9.9)
    assert status_of(sched, "A") == "DONE"
    add(sched, "A", status="PENDING", now=T0 + 10)
    assert status_of(sched, "A") == "PENDING"


def test_done_cooldown_does_not_block_other_statuses(sched):
    add(sched, "A", status="DONE")
    add(sched, "A", status="FAILED", now=T0 + 1)
    assert status_of(sched, "A") == "FAILED"


def test_done_cooldown_is_configurable():
    s = make(stable_done_cooldown_secs=0)
    add(s, "A", status="DONE")
    add(s, "A", status="PENDING", now=T0)
    assert status_of(s, "A") == "PENDING"


def test_done_cooldown_counts_from_the_last_status_change(sched):
    add(sched, "A")
    assert run(sched) == "A"
    finish(sched, "A", now=T0 + 100)
    add(sched, "A", now=T0 + 105)
    assert status_of(sched, "A") == "DONE"
    add(sched, "A", now=T0 + 111)
    assert status_of(sched, "A") == "PENDING"


def test_failed_report_does_not_make_the_worker_a_runner(sched):
    add(sched, "A", status="FAILED")
    assert status_of(sched, "A") == "FAILED"
    assert workers_of(sched, "A") == []
    assert stakeholders_of(sched, "A") == {"w1"}


def test_pending_reregistration_of_a_failed_task_retries_it_at_once(sched):
    add(sched, "A")
    run(sched)
    finish(sched, "A", status="FAILED", now=T0 + 1)
    add(sched, "A", now=T0 + 2)
    assert status_of(sched, "A") == "PENDING"
    assert run(sched, now=T0 + 3) == "A"


def test_not_runnable_registration_does_not_add_a_runner(sched):
    add(sched, "A", runnable=False)
    assert workers_of(sched, "A") == []
    assert "w1" in stakeholders_of(sched, "A")
    assert run(sched) is None


def test_worker_imposed_disable_is_lifted_by_a_pending_registration(sched):
    add(sched, "A", status="DISABLED")
    assert status_of(sched, "A") == "DISABLED"
    shown = listed(sched)["A"]
    assert shown["re_enable_able"] is False
    add(sched, "A", status="PENDING", now=T0 + 1)
    assert status_of(sched, "A") == "PENDING"


def test_scheduler_imposed_disable_ignores_worker_reports():
    s = make(retry_count=1)
    add(s, "A")
    run(s)
    finish(s, "A", status="FAILED", now=T0 + 1)
    assert status_of(s, "A") == "DISABLED"
    for status in ("PENDING", "FAILED", "RUNNING", "SUSPENDED"):
        add(s, "A", status=status, now=T0 + 100)
        assert status_of(s, "A") == "DISABLED", status
    assert listed(s, now=T0 + 100)["A"]["re_enable_able"] is True


def test_done_report_re_enables_a_disabled_task():
    s = make(retry_count=1)
    add(s, "A")
    run(s)
    finish(s, "A", status="FAILED", now=T0 + 1)
    assert status_of(s, "A") == "DISABLED"
    add(s, "A", status="DONE", now=T0 + 2)
    assert status_of(s, "A") == "DONE"
    task = s.tasks["A"]
    assert task.scheduler_disable_time is None
    assert not task.failures


def test_disabled_worker_cannot_create_or_change_tasks(sched):
    add(sched, "A", worker="w1")
    sched.disable_worker(worker="w1", now=T0)
    add(sched, "B", worker="w1", now=T0 + 1)
    assert "B" not in sched.tasks
    add(sched, "A", worker="w1", status="DONE", now=T0 + 1)
    assert status_of(sched, "A") == "PENDING"


def test_disabled_worker_may_still_report_its_running_task(sched):
    add(sched, "A")
    assert run(sched) == "A"
    sched.disable_worker(worker="w1", now=T0 + 1)
    finish(sched, "A", now=T0 + 2)
    assert status_of(sched, "A") == "DONE"


def test_assistant_registration_is_not_a_stakeholder(sched):
    add(sched, "A", worker="helper", assistant=True, deps=["B"])
    assert stakeholders_of(sched, "A") == set()
    assert "helper" in workers_of(sched, "A")
    # placeholders are only made for a stakeholder
    assert "B" not in sched.tasks


def test_expl_is_recorded_and_shown_by_fetch_error(sched):
    add(sched, "A")
    run(sched)
    sched.add_task(task_id="A", worker="w1", status="FAILED", expl="boom", now=T0 + 1)
    assert sched.fetch_error(task_id="A", now=T0 + 1)["error"] == "boom"


def test_retry_policy_dict_is_applied_and_updated(sched):
    add(sched, "A", retry_policy_dict={"retry_count": 2, "disable_window": 50})
    policy = sched.tasks["A"].retry_policy
    assert (policy.retry_count, policy.disable_window) == (2, 50)
    assert policy.disable_hard_timeout == 999_999_999
    add(sched, "A", retry_policy_dict={"retry_count": 7, "disable_window": None})
    policy = sched.tasks["A"].retry_policy
    assert (policy.retry_count, policy.disable_window) == (7, 3600)


def test_accepts_messages_shows_for_running_tasks(sched):
    add(sched, "A", accepts_messages=True)
    assert "accepts_messages" not in listed(sched)["A"]
    run(sched)
    assert listed(sched)["A"]["accepts_messages"] is True


def test_accepts_messages_hidden_when_messages_are_off():
    s = make(send_messages=False)
    add(s, "A", accepts_messages=True)
    run(s)
    assert "accepts_messages" not in listed(s)["A"]


def test_hidden_parameters_are_not_public(sched):
    add(sched, "A", family="F", params={"a": "1", "secret": "s"}, param_visibilities={"secret": 1})
    shown = listed(sched)["A"]
    assert shown["params"] == {"a": "1"}
    assert shown["display_name"] == "F(a=1)"
    # but the worker that runs it gets every parameter
    assert work(sched)["task_params"] == {"a": "1", "secret": "s"}


def test_priority_propagates_to_dependencies(sched):
    add(sched, "A", deps=["B"], priority=10)
    add(sched, "B", deps=["C"])
    add(sched, "C")
    assert sched.tasks["B"].priority == 10
    assert sched.tasks["C"].priority == 10


def test_priority_only_goes_up(sched):
    add(sched, "A", priority=10)
    add(sched, "A", priority=1)
    assert sched.tasks["A"].priority == 10
    add(sched, "A", priority=20)
    assert sched.tasks["A"].priority == 20


def test_priority_does_not_propagate_to_dependents(sched):
    add(sched, "A", deps=["B"], priority=1)
    add(sched, "B", priority=50)
    assert sched.tasks["B"].priority == 50
    assert sched.tasks["A"].priority == 1


def test_priority_raise_later_reaches_existing_dependencies(sched):
    add(sched, "C")
    add(sched, "B", deps=["C"])
    add(sched, "A", deps=["B"])
    add(sched, "Z", deps=["A"], priority=7)
    assert [sched.tasks[t].priority for t in "ABC"] == [7, 7, 7]


def test_cyclic_dependencies_register_without_hanging(sched):
    add(sched, "A", deps=["B"], priority=1)
    add(sched, "B", deps=["A"], priority=2)
    add(sched, "S", deps=["S"])
    assert sched.tasks["A"].priority == 2
    assert run(sched) is None
    assert status_of(sched, "A") == "PENDING"
