"""Operator controls, pause, workers, and scheduler messages through ping."""

from __future__ import annotations

import uuid

import pytest

from tests.core.conftest import T0, add, finish, make, run, stakeholders_of, status_of, work, workers_of

# ----------------------------------------------------------------- mark_as_done


@pytest.mark.parametrize("status", ["FAILED", "DISABLED"])
def test_mark_as_done_overrides_failed_and_disabled(sched, status):
    add(sched, "A", status=status)
    assert sched.mark_as_done(task_id="A", now=T0 + 1) == {"task_id": "A", "status": "DONE"}
    assert status_of(sched, "A") == "DONE"


def test_mark_as_done_overrides_running_and_releases_resources():
    s = make(resources={"r": 1})
    s.add_worker(worker="w1", info={"workers": 2}, now=T0)
    add(s, "A", resources={"r": 1})
    add(s, "B", resources={"r": 1})
    assert run(s) == "A"
    assert s.mark_as_done(task_id="A", now=T0 + 1)["status"] == "DONE"
    assert run(s, now=T0 + 2) == "B"


@pytest.mark.parametrize("status", ["PENDING", "UNKNOWN"])
def test_mark_as_done_leaves_other_statuses(sched, status):
    if status == "UNKNOWN":
        add(sched, "X", deps=["A"])
    else:
        add(sched, "A")
    assert sched.mark_as_done(task_id="A", now=T0) == {"task_id": "A", "status": status}


def test_mark_as_done_unblocks_dependents(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B", status="FAILED")
    sched.mark_as_done(task_id="B", now=T0 + 1)
    assert run(sched, now=T0 + 2) == "A"


def test_mark_as_done_lifts_a_scheduler_disable():
    s = make(retry_count=1)
    add(s, "A")
    run(s)
    finish(s, "A", status="FAILED", now=T0 + 1)
    assert status_of(s, "A") == "DISABLED"
    s.mark_as_done(task_id="A", now=T0 + 2)
    assert s.tasks["A"].scheduler_disable_time is None


def test_mark_as_done_on_a_batch_runner_finishes_its_members(sched):
    sched.add_task_batcher(worker="w1", task_family="F", batched_args=["p"], now=T0)
    for i in (1, 2):
        add(sched, f"F_{i}", family="F", params={"p": str(i)}, batchable=True, now=T0 + i)
    reply = work(sched, now=T0 + 5)
    sched.add_task(task_id="FB", worker="w1", status="RUNNING", batch_id=reply["batch_id"], now=T0 + 6)
    sched.mark_as_done(task_id="FB", now=T0 + 7)
    assert status_of(sched, "F_1") == "DONE"
    assert status_of(sched, "F_2") == "DONE"


# ---------------------------------------------------------------- disable_worker


def test_disable_worker_takes_it_off_runnable_tasks_but_keeps_it_a_stakeholder(sched):
    add(sched, "A", worker="w1")
    add(sched, "A", worker="w2")
    assert sched.disable_worker(worker="w1", now=T0) is None
    assert workers_of(sched, "A") == ["w2"]
    assert stakeholders_of(sched, "A") == {"w1", "w2"}


def test_disable_unknown_worker_creates_a_disabled_record(sched):
    sched.disable_worker(worker="later", now=T0)
    add(sched, "A", worker="later", now=T0 + 1)
    assert "A" not in sched.tasks
    assert work(sched, "later", now=T0 + 2)["worker_state"] == "disabled"


def test_disabled_worker_running_task_continues(sched):
    add(sched, "A")
    run(sched)
    sched.disable_worker(worker="w1", now=T0 + 1)
    assert status_of(sched, "A") == "RUNNING"


def test_disabled_worker_still_pruned_when_silent(sched):
    sched.disable_worker(worker="w1", now=T0)
    sched.prune(now=T0 + 61)
    assert "w1" not in sched.workers


# ----------------------------------------------------------------------- pause


def test_pause_and_unpause(sched):
    assert sched.is_pause_enabled(now=T0) == {"enabled": True}
    assert sched.is_paused(now=T0) == {"paused": False}
    assert sched.pause(now=T0) is None
    assert sched.is_paused(now=T0) == {"paused": True}
    sched.pause(now=T0)
    assert sched.is_paused(now=T0) == {"paused": True}
    assert sched.unpause(now=T0) is None
    assert sched.is_paused(now=T0) == {"paused": False}


def test_pause_disabled_by_configuration_is_a_no_op():
    s = make(pause_enabled=False)
    assert s.is_pause_enabled(now=T0) == {"enabled": False}
    s.pause(now=T0)
    assert s.is_paused(now=T0) == {"paused": False}
    add(s, "A")
    assert run(s) == "A"


def test_paused_scheduler_still_accepts_reports(sched):
    add(sched, "A")
    run(sched)
    sched.pause(now=T0)
    finish(sched, "A", now=T0 + 1)
    add(sched, "B", now=T0 + 1)
    assert status_of(sched, "A") == "DONE"
    assert run(sched, now=T0 + 2) is None


# ------------------------------------------------------------- workers and ping


def test_ping_shape_and_keepalive(sched):
    assert sched.ping(worker="w1", now=T0) == {"rpc_messages": []}
    assert sched.workers["w1"].last_active == T0


def test_add_worker_merges_info(sched):
    assert sched.add_worker(worker="w1", info={"host": "h", "workers": 2}, now=T0) is None
    sched.add_worker(worker="w1", info=[["workers", 4], ["salt", "x"]], now=T0 + 1)
    [entry] = sched.worker_list(now=T0 + 1)
    assert (entry["host"], entry["workers"], entry["salt"]) == ("h", 4, "x")


def test_announce_scheduling_failure_is_accepted(sched):
    result = sched.announce_scheduling_failure(
        task_name="A(x=1)", family="A", params={"x": "1"}, expl="boom", owners=[], worker="w1", now=T0
    )
    assert result is None
    assert "w1" in sched.workers


# ----------------------------------------------------------------- messages


def test_set_worker_processes_reaches_the_worker_through_ping(sched):
    sched.ping(worker="w1", now=T0)
    assert sched.set_worker_processes(worker="w1", n=4, now=T0) is None
    assert sched.ping(worker="w1", now=T0 + 1) == {
        "rpc_messages": [{"name": "set_worker_processes", "kwargs": {"n": 4}}]
    }
    assert sched.ping(worker="w1", now=T0 + 2) == {"rpc_messages": []}


def test_send_scheduler_message_reaches_the_worker_through_ping(sched):
    add(sched, "A", accepts_messages=True)
    run(sched)
    reply = sched.send_scheduler_message(worker="w1", task="A", content="hello", now=T0)
    message_id = reply["message_id"]
    uuid.UUID(message_id)
    assert sched.ping(worker="w1", now=T0 + 1)["rpc_messages"] == [
        {
            "name": "dispatch_scheduler_message",
            "kwargs": {"task_id": "A", "message_id": message_id, "content": "hello"},
        }
    ]


def test_messages_are_delivered_in_order_and_once(sched):
    sched.ping(worker="w1", now=T0)
    first = sched.send_scheduler_message(worker="w1", task="A", content="1", now=T0)["message_id"]
    sched.set_worker_processes(worker="w1", n=2, now=T0)
    second = sched.send_scheduler_message(worker="w1", task="A", content="2", now=T0)["message_id"]
    assert first != second
    messages = sched.ping(worker="w1", now=T0 + 1)["rpc_messages"]
    assert [m["name"] for m in messages] == [
        "dispatch_scheduler_message",
        "set_worker_processes",
        "dispatch_scheduler_message",
    ]
    assert sched.ping(worker="w1", now=T0 + 2)["rpc_messages"] == []


def test_messages_only_reach_their_worker(sched):
    sched.ping(worker="w1", now=T0)
    sched.ping(worker="w2", now=T0)
    sched.set_worker_processes(worker="w1", n=2, now=T0)
    assert sched.ping(worker="w2", now=T0 + 1)["rpc_messages"] == []


def test_send_scheduler_message_when_messages_are_off():
    s = make(send_messages=False)
    s.ping(worker="w1", now=T0)
    assert s.send_scheduler_message(worker="w1", task="A", content="x", now=T0) == {"message_id": None}
    assert s.ping(worker="w1", now=T0 + 1) == {"rpc_messages": []}


def test_message_response_round_trip(sched):
    add(sched, "A")
    run(sched)
    message_id = sched.send_scheduler_message(worker="w1", task="A", content="q", now=T0)["message_id"]
    assert sched.get_scheduler_message_response(task_id="A", message_id=message_id, now=T0) == {"response": None}
    assert sched.add_scheduler_message_response(task_id="A", message_id=message_id, response="yes", now=T0) is None
    assert sched.get_scheduler_message_response(task_id="A", message_id=message_id, now=T0) == {"response": "yes"}
    # taken once
    assert sched.get_scheduler_message_response(task_id="A", message_id=message_id, now=T0) == {"response": None}


def test_message_response_of_an_unknown_task(sched):
    assert sched.get_scheduler_message_response(task_id="nope", message_id="m", now=T0) == {"response": None}
