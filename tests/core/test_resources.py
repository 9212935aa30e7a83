"""Resources: capacities, use and release, decreases, updates, listings and the fair pass."""

from __future__ import annotations

import pytest

from tests.core.conftest import SERIALIZED_KEYS, T0, add, finish, make, run, status_of, work


def used(s, name, now=T0):
    for entry in s.resource_list(now=now):
        if entry["name"] == name:
            return entry["num_used"]
    raise AssertionError(f"resource {name} not listed")


def test_task_within_capacity_runs():
    s = make(resources={"db": 2})
    add(s, "A", resources={"db": 2})
    assert run(s) == "A"


def test_task_over_capacity_never_runs():
    s = make(resources={"db": 2})
    add(s, "A", resources={"db": 3})
    assert run(s) is None


def test_unconfigured_resource_has_capacity_one(sched):
    sched.add_worker(worker="w1", info={"workers": 4}, now=T0)
    add(sched, "big", resources={"gpu": 2})
    add(sched, "A", resources={"gpu": 1})
    add(sched, "B", resources={"gpu": 1})
    assert run(sched) == "A"
    assert run(sched) is None


def test_zero_amount_needs_nothing():
    s = make(resources={"db": 0})
    add(s, "A", resources={"db": 0})
    assert run(s) == "A"


def test_capacity_is_shared_between_running_tasks():
    s = make(resources={"db": 2})
    s.add_worker(worker="w1", info={"workers": 5}, now=T0)
    for name in "ABC":
        add(s, name, resources={"db": 1})
    assert run(s) == "A"
    assert run(s) == "B"
    assert run(s) is None
    assert used(s, "db") == 2


@pytest.mark.parametrize("outcome", ["DONE", "FAILED"])
def test_finishing_releases_resources(outcome):
    s = make(resources={"db": 1})
    s.add_worker(worker="w1", info={"workers": 2}, now=T0)
    add(s, "A", resources={"db": 1})
    add(s, "B", resources={"db": 1})
    assert run(s) == "A"
    assert run(s) is None
    finish(s, "A", status=outcome, now=T0 + 1)
    assert used(s, "db", now=T0 + 1) == 0
    assert run(s, now=T0 + 2) == "B"


def test_vanished_runner_releases_resources():
    s = make(resources={"db": 1})
    add(s, "A", worker="w1", resources={"db": 1})
    add(s, "B", worker="w2", resources={"db": 1})
    assert run(s, "w1") == "A"
    assert run(s, "w2") is None
    s.ping(worker="w2", now=T0 + 61)
    s.prune(now=T0 + 61)
    assert status_of(s, "A") == "FAILED"
    assert run(s, "w2", now=T0 + 62) == "B"


def test_several_resources_must_all_fit():
    s = make(resources={"a": 1, "b": 1})
    s.add_worker(worker="w1", info={"workers": 3}, now=T0)
    add(s, "X", resources={"a": 1})
    add(s, "Y", resources={"a": 1, "b": 1})
    add(s, "Z", resources={"b": 1})
    assert run(s) == "X"
    assert run(s) == "Z"
    assert run(s) is None


def test_lower_ranked_task_runs_when_a_higher_one_does_not_fit():
    s = make(resources={"db": 1})
    s.add_worker(worker="w1", info={"workers": 3}, now=T0)
    add(s, "holder", resources={"db": 1}, priority=10)
    assert run(s) == "holder"
    add(s, "needs_db", resources={"db": 1}, priority=5)
    add(s, "free", priority=1)
    assert run(s) == "free"


def test_decrease_running_task_resources_frees_capacity():
    s = make(resources={"db": 3})
    s.add_worker(worker="w1", info={"workers": 2}, now=T0)
    add(s, "A", resources={"db": 3})
    add(s, "B", resources={"db": 2})
    assert run(s) == "A"
    assert run(s) is None
    assert s.decrease_running_task_resources(task_id="A", decrease_resources={"db": 2}, now=T0) is None
    assert s.get_running_task_resources(task_id="A", now=T0) == {"taskId": "A", "resources": {"db": 1}}
    assert s.tasks["A"].resources == {"db": 3}  # the declared need is unchanged
    assert used(s, "db") == 1
    assert run(s, now=T0 + 1) == "B"


def test_decrease_never_goes_below_zero_and_ignores_unheld_resources():
    s = make(resources={"db": 3})
    add(s, "A", resources={"db": 1})
    run(s)
    s.decrease_running_task_resources(task_id="A", decrease_resources={"db": 5, "other": 1}, now=T0)
    assert s.get_running_task_resources(task_id="A", now=T0)["resources"] == {"db": 0}
    assert used(s, "db") == 0


def test_decrease_is_ignored_for_tasks_not_running():
    s = make(resources={"db": 3})
    add(s, "A", resources={"db": 2})
    s.decrease_running_task_resources(task_id="A", decrease_resources={"db": 1}, now=T0)
    assert s.get_running_task_resources(task_id="A", now=T0)["resources"] is None
    assert run(s) == "A"
    assert s.get_running_task_resources(task_id="A", now=T0)["resources"] == {"db": 2}


def test_get_running_task_resources_of_an_unknown_task(sched):
    assert sched.get_running_task_resources(task_id="nope", now=T0) == {"taskId": "nope", "resources": None}


def test_resource_list_shape_and_consumers():
    s = make(resources={"db": 2, "cpu": 4})
    add(s, "A", resources={"db": 1, "cpu": 2})
    run(s)
    listing = s.resource_list(now=T0)
    assert [r["name"] for r in listing] == ["cpu", "db"]
    for entry in listing:
        assert set(entry) == {"name", "num_total", "num_used", "num_consumer", "running"}
    by_name = {r["name"]: r for r in listing}
    assert by_name["db"]["num_total"] == 2
    assert by_name["db"]["num_used"] == 1
    assert by_name["cpu"]["num_used"] == 2
    assert by_name["db"]["num_consumer"] == 1
    assert set(by_name["db"]["running"]) == {"A"}
    assert set(by_name["db"]["running"]["A"]) >= SERIALIZED_KEYS


def test_resource_list_without_configured_resources(sched):
    add(sched, "A", resources={"gpu": 1})
    run(sched)
    assert sched.resource_list(now=T0) == []


def test_update_resource_changes_capacity():
    s = make(resources={"db": 1})
    s.add_worker(worker="w1", info={"workers": 2}, now=T0)
    add(s, "A", resources={"db": 1})
    add(s, "B", resources={"db": 1})
    run(s)
    assert run(s) is None
    assert s.update_resource(resource="db", amount=2, now=T0) is True
    assert run(s, now=T0 + 1) == "B"
    assert {r["name"]: r["num_total"] for r in s.resource_list(now=T0 + 1)} == {"db": 2}


@pytest.mark.parametrize("amount", [-1, 1.5, "2", None, True])
def test_update_resource_refuses_bad_amounts_with_false(amount):
    s = make(resources={"db": 1})
    assert s.update_resource(resource="db", amount=amount, now=T0) is False
    assert s.resource_list(now=T0)[0]["num_total"] == 1


def test_update_resource_to_zero_blocks_new_runs():
    s = make(resources={"db": 1})
    add(s, "A", resources={"db": 1})
    assert s.update_resource(resource="db", amount=0, now=T0) is True
    assert run(s) is None


def test_update_resources_sets_several():
    s = make(resources={"a": 1})
    assert s.update_resources(now=T0, a=3, b=2) is None
    assert {r["name"]: r["num_total"] for r in s.resource_list(now=T0)} == {"a": 3, "b": 2}


# ---------------------------------------------------------------- fair pass


def test_fair_pass_reserves_for_a_live_worker_that_could_run_it():
    s = make(resources={"db": 1})
    s.add_worker(worker="w1", info={"workers": 1}, now=T0)
    # w1 asks for work while it has nothing, so it counts as a live, asking worker
    work(s, "w1", now=T0)
    add(s, "high", worker="w1", resources={"db": 1}, priority=10, now=T0 + 1)
    add(s, "low", worker="w2", resources={"db": 1}, priority=1, now=T0 + 1)
    assert run(s, "w2", now=T0 + 2) is None
    assert run(s, "w1", now=T0 + 3) == "high"


def test_fair_pass_ignores_workers_that_never_asked_for_work():
    s = make(resources={"db": 1})
    add(s, "high", worker="w1", resources={"db": 1}, priority=10)
    add(s, "low", worker="w2", resources={"db": 1}, priority=1)
    assert run(s, "w2") == "low"


def test_fair_pass_ignores_workers_silent_longer_than_the_disconnect_delay():
    s = make(resources={"db": 1}, worker_disconnect_delay=60)
    work(s, "w1", now=T0)
    add(s, "high", worker="w1", resources={"db": 1}, priority=10, now=T0 + 1)
    add(s, "low", worker="w2", resources={"db": 1}, priority=1, now=T0 + 61)
    # w1 registered at T0+1 but last asked for work at T0
    assert run(s, "w2", now=T0 + 61) == "low"


def test_fair_pass_ignores_workers_without_free_slots():
    # "busy" outranks "high", so the walk meets it first and w1's one process is taken
    # (a busy task ranked below "high" would not: see test_greedy_reservation.py).
    s = make(resources={"db": 2})
    work(s, "w1", now=T0)
    add(s, "busy", worker="w1", priority=20, now=T0)
    assert run(s, "w1", now=T0) == "busy"  # w1 runs its one process
    add(s, "high", worker="w1", resources={"db": 2}, priority=10, now=T0 + 1)
    add(s, "low", worker="w2", resources={"db": 1}, priority=1, now=T0 + 1)
    assert run(s, "w2", now=T0 + 2) == "low"


def test_fair_pass_leaves_room_when_capacity_allows_both():
    s = make(resources={"db": 2})
    work(s, "w1", now=T0)
    add(s, "high", worker="w1", resources={"db": 1}, priority=10, now=T0 + 1)
    add(s, "low", worker="w2", resources={"db": 1}, priority=1, now=T0 + 1)
    assert run(s, "w2", now=T0 + 2) == "low"
    assert run(s, "w1", now=T0 + 3) == "high"


def test_fair_pass_does_not_hold_back_for_a_task_that_cannot_run():
    # "high" needs db and lock; lock is held by a running task that outranks it, so high
    # cannot start and Luigi's greedy pass (which checks the higher task fits) lets low have db.
    s = make(resources={"db": 1, "lock": 1})
    s.add_worker(worker="w3", info={"workers": 1}, now=T0)
    add(s, "locker", worker="w3", resources={"lock": 1}, priority=20, now=T0)
    assert run(s, "w3", now=T0) == "locker"
    work(s, "w1", now=T0)
    add(s, "high", worker="w1", resources={"db": 1, "lock": 1}, priority=10, now=T0 + 1)
    add(s, "low", worker="w2", resources={"db": 1}, priority=1, now=T0 + 1)
    assert run(s, "w2", now=T0 + 2) == "low"


def test_tasks_without_resources_skip_the_fair_pass():
    s = make(resources={"db": 1})
    work(s, "w1", now=T0)
    add(s, "high", worker="w1", resources={"db": 1}, priority=10, now=T0 + 1)
    add(s, "plain", worker="w2", priority=1, now=T0 + 1)
    assert run(s, "w2", now=T0 + 2) == "plain"


def test_unconfigured_resource_admits_one_unit(sched):
    sched.add_worker(worker="w1", info={"workers": 4}, now=T0)
    add(sched, "A", resources={"gpu": 1})
    add(sched, "B", resources={"gpu": 1})
    assert run(sched) == "A"
    assert run(sched) is None
    add(sched, "C", resources={"tpu": 2})
    assert run(sched) is None
