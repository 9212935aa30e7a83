"""The task record's compact layout: rarely set fields, parameters as JSON text, shared ids.

A million tasks live in one process (issue 19: at most 700 bytes each), so what most tasks
never set costs them nothing, and what they share is one object.
"""

from __future__ import annotations

import math

import pytest

from tests.core.conftest import T0, add, finish, make, run
from xrsched.core import BadValue
from xrsched.core.config import RetryPolicy
from xrsched.core.model import NO_RESOURCES, RARE_FIELDS, Task
from xrsched.core.states import PENDING


def fresh(text: str) -> str:
    """A new string object equal to ``text``, as an RPC decoder hands them out."""
    return text.encode().decode()


def test_a_plain_registered_task_has_no_side_record(sched):
    add(sched, "A", family="F", params={"x": "1"}, deps=["B"])
    assert sched.tasks["A"].more is None
    assert sched.tasks["B"].more is None


def test_rare_fields_read_as_their_defaults_and_live_in_the_side_record_once_set():
    task = Task("A", PENDING, T0, 1, RetryPolicy())
    assert {name: getattr(task, name) for name in RARE_FIELDS} == RARE_FIELDS
    task.expl = "boom"
    task.batchable = True
    assert task.more == {"expl": "boom", "batchable": True}
    assert task.expl == "boom" and task.batchable is True
    task.expl = None
    assert task.more == {"batchable": True}
    task.batchable = False
    assert task.more is None


def test_a_mutable_rare_field_is_changed_in_place():
    task = Task("A", PENDING, T0, 1, RetryPolicy())
    task.add_failure(T0)
    task.add_failure(T0 + 1)
    assert task.failures == [T0, T0 + 1]
    assert task.num_failures(T0 + 1) == 2
    task.clear_failures()
    assert task.more is None


def test_a_failure_and_its_explanation_come_back_through_the_side_record(sched):
    add(sched, "A")
    run(sched)
    add(sched, "A", status="FAILED", expl="Traceback: boom", now=T0 + 1)
    task = sched.tasks["A"]
    assert task.more is not None and task.more["expl"] == "Traceback: boom"
    assert sched.fetch_error("A", now=T0 + 2)["error"] == "Traceback: boom"
    assert task.failures == [T0 + 1]


def test_params_are_kept_as_json_and_read_back_as_a_new_dict(sched):
    add(sched, "A", family="F", params={"date": "2024-01-01", "n": 3, "blob": b"\x00\xff", "l": [1, "a"]})
    task = sched.tasks["A"]
    assert isinstance(task.params_json, str)
    params = task.params
    assert params == {"date": "2024-01-01", "n": 3, "blob": b"\x00\xff", "l": [1, "a"]}
    params["date"] = "changed"
    assert task.params["date"] == "2024-01-01"
    assert sched.get_work(worker="w1", now=T0)["task_params"]["date"] == "2024-01-01"


def test_a_placeholder_gets_the_params_of_its_first_registration(sched):
    add(sched, "A", deps=["B"])
    assert sched.tasks["B"].params == {}
    add(sched, "B", family="F", params={"x": "1"}, now=T0 + 1)
    add(sched, "B", family="F", params={"x": "2"}, now=T0 + 2)
    assert sched.tasks["B"].params == {"x": "1"}


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_param_that_cannot_be_kept_is_refused_before_anything_changes(sched, value):
    with pytest.raises(BadValue, match="params"):
        add(sched, "A", params={"x": value})
    assert "A" not in sched.tasks


def test_a_task_id_is_one_string_for_the_table_the_indexes_and_dependents(sched):
    add(sched, fresh("Root"))
    add(sched, fresh("Leaf"), deps=[fresh("Root")], now=T0 + 1)
    add(sched, fresh("Other"), deps=[fresh("Root"), fresh("Missing")], now=T0 + 2)
    root_id = sched.tasks["Root"].id
    assert sched.tasks["Leaf"].deps == (root_id,) and sched.tasks["Leaf"].deps[0] is root_id
    missing, root = sched.tasks["Other"].deps
    assert root is root_id
    # A dependency nobody registered becomes a placeholder under the dependent's string.
    assert sched.tasks["Missing"].id is missing
    assert next(k for k in sched.tasks if k == "Root") is root_id
    assert next(k for k in sched.by_status[PENDING] if k == "Root") is root_id


def test_a_run_that_needs_nothing_holds_the_shared_empty_mapping():
    """Most tasks need no resources, and every task that ran keeps what it held: 64 B each."""
    from xrsched.store.records import TaskDecoder, encode_task

    sched = make(resources={"db": 5})
    add(sched, "A")
    add(sched, "B", resources={"db": 2}, now=T0 + 1)
    run(sched, now=T0 + 2)
    run(sched, now=T0 + 3)
    finish(sched, "A", now=T0 + 4)
    assert sched.tasks["A"].resources_running is NO_RESOURCES
    held = sched.tasks["B"].resources_running
    assert held == {"db": 2} and held is not sched.tasks["B"].resources
    sched.decrease_running_task_resources("B", {"db": 1}, now=T0 + 5)
    assert sched.tasks["B"].resources_running == {"db": 1} and sched.tasks["B"].resources == {"db": 2}
    assert NO_RESOURCES == {}
    policy = sched.config.retry_policy
    restored = TaskDecoder(policy).decode(encode_task(sched.tasks["A"], policy))
    assert restored.resources_running is NO_RESOURCES
    assert encode_task(restored, policy) == encode_task(sched.tasks["A"], policy)
