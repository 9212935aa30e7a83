"""get_work: reply shape, ranking, counters, assistants, pause, forgotten runs, count_pending."""

from __future__ import annotations

from tests.core.conftest import (
    GET_WORK_KEYS,
    T0,
    add,
    finish,
    make,
    run,
    status_of,
    work,
)


def test_reply_with_a_task_has_luigi_keys(sched):
    add(sched, "A", family="Fam", module="pkg.mod", params={"p": "1"})
    reply = work(sched)
    assert set(reply) == GET_WORK_KEYS | {"task_family", "task_module", "task_params"}
    assert reply["task_id"] == "A"
    assert reply["task_family"] == "Fam"
    assert reply["task_module"] == "pkg.mod"
    assert reply["task_params"] == {"p": "1"}
    assert reply["worker_state"] == "active"
    assert reply["running_tasks"] == []
    assert "batch_id" not in reply


def test_reply_without_work_has_luigi_keys(sched):
    reply = work(sched)
    assert set(reply) == GET_WORK_KEYS
    assert reply["task_id"] is None
    assert reply["n_pending_tasks"] == 0
    assert reply["n_unique_pending"] == 0
    assert reply["n_pending_last_scheduled"] == 0


def test_handed_out_task_is_running_for_that_worker(sched):
    add(sched, "A", resources={"r": 1})
    assert run(sched, now=T0 + 3) == "A"
    task = sched.tasks["A"]
    assert task.status == "RUNNING"
    assert task.worker_running == "w1"
    assert task.time_running == T0 + 3
    assert task.resources_running == {"r": 1}
    # once only
    assert run(sched, now=T0 + 4) is None


def test_get_work_keeps_the_worker_alive_and_records_the_host(sched):
    work(sched, "w1", now=T0, host="box1")
    record = sched.workers["w1"]
    assert record.last_active == T0
    assert record.last_get_work == T0
    assert record.reference == {"host": "box1"}


def test_only_runnable_tasks_are_handed_out(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B", deps=["C"])
    add(sched, "C")
    assert run(sched) == "C"
    assert run(sched) is None
    finish(sched, "C", now=T0 + 1)
    assert run(sched, now=T0 + 2) == "B"
    finish(sched, "B", now=T0 + 3)
    assert run(sched, now=T0 + 4) == "A"


def test_every_dependency_must_be_done(sched):
    add(sched, "A", deps=["B", "C"])
    add(sched, "B", status="DONE")
    add(sched, "C", status="FAILED")
    assert run(sched) is None
    for status in ("DISABLED", "UNKNOWN"):
        add(sched, "X", deps=["Y"])
        if status == "DISABLED":
            add(sched, "Y", status="DISABLED")
        assert run(sched) is None


def test_worker_only_gets_tasks_it_registered(sched):
    add(sched, "A", worker="w1")
    assert run(sched, "w2") is None
    assert run(sched, "w1") == "A"


def test_higher_priority_first(sched):
    add(sched, "low", priority=1, now=T0)
    add(sched, "high", priority=9, now=T0 + 1)
    add(sched, "mid", priority=5, now=T0 + 2)
    order = [run(sched, now=T0 + 10 + i) for i in range(3)]
    assert order == ["high", "mid", "low"]


def test_same_priority_oldest_first(sched):
    add(sched, "second", now=T0 + 1)
    add(sched, "first", now=T0)
    add(sched, "third", now=T0 + 2)
    order = [run(sched, now=T0 + 10 + i) for i in range(3)]
    assert order == ["first", "second", "third"]


def test_negative_and_fractional_priorities_rank(sched):
    add(sched, "neg", priority=-5)
    add(sched, "zero", priority=0)
    add(sched, "frac", priority=0.5)
    assert [run(sched) for _ in range(3)] == ["frac", "zero", "neg"]


def test_priority_inherited_from_a_dependent_ranks_the_dependency(sched):
    add(sched, "other", priority=5, now=T0)
    add(sched, "dep", now=T0 + 1)
    add(sched, "top", deps=["dep"], priority=10, now=T0 + 2)
    assert run(sched, now=T0 + 3) == "dep"


def test_priority_raised_while_waiting_reorders(sched):
    add(sched, "A", now=T0)
    add(sched, "B", now=T0 + 1)
    add(sched, "B", priority=3, now=T0 + 2)
    assert run(sched, now=T0 + 3) == "B"


def test_pending_counters(sched):
    add(sched, "A", worker="w1")
    add(sched, "B", worker="w1")
    add(sched, "B", worker="w2")
    add(sched, "C", worker="w2")
    add(sched, "C", worker="w1")
    reply = work(sched, "w1")
    # counted before the handed-out task turns RUNNING, as Luigi does
    assert reply["n_pending_tasks"] == 3
    assert reply["n_unique_pending"] == 1  # A
    assert reply["n_pending_last_scheduled"] == 2  # A and C (w1 registered last)
    assert reply["task_id"] == "A"
    again = work(sched, "w1", now=T0 + 1)
    assert again["n_pending_tasks"] == 2
    assert again["n_unique_pending"] == 0


def test_failed_tasks_count_as_pending(sched):
    add(sched, "A")
    add(sched, "B")
    add(sched, "B", status="FAILED")
    assert work(sched)["n_pending_tasks"] == 2


def test_tasks_behind_a_disabled_dependency_are_not_counted(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B", status="DISABLED")
    add(sched, "C")
    reply = work(sched)
    assert reply["n_pending_tasks"] == 1
    assert reply["task_id"] == "C"


def test_tasks_behind_a_transitively_disabled_dependency_are_not_counted(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B", deps=["C"])
    add(sched, "C", status="DISABLED")
    assert work(sched)["n_pending_tasks"] == 0
    add(sched, "C", status="DONE", now=T0 + 1)
    assert work(sched, now=T0 + 2)["n_pending_tasks"] == 2


def test_running_tasks_lists_who_runs_the_workers_tasks(sched):
    sched.add_worker(worker="w2", info={"host": "h2"}, now=T0)
    add(sched, "A", worker="w1")
    add(sched, "A", worker="w2")
    assert run(sched, "w2") == "A"
    reply = work(sched, "w1", now=T0 + 1)
    assert reply["task_id"] is None
    assert reply["running_tasks"] == [{"task_id": "A", "worker": "w2", "host": "h2"}]


def test_count_pending_matches_get_work_without_assigning(sched):
    add(sched, "A")
    add(sched, "B")
    reply = sched.count_pending(worker="w1", now=T0)
    assert set(reply) == GET_WORK_KEYS - {"task_id"}
    assert reply["n_pending_tasks"] == 2
    assert reply["n_unique_pending"] == 2
    assert reply["n_pending_last_scheduled"] == 2
    assert reply["worker_state"] == "active"
    assert status_of(sched, "A") == "PENDING"


def test_count_pending_for_an_unknown_worker_is_empty(sched):
    reply = sched.count_pending(worker="ghost", now=T0)
    assert reply == {
        "n_pending_tasks": 0,
        "n_unique_pending": 0,
        "n_pending_last_scheduled": 0,
        "worker_state": "active",
        "running_tasks": [],
    }


def test_paused_scheduler_hands_out_nothing(sched):
    add(sched, "A")
    sched.pause(now=T0)
    reply = work(sched)
    assert reply["task_id"] is None
    assert reply["n_pending_tasks"] == 1
    sched.unpause(now=T0 + 1)
    assert run(sched, now=T0 + 2) == "A"


def test_disabled_worker_gets_nothing(sched):
    add(sched, "A")
    sched.disable_worker(worker="w1", now=T0)
    reply = work(sched, now=T0 + 1)
    assert reply["task_id"] is None
    assert reply["worker_state"] == "disabled"
    assert reply["n_pending_tasks"] == 0
    assert reply["running_tasks"] == []
    assert status_of(sched, "A") == "PENDING"


def test_disabled_worker_tasks_go_to_other_workers(sched):
    add(sched, "A", worker="w1")
    add(sched, "A", worker="w2")
    sched.disable_worker(worker="w1", now=T0)
    assert run(sched, "w1") is None
    assert run(sched, "w2") == "A"


def test_assistant_runs_any_runnable_task(sched):
    add(sched, "A", worker="w1")
    reply = work(sched, "helper", assistant=True)
    assert reply["task_id"] == "A"
    assert sched.tasks["A"].worker_running == "helper"
    assert sched.workers["helper"].info["assistant"] is True


def test_assistant_skips_tasks_registered_as_not_runnable(sched):
    add(sched, "A", runnable=False)
    assert work(sched, "helper", assistant=True)["task_id"] is None


def test_assistant_respects_dependencies_and_ranking(sched):
    add(sched, "A", deps=["B"], priority=9)
    add(sched, "B", status="FAILED")
    add(sched, "C", priority=1)
    assert work(sched, "helper", assistant=True)["task_id"] == "C"


def test_assistant_reports_done_without_becoming_a_stakeholder(sched):
    add(sched, "A", worker="w1")
    assert work(sched, "helper", assistant=True)["task_id"] == "A"
    sched.add_task(task_id="A", worker="helper", status="DONE", assistant=True, now=T0 + 1)
    assert status_of(sched, "A") == "DONE"
    assert "helper" not in sched.tasks["A"].stakeholders


def test_forgotten_running_task_is_handed_back(sched):
    add(sched, "A")
    add(sched, "B")
    assert run(sched) == "A"
    reply = work(sched, now=T0 + 1, current_tasks=[])
    assert reply["task_id"] == "A"
    assert status_of(sched, "A") == "RUNNING"
    assert status_of(sched, "B") == "PENDING"


def test_listed_running_task_is_not_handed_back(sched):
    add(sched, "A")
    add(sched, "B")
    assert run(sched) == "A"
    assert work(sched, now=T0 + 1, current_tasks=["A"])["task_id"] == "B"


def test_without_current_tasks_no_run_is_handed_back(sched):
    add(sched, "A")
    add(sched, "B")
    assert run(sched) == "A"
    assert work(sched, now=T0 + 1)["task_id"] == "B"


def test_forgotten_run_keeps_the_resources_it_holds(sched):
    add(sched, "A", resources={"r": 1})
    assert run(sched) == "A"
    add(sched, "A", resources={"r": 5}, now=T0 + 1)
    assert work(sched, now=T0 + 2, current_tasks=[])["task_id"] == "A"
    assert sched.tasks["A"].resources_running == {"r": 1}


def test_forgotten_run_is_handed_back_even_when_paused(sched):
    add(sched, "A")
    run(sched)
    sched.pause(now=T0)
    assert work(sched, now=T0 + 1, current_tasks=[])["task_id"] == "A"


def test_forgotten_run_of_another_worker_is_not_handed_over(sched):
    add(sched, "A", worker="w1")
    add(sched, "A", worker="w2")
    assert run(sched, "w1") == "A"
    assert work(sched, "w2", now=T0 + 1, current_tasks=[])["task_id"] is None


def test_forgotten_runs_come_back_highest_ranked_first(sched):
    add(sched, "A", priority=1)
    add(sched, "B", priority=5)
    assert run(sched) == "B"
    assert run(sched) == "A"
    assert work(sched, now=T0 + 1, current_tasks=[])["task_id"] == "B"
    assert work(sched, now=T0 + 2, current_tasks=["B"])["task_id"] == "A"


def test_cyclic_dependencies_are_never_handed_out(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B", deps=["A"])
    add(sched, "S", deps=["S"])
    reply = work(sched)
    assert reply["task_id"] is None
    assert reply["n_pending_tasks"] == 3
    assert work(sched, "helper", assistant=True)["task_id"] is None


def test_get_work_does_not_prune_by_default(sched):
    add(sched, "A")
    run(sched)
    finish(sched, "A", status="FAILED", now=T0 + 1)
    assert run(sched, now=T0 + 1 + 901) is None
    assert status_of(sched, "A") == "FAILED"


def test_prune_on_get_work_applies_due_rules():
    s = make(prune_on_get_work=True)
    add(s, "A")
    run(s)
    finish(s, "A", status="FAILED", now=T0 + 1)
    # the worker pings so it is not dropped meanwhile
    s.ping(worker="w1", now=T0 + 850)
    assert run(s, now=T0 + 1 + 901) == "A"


def test_many_processes_worker_gets_several_tasks(sched):
    sched.add_worker(worker="w1", info={"workers": 3}, now=T0)
    for name in "ABC":
        add(sched, name)
    assert {run(sched, now=T0 + i) for i in range(3)} == {"A", "B", "C"}


def test_running_tasks_include_the_workers_own_runs(sched):
    sched.add_worker(worker="w1", info={"workers": 2, "host": "h"}, now=T0)
    add(sched, "A")
    add(sched, "B", runnable=False)
    assert run(sched) == "A"
    reply = work(sched, now=T0 + 1)
    assert reply["task_id"] is None
    assert reply["running_tasks"] == [{"task_id": "A", "worker": "w1", "workers": 2, "host": "h"}]
    assert reply["n_pending_tasks"] == 0


def test_dependency_rerun_makes_dependents_wait_again(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B", status="DONE")
    add(sched, "B", status="PENDING", now=T0 + 11)
    assert run(sched, now=T0 + 12) == "B"
    assert run(sched, now=T0 + 13) is None
    finish(sched, "B", now=T0 + 14)
    assert run(sched, now=T0 + 15) == "A"


def test_dependency_that_failed_then_succeeds_unblocks(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B")
    assert run(sched) == "B"
    finish(sched, "B", status="FAILED", now=T0 + 1)
    assert run(sched, now=T0 + 2) is None
    add(sched, "B", status="DONE", now=T0 + 3)
    assert run(sched, now=T0 + 4) == "A"


def test_unknown_dependency_registered_done_unblocks(sched):
    add(sched, "A", deps=["B"])
    assert run(sched) is None
    add(sched, "B", worker="w2", status="DONE", now=T0 + 1)
    assert run(sched, now=T0 + 2) == "A"


def test_repeated_registration_of_a_graph_hands_each_task_once(sched):
    for i in range(3):
        add(sched, "A", deps=["B", "C"], now=T0 + i)
        add(sched, "B", now=T0 + i)
        add(sched, "C", deps=["B"], now=T0 + i)
    handed = []
    for i in range(10):
        task_id = run(sched, now=T0 + 10 + i)
        if task_id is None:
            break
        handed.append(task_id)
        finish(sched, task_id, now=T0 + 10 + i)
    assert handed == ["B", "C", "A"]


def test_a_brief_get_work_assigns_the_same_and_leaves_out_running_tasks(sched):
    """brief (an xrsched addition): a worker asking for several tasks in one multicall gets
    running_tasks once, in a full answer, instead of in every answer."""
    sched.add_worker(worker="w1", info={"workers": 3, "host": "h"}, now=T0)
    for name in "ABC":
        add(sched, name)
    brief = work(sched, now=T0 + 1, brief=True)
    assert set(brief) == GET_WORK_KEYS - {"running_tasks"} | {"task_family", "task_module", "task_params"}
    assert brief["task_id"] == "A" and status_of(sched, "A") == "RUNNING"
    assert brief["n_pending_tasks"] == 3  # counted before this hand-out, as in a full answer
    full = work(sched, now=T0 + 2)  # like the counters, the list is taken before this hand-out
    assert full["task_id"] == "B"
    assert [r["task_id"] for r in full["running_tasks"]] == ["A"]
    last = work(sched, now=T0 + 3, brief=False)
    assert last["task_id"] == "C" and sorted(r["task_id"] for r in last["running_tasks"]) == ["A", "B"]
