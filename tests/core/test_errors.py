"""Typed errors: unknown ids (404 or Luigi's empty shapes) and bad input (400 naming the argument)."""

from __future__ import annotations

import math

import pytest

from tests.core.conftest import T0, add, run
from xrsched.core import (
    PUBLIC_METHODS,
    BadValue,
    Conflict,
    Forbidden,
    NotFound,
    Scheduler,
    SchedulerError,
    UnknownTask,
    UnknownWorker,
)
from xrsched.core.errors import RateLimited, Unavailable


def test_error_codes():
    assert SchedulerError("x").code == 400
    assert BadValue("x").code == 400
    assert Forbidden("x").code == 403
    assert NotFound("x").code == 404
    assert Conflict("x").code == 409
    assert RateLimited("x").code == 429
    assert Unavailable("x").code == 503
    err = UnknownTask("T(1)")
    assert isinstance(err, NotFound)
    assert (err.code, err.task_id) == (404, "T(1)")
    assert err.message.startswith("task_id:")
    assert "T(1)" in str(err)
    err = UnknownWorker("w9")
    assert (err.code, err.worker_id) == (404, "w9")
    assert err.message.startswith("worker:")


def test_every_public_method_exists_and_takes_now(sched):
    import inspect

    for name in PUBLIC_METHODS:
        method = getattr(sched, name)
        param = inspect.signature(method).parameters["now"]
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, name


# ------------------------------------------------------------- unknown task ids

UNKNOWN_TASK_RAISES = [
    ("mark_as_done", {}),
    ("forgive_failures", {}),
    ("re_enable_task", {}),
    ("set_task_status_message", {"status_message": "m"}),
    ("set_task_progress_percentage", {"progress_percentage": 5}),
    ("decrease_running_task_resources", {"decrease_resources": {"r": 1}}),
    ("report_task_statistics", {"statistics": {}}),
    ("add_scheduler_message_response", {"message_id": "m", "response": "r"}),
]


@pytest.mark.parametrize(("method", "kwargs"), UNKNOWN_TASK_RAISES, ids=[m for m, _ in UNKNOWN_TASK_RAISES])
def test_unknown_task_raises_404(sched, method, kwargs):
    add(sched, "known")
    with pytest.raises(UnknownTask) as info:
        getattr(sched, method)(task_id="Missing(x=1)", now=T0, **kwargs)
    assert info.value.code == 404
    assert "task_id" in info.value.message
    assert "Missing(x=1)" in info.value.message


UNKNOWN_TASK_EMPTY = [
    ("fetch_error", {}, {"taskId": "nope", "error": ""}),
    ("get_task_status_message", {}, {"taskId": "nope", "statusMessage": ""}),
    ("get_task_progress_percentage", {}, {"taskId": "nope", "progressPercentage": None}),
    ("get_running_task_resources", {}, {"taskId": "nope", "resources": None}),
    ("get_scheduler_message_response", {"message_id": "m"}, {"response": None}),
    ("dep_graph", {}, {}),
    ("inverse_dep_graph", {}, {}),
]


@pytest.mark.parametrize(
    ("method", "kwargs", "expected"), UNKNOWN_TASK_EMPTY, ids=[m for m, _, _ in UNKNOWN_TASK_EMPTY]
)
def test_unknown_task_gives_luigis_empty_shape(sched, method, kwargs, expected):
    assert getattr(sched, method)(task_id="nope", now=T0, **kwargs) == expected


def test_unknown_task_search_and_listing_are_empty(sched):
    assert sched.task_search(task_str="nope", now=T0) == {}
    assert sched.task_list(search="nope", now=T0) == {}


def test_unknown_worker_raises_404_for_messages(sched):
    with pytest.raises(UnknownWorker) as info:
        sched.set_worker_processes(worker="ghost", n=2, now=T0)
    assert info.value.code == 404
    assert "worker" in info.value.message
    with pytest.raises(UnknownWorker):
        sched.send_scheduler_message(worker="ghost", task="A", content="x", now=T0)


def test_unknown_worker_is_created_by_worker_calls(sched):
    sched.ping(worker="new1", now=T0)
    sched.get_work(worker="new2", now=T0)
    sched.add_worker(worker="new3", info={}, now=T0)
    assert {"new1", "new2", "new3"} <= set(sched.workers)


# ------------------------------------------------------------------ bad input

BAD = float("nan")
BAD_INPUT = [
    # add_task
    ("add_task", {"task_id": None, "worker": "w"}, "task_id"),
    ("add_task", {"task_id": "", "worker": "w"}, "task_id"),
    ("add_task", {"task_id": 5, "worker": "w"}, "task_id"),
    ("add_task", {"task_id": "x" * 5000, "worker": "w"}, "task_id"),
    ("add_task", {"task_id": "A"}, "worker"),
    ("add_task", {"task_id": "A", "worker": ""}, "worker"),
    ("add_task", {"task_id": "A", "worker": ["w"]}, "worker"),
    ("add_task", {"task_id": "A", "worker": "w", "status": "BOGUS"}, "status"),
    ("add_task", {"task_id": "A", "worker": "w", "status": None}, "status"),
    pytest.param(
        "add_task",
        {"task_id": "A", "worker": "w", "status": ["PENDING"]},
        "status",
        id="add_task-status-array",
    ),
    pytest.param(
        "add_task",
        {"task_id": "A", "worker": "w", "status": {"s": 1}},
        "status",
        id="add_task-status-struct",
    ),
    ("add_task", {"task_id": "A", "worker": "w", "deps": "B"}, "deps"),
    ("add_task", {"task_id": "A", "worker": "w", "deps": 5}, "deps"),
    ("add_task", {"task_id": "A", "worker": "w", "deps": ["B", None]}, "deps"),
    pytest.param(
        "add_task",
        {"task_id": "A", "worker": "w", "deps": {"B": 1}},
        "deps",
        id="add_task-deps-struct",
    ),
    ("add_task", {"task_id": "A", "worker": "w", "new_deps": "B"}, "new_deps"),
    ("add_task", {"task_id": "A", "worker": "w", "new_deps": [3]}, "new_deps"),
    ("add_task", {"task_id": "A", "worker": "w", "resources": [1]}, "resources"),
    ("add_task", {"task_id": "A", "worker": "w", "resources": {"r": -1}}, "resources"),
    ("add_task", {"task_id": "A", "worker": "w", "resources": {"r": "2"}}, "resources"),
    ("add_task", {"task_id": "A", "worker": "w", "resources": {"r": 1.5}}, "resources"),
    ("add_task", {"task_id": "A", "worker": "w", "resources": {"r": True}}, "resources"),
    ("add_task", {"task_id": "A", "worker": "w", "resources": {"": 1}}, "resources"),
    ("add_task", {"task_id": "A", "worker": "w", "resources": {5: 1}}, "resources"),
    ("add_task", {"task_id": "A", "worker": "w", "priority": "high"}, "priority"),
    ("add_task", {"task_id": "A", "worker": "w", "priority": BAD}, "priority"),
    ("add_task", {"task_id": "A", "worker": "w", "priority": math.inf}, "priority"),
    ("add_task", {"task_id": "A", "worker": "w", "priority": None}, "priority"),
    ("add_task", {"task_id": "A", "worker": "w", "priority": True}, "priority"),
    ("add_task", {"task_id": "A", "worker": "w", "family": 5}, "family"),
    ("add_task", {"task_id": "A", "worker": "w", "module": 5}, "module"),
    ("add_task", {"task_id": "A", "worker": "w", "params": [1, 2]}, "params"),
    ("add_task", {"task_id": "A", "worker": "w", "params": {1: "a"}}, "params"),
    ("add_task", {"task_id": "A", "worker": "w", "param_visibilities": "x"}, "param_visibilities"),
    ("add_task", {"task_id": "A", "worker": "w", "expl": 5}, "expl"),
    ("add_task", {"task_id": "A", "worker": "w", "tracking_url": 5}, "tracking_url"),
    ("add_task", {"task_id": "A", "worker": "w", "batch_id": 5}, "batch_id"),
    ("add_task", {"task_id": "A", "worker": "w", "retry_policy_dict": "x"}, "retry_policy_dict"),
    ("add_task", {"task_id": "A", "worker": "w", "retry_policy_dict": {"bogus": 1}}, "retry_policy_dict"),
    ("add_task", {"task_id": "A", "worker": "w", "retry_policy_dict": {"retry_count": "3"}}, "retry_count"),
    ("add_task", {"task_id": "A", "worker": "w", "retry_policy_dict": {"retry_count": -1}}, "retry_count"),
    ("add_task", {"task_id": "A", "worker": "w", "retry_policy_dict": {"retry_count": True}}, "retry_count"),
    (
        "add_task",
        {"task_id": "A", "worker": "w", "retry_policy_dict": {"disable_window": BAD}},
        "disable_window",
    ),
    # get_work, ping, count_pending
    ("get_work", {}, "worker"),
    ("get_work", {"worker": ""}, "worker"),
    ("get_work", {"worker": "w", "host": 5}, "host"),
    ("get_work", {"worker": "w", "current_tasks": "A"}, "current_tasks"),
    ("get_work", {"worker": "w", "current_tasks": 5}, "current_tasks"),
    ("get_work", {"worker": "w", "current_tasks": [None]}, "current_tasks"),
    ("ping", {}, "worker"),
    ("ping", {"worker": 5}, "worker"),
    ("count_pending", {"worker": None}, "worker"),
    # add_worker, add_task_batcher, disable_worker, set_worker_processes
    ("add_worker", {"worker": None, "info": {}}, "worker"),
    ("add_worker", {"worker": "w", "info": 5}, "info"),
    ("add_worker", {"worker": "w", "info": "abc"}, "info"),
    ("add_worker", {"worker": "w", "info": [["a"]]}, "info"),
    ("add_worker", {"worker": "w", "info": [[1, 2]]}, "info"),
    ("add_task_batcher", {"worker": None, "task_family": "F", "batched_args": []}, "worker"),
    ("add_task_batcher", {"worker": "w", "task_family": "", "batched_args": []}, "task_family"),
    ("add_task_batcher", {"worker": "w", "task_family": "F", "batched_args": "p"}, "batched_args"),
    ("add_task_batcher", {"worker": "w", "task_family": "F", "batched_args": [1]}, "batched_args"),
    (
        "add_task_batcher",
        {"worker": "w", "task_family": "F", "batched_args": ["p"], "max_batch_size": "2"},
        "max_batch_size",
    ),
    ("disable_worker", {"worker": ""}, "worker"),
    ("set_worker_processes", {"worker": "known", "n": 0}, "n"),
    ("set_worker_processes", {"worker": "known", "n": "3"}, "n"),
    ("set_worker_processes", {"worker": "known", "n": 2.5}, "n"),
    ("set_worker_processes", {"worker": "known", "n": True}, "n"),
    ("set_worker_processes", {"worker": None, "n": 2}, "worker"),
    # annotations
    ("set_task_status_message", {"task_id": "known", "status_message": 5}, "status_message"),
    ("set_task_status_message", {"task_id": None, "status_message": "x"}, "task_id"),
    ("set_task_progress_percentage", {"task_id": "known", "progress_percentage": 101}, "progress_percentage"),
    ("set_task_progress_percentage", {"task_id": "known", "progress_percentage": -1}, "progress_percentage"),
    ("set_task_progress_percentage", {"task_id": "known", "progress_percentage": "5"}, "progress_percentage"),
    ("set_task_progress_percentage", {"task_id": "known", "progress_percentage": BAD}, "progress_percentage"),
    ("get_task_status_message", {"task_id": None}, "task_id"),
    ("get_task_progress_percentage", {"task_id": 5}, "task_id"),
    ("get_running_task_resources", {"task_id": ""}, "task_id"),
    (
        "decrease_running_task_resources",
        {"task_id": "known", "decrease_resources": [1]},
        "decrease_resources",
    ),
    (
        "decrease_running_task_resources",
        {"task_id": "known", "decrease_resources": {"r": -1}},
        "decrease_resources",
    ),
    ("report_task_statistics", {"task_id": "known", "statistics": "x"}, "statistics"),
    # messages
    ("send_scheduler_message", {"worker": None, "task": "A", "content": "x"}, "worker"),
    ("send_scheduler_message", {"worker": "known", "task": None, "content": "x"}, "task"),
    ("send_scheduler_message", {"worker": "known", "task": "A", "content": 5}, "content"),
    (
        "add_scheduler_message_response",
        {"task_id": "known", "message_id": None, "response": "r"},
        "message_id",
    ),
    ("get_scheduler_message_response", {"task_id": "known", "message_id": ""}, "message_id"),
    ("get_scheduler_message_response", {"task_id": None, "message_id": "m"}, "task_id"),
    # listings
    ("task_list", {"status": "BOGUS"}, "status"),
    ("task_list", {"status": "SUSPENDED"}, "status"),
    ("task_list", {"upstream_status": "UPSTREAM_BOGUS"}, "upstream_status"),
    ("task_list", {"upstream_status": 5}, "upstream_status"),
    ("task_list", {"search": 5}, "search"),
    ("task_list", {"max_shown_tasks": "5"}, "max_shown_tasks"),
    ("task_list", {"max_shown_tasks": -1}, "max_shown_tasks"),
    ("task_search", {"task_str": 5}, "task_str"),
    ("dep_graph", {"task_id": None}, "task_id"),
    ("inverse_dep_graph", {"task_id": 5}, "task_id"),
    ("fetch_error", {"task_id": None}, "task_id"),
    # operator controls
    ("mark_as_done", {"task_id": None}, "task_id"),
    ("forgive_failures", {"task_id": ""}, "task_id"),
    ("re_enable_task", {"task_id": 5}, "task_id"),
    ("update_resource", {"resource": "", "amount": 1}, "resource"),
    ("update_resource", {"resource": None, "amount": 1}, "resource"),
    ("update_resources", {"r": -1}, "resources"),
    ("update_resources", {"r": "x"}, "resources"),
    ("announce_scheduling_failure", {"worker": 5}, "worker"),
]


def _case_id(case):
    if hasattr(case, "marks"):  # a pytest.param with its own id
        return case.id
    method, kwargs, arg = case
    return f"{method}-{arg}-{sorted(kwargs.items(), key=str)!r}"[:80]


@pytest.mark.parametrize(("method", "kwargs", "argument"), BAD_INPUT, ids=[_case_id(c) for c in BAD_INPUT])
def test_bad_input_raises_a_400_naming_the_argument(method, kwargs, argument):
    s = Scheduler()
    add(s, "known", worker="known")
    try:
        getattr(s, method)(now=T0, **kwargs)
    except SchedulerError as err:
        assert err.code == 400, err
        assert isinstance(err, BadValue)
        assert argument in err.message, err.message
        assert err.message == str(err)
    else:
        pytest.fail(f"{method}({kwargs!r}) did not raise")


def test_bad_add_task_changes_nothing():
    s = Scheduler()
    with pytest.raises(BadValue):
        s.add_task(task_id="A", worker="w1", deps=["B"], priority="high", now=T0)
    with pytest.raises(BadValue):
        s.add_task(task_id="A", worker="w1", retry_policy_dict={"bogus": 1}, now=T0)
    assert s.tasks == {}
    assert s.workers == {}


def test_bad_get_work_hands_out_nothing():
    s = Scheduler()
    add(s, "A")
    with pytest.raises(BadValue):
        s.get_work(worker="w1", current_tasks="A", now=T0)
    assert s.tasks["A"].status == "PENDING"


def test_bad_set_worker_processes_queues_nothing(sched):
    sched.ping(worker="w1", now=T0)
    with pytest.raises(BadValue):
        sched.set_worker_processes(worker="w1", n=0, now=T0)
    assert sched.ping(worker="w1", now=T0)["rpc_messages"] == []


def test_unusual_but_valid_values_are_accepted(sched):
    add(sched, "ünïcode/täsk id", params={"nested": {"a": [1, 2]}}, priority=1e300)
    add(sched, "B", resources={"r": 0}, priority=-1e300)
    add(sched, "C", deps=[], new_deps=[], resources=None, params=None, retry_policy_dict={})
    add(sched, "D", deps=("X", "X"))
    assert sorted(sched.tasks["D"].deps) == ["X"]
    assert run(sched) == "ünïcode/täsk id"
