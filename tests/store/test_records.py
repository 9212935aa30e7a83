"""Stored task rows decode to exactly the task that was encoded, alone or a batch at a time."""

from __future__ import annotations

import pytest

from xrsched.core import Scheduler
from xrsched.store.records import EXTRA_DEFAULTS, TASK_COLUMNS, RecordError, TaskDecoder, encode_task, loads


def rich_core() -> Scheduler:
    """Tasks with and without params, deps, resources, bytes, their own policy, failures."""
    core = Scheduler(resources={"db": 2})
    core.add_task(task_id="T", worker="w", family="F", params={"a": "1"}, deps=["U"], now=1.0)
    core.add_task(task_id="B", worker="w", family="F", params={"blob": b"\x00\xff"}, priority=3, now=1.0)
    core.add_task(task_id="R", worker="v", resources={"db": 1}, module="m", now=1.0)
    core.add_task(task_id="R", worker="w", resources={"db": 1}, now=1.5)
    core.add_task(task_id="P", worker="v", retry_policy_dict={"retry_count": 2}, now=1.0)
    core.get_work(worker="v", now=2.0)
    core.add_task(task_id="P", worker="v", status="FAILED", expl="boom", retry_policy_dict={"retry_count": 2}, now=3.0)
    return core


def test_a_plain_task_round_trips_with_every_extra_field_at_its_default():
    core = Scheduler()
    core.add_task(task_id="T", worker="w", family="F", params={"a": "1"}, deps=["U"], now=1.0)
    policy = core.config.retry_policy
    row = encode_task(core.tasks["T"], policy)
    assert len(row) == len(TASK_COLUMNS)
    assert loads(row[-1]) == [{"a": "1"}, ["U"], None]  # nothing else differs from its default
    task = TaskDecoder(policy).decode(row)
    for name, default in EXTRA_DEFAULTS.items():
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


def test_a_batch_decodes_exactly_as_row_by_row():
    core = rich_core()
    policy = core.config.retry_policy
    rows = [encode_task(task, policy) for task in core.tasks.values()]
    batch = TaskDecoder(policy).decode_rows(rows)
    alone = [TaskDecoder(policy).decode(row) for row in rows]
    assert [encode_task(t, policy) for t in batch] == [encode_task(t, policy) for t in alone] == rows
    by_id = {task.id: task for task in batch}
    assert by_id["B"].params == {"blob": b"\x00\xff"} and by_id["T"].params == {"a": "1"}
    assert by_id["R"].resources == {"db": 1} and by_id["R"].workers == ("v", "w")
    assert by_id["U"].params == {} and by_id["U"].params is not by_id["R"].params
    # Tasks of one worker share one tuple; names are shared too.
    assert by_id["T"].workers is by_id["B"].workers
    assert by_id["T"].family is by_id["B"].family


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("head", '["SLEEPING","F",null,0.0,false,[],[]]'),
        ("head", '["PENDING","F",null,0.0,false,[]]'),
        ("head", "not json"),
        ("data", '{"a":1'),
        ("data", '"a"'),
        ("data", "[1]"),
        ("data", '[{"a":1},["x"]]'),
        ("data", '[{"a":1},[],null],[{},[],null]'),
        ("data", '[{"a":1},[],null'),
        ("data", '[{},[],{"colour":"red"}]'),
        ("data", '[{},"U",null]'),
        ("data", '[{},[],{"retry_policy":"none"}]'),
        ("data", None),
    ],
)
def test_a_bad_record_in_a_batch_is_named(column: str, value: object):
    core = rich_core()
    policy = core.config.retry_policy
    rows = [encode_task(task, policy) for task in core.tasks.values()]
    bad = TASK_COLUMNS.index(column)
    rows[2] = (*rows[2][:bad], value, *rows[2][bad + 1 :])
    with pytest.raises(RecordError, match=rf"task {rows[2][0]!r}"):
        TaskDecoder(policy).decode_rows(rows)


def test_a_params_object_is_kept_as_stored_and_decoded_when_read():
    """Start-up checks only the framing of a params object (decoding a million only to check them
    would cost a tenth of it); a text damaged inside fails when read, and cannot shift others."""
    core = rich_core()
    policy = core.config.retry_policy
    rows = [encode_task(task, policy) for task in core.tasks.values()]
    data = TASK_COLUMNS.index("data")
    rows[1] = (*rows[1][:data], '{"a":1},{"b":2}')
    tasks = TaskDecoder(policy).decode_rows(rows)
    assert tasks[1].params_json == '{"a":1},{"b":2}'
    with pytest.raises(ValueError):
        tasks[1].params  # noqa: B018
    assert [encode_task(t, policy) for i, t in enumerate(tasks) if i != 1] == [r for i, r in enumerate(rows) if i != 1]


def test_params_in_an_array_keep_their_text():
    core = Scheduler()
    core.add_task(task_id="T", worker="w", params={"s": "a],[b", "n": [1, {"x": "}"}]}, deps=["U"], now=1.0)
    row = encode_task(core.tasks["T"], core.config.retry_policy)
    task = TaskDecoder(core.config.retry_policy).decode(row)
    assert task.params_json == core.tasks["T"].params_json
    assert task.params == {"s": "a],[b", "n": [1, {"x": "}"}]} and task.deps == ("U",)


def test_rows_of_the_wrong_width_are_refused():
    core = rich_core()
    policy = core.config.retry_policy
    rows = [encode_task(task, policy) for task in core.tasks.values()]
    with pytest.raises(RecordError, match="unreadable record"):
        TaskDecoder(policy).decode_rows([row[:-1] for row in rows])
