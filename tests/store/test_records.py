"""Stored task rows decode to exactly the task that was encoded."""

from __future__ import annotations

from xrsched.core import Scheduler
from xrsched.store.records import COLD_DEFAULTS, TASK_COLUMNS, TaskDecoder, encode_task


def test_a_plain_task_round_trips_with_every_cold_field_at_its_default():
    core = Scheduler()
    core.add_task(task_id="T", worker="w", family="F", params={"a": "1"}, deps=["U"], now=1.0)
    policy = core.config.retry_policy
    row = encode_task(core.tasks["T"], policy)
    assert len(row) == len(TASK_COLUMNS)
    assert row[-1] is None  # nothing cold to store
    task = TaskDecoder(policy).decode(row)
    for name, default in COLD_DEFAULTS.items():
        assert getattr(task, name) == default, name
    assert (task.id, task.deps, task.workers, task.params) == ("T", ("U",), ("w",), {"a": "1"})
    assert task.retry_policy is policy


def test_a_task_with_its_own_policy_and_cold_fields_round_trips():
    core = Scheduler()
    own = {"retry_count": 2}
    core.add_task(task_id="T", worker="w", retry_policy_dict=own, now=1.0)
    core.get_work(worker="w", now=2.0)
    core.add_task(task_id="T", worker="w", status="FAILED", expl="boom", retry_policy_dict=own, now=3.0)
    task = core.tasks["T"]
    again = TaskDecoder(core.config.retry_policy).decode(encode_task(task, core.config.retry_policy))
    assert again.retry_policy == task.retry_policy
    assert again.retry_policy.retry_count == 2
    assert (again.expl, again.failures, again.status) == ("boom", [3.0], "FAILED")
