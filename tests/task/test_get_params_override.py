"""A task class that overrides ``get_params()`` (adding, removing or reordering parameters) is
read through that override everywhere, as Luigi reads it: binding, task id, ``to_str_params``,
``param_visibilities``, batching and what a worker registers. Each shape is defined twice, once
on Luigi 3.8 and once on xrsched.task, and the two are compared."""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any

import pytest

import xrsched.task as xt
from xrsched.worker.registration import CompletenessChecker, registration_calls, walk

luigi = pytest.importorskip("luigi")
luigi_scheduler = pytest.importorskip("luigi.scheduler")
luigi_worker = pytest.importorskip("luigi.worker")
luigi_parameter = pytest.importorskip("luigi.parameter")


def shapes(m: ModuleType, hidden: Any) -> dict[str, type]:
    """The same four overriding classes built on task module ``m`` (luigi or xrsched.task)."""
    extra = m.IntParameter(default=7)
    shade = m.Parameter(default="s", visibility=hidden)
    added_hour = m.IntParameter(default=0, batch_method=max)

    class Declared(m.Task):  # what each override below starts from
        task_namespace = "getparams"
        a = m.IntParameter()
        b = m.Parameter(default="x")
        h = m.Parameter(default="hh", visibility=hidden)
        hour = m.IntParameter(default=1, batch_method=max)

        def complete(self):
            return False  # registered as pending, without Luigi's warning about outputs

    class Added(Declared):
        @classmethod
        def get_params(cls):
            return [*super().get_params(), ("extra", extra), ("shade", shade)]

    class Removed(Declared):
        @classmethod
        def get_params(cls):
            return [(name, p) for name, p in super().get_params() if name not in ("b", "h", "hour")]

    class Reordered(Declared):
        @classmethod
        def get_params(cls):
            return list(reversed(super().get_params()))

    class AddedBatch(m.Task):
        task_namespace = "getparams"
        region = m.Parameter()

        def complete(self):
            return False

        @classmethod
        def get_params(cls):
            return [*super().get_params(), ("added_hour", added_hour)]

    return {"Added": Added, "Removed": Removed, "Reordered": Reordered, "AddedBatch": AddedBatch}


LUIGI = shapes(luigi, luigi_parameter.ParameterVisibility.HIDDEN)
OURS = shapes(xt, xt.ParameterVisibility.HIDDEN)

#: (shape, positional args, keyword args) built on both sides.
CASES = [
    ("Added", (1,), {}),
    ("Added", (2, "y"), {"extra": 9, "shade": "t"}),
    ("Removed", (3,), {}),
    ("Reordered", (5, "g", "z", 4), {}),  # positional order is get_params()'s: hour, h, b, a
    ("Reordered", (), {"a": 6, "hour": 2}),
    ("AddedBatch", ("eu",), {"added_hour": 3}),
]


def both(shape: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, xt.Task]:
    return LUIGI[shape](*args, **kwargs), OURS[shape](*args, **kwargs)


@pytest.mark.parametrize(("shape", "args", "kwargs"), CASES)
def test_ids_and_serialized_parameters_follow_the_override_as_in_luigi(shape, args, kwargs):
    theirs, ours = both(shape, args, kwargs)
    assert ours.task_id == theirs.task_id
    assert list(ours.param_kwargs.items()) == list(theirs.param_kwargs.items())
    # Items, not dicts: the order is the override's too.
    assert list(ours.to_str_params().items()) == list(theirs.to_str_params().items())
    for flags in ({"only_significant": True}, {"only_public": True}, {"only_significant": True, "only_public": True}):
        assert list(ours.to_str_params(**flags).items()) == list(theirs.to_str_params(**flags).items())
    assert list(ours.param_visibilities().items()) == list(theirs._get_param_visibilities().items())
    assert type(ours).get_param_names(include_significant=True) == type(theirs).get_param_names(True)


@pytest.mark.parametrize("shape", sorted(OURS))
def test_batching_follows_the_override_as_in_luigi(shape):
    assert OURS[shape].batch_param_names() == LUIGI[shape].batch_param_names()
    theirs, ours = both(*next(case for case in CASES if case[0] == shape))
    assert ours.batchable is theirs.batchable


def test_the_overrides_change_what_is_named_and_batched():
    # Guards the comparisons above: each override changes something a declared-only reading misses.
    assert "extra" in OURS["Added"](1).to_str_params()
    assert "b" not in OURS["Removed"](1).to_str_params() and not OURS["Removed"](1).batchable
    assert list(OURS["Reordered"](a=1).param_visibilities()) == ["hour", "h", "b", "a"]
    assert OURS["AddedBatch"].batch_param_names() == ["added_hour"]


def test_a_removed_parameter_is_refused_as_in_luigi():
    for cls, errors in ((LUIGI["Removed"], luigi_parameter), (OURS["Removed"], xt)):
        with pytest.raises(errors.UnknownParameterException):
            cls(1, b="y")
        with pytest.raises(errors.MissingParameterException):
            cls()


@pytest.mark.parametrize(("shape", "args", "kwargs"), CASES)
def test_from_str_params_round_trips_through_the_override(shape, args, kwargs):
    theirs, ours = both(shape, args, kwargs)
    assert type(ours).from_str_params(ours.to_str_params()) is ours
    assert type(ours).from_str_params(theirs.to_str_params()).task_id == theirs.task_id


def luigi_registration(task: Any) -> tuple[dict[str, Any], list[str] | None]:
    """What Luigi's worker registers for ``task`` with Luigi's scheduler: the scheduler's record of
    it (params, visibilities, batchable) and the batched args it was told for the family."""
    sched = luigi_scheduler.Scheduler()
    with luigi_worker.Worker(scheduler=sched, worker_id="w1") as worker:
        assert worker.add(task)
    record = sched._state.get_task(task.task_id)
    fields = {"params": record.params, "param_visibilities": record.param_visibilities, "batchable": record.batchable}
    batched, _ = sched._state.get_batcher("w1", task.task_family)
    return fields, batched


def our_registration(task: xt.Task) -> tuple[dict[str, Any], list[str] | None]:
    """The same fields from the calls xrsched's worker sends for ``task``."""
    checker = CompletenessChecker(threads=1)
    try:
        calls = registration_calls(walk([task], checker), "w1")
    finally:
        checker.close()
    (add,) = [kwargs for method, kwargs in calls if method == "add_task"]
    batchers = [kwargs for method, kwargs in calls if method == "add_task_batcher"]
    fields = {
        "params": add["params"],
        # Left out when all are public (the scheduler's default); Luigi sends them all.
        "param_visibilities": add.get("param_visibilities", dict.fromkeys(add["params"], 0)),
        "batchable": add["batchable"],
    }
    return fields, batchers[0]["batched_args"] if batchers else None


@pytest.mark.parametrize(("shape", "args", "kwargs"), CASES)
def test_the_worker_registers_what_luigis_worker_registers(shape, args, kwargs):
    theirs, ours = both(shape, args, kwargs)
    (their_fields, their_batch), (our_fields, our_batch) = luigi_registration(theirs), our_registration(ours)
    assert {k: list(v.items()) if isinstance(v, dict) else v for k, v in our_fields.items()} == {
        k: list(v.items()) if isinstance(v, dict) else v for k, v in their_fields.items()
    }
    assert our_batch == their_batch


def built_before_and_after_a_change(m: ModuleType, hidden: Any) -> tuple[Any, Any]:
    """Two tasks of a class whose ``get_params()`` answer grows (b is added) between them."""
    wanted = ["a"]

    class Moving(m.Task):
        task_namespace = "getparams"
        a = m.IntParameter(default=1)
        b = m.Parameter(default="x", visibility=hidden)

        @classmethod
        def get_params(cls):
            return [(name, p) for name, p in super().get_params() if name in wanted]

    first = Moving()
    wanted.append("b")
    return first, Moving()


@pytest.mark.parametrize("side", ["luigi", "xrsched"])
def test_an_override_is_asked_again_each_time_as_luigi_asks_it(side):
    # Luigi calls get_params() whenever it needs the parameters: a task built after the answer
    # changed has the new set; one built before keeps the values it was built with.
    if side == "luigi":
        first, second = built_before_and_after_a_change(luigi, luigi_parameter.ParameterVisibility.HIDDEN)
        visibilities = first._get_param_visibilities(), second._get_param_visibilities()
    else:
        first, second = built_before_and_after_a_change(xt, xt.ParameterVisibility.HIDDEN)
        visibilities = first.param_visibilities(), second.param_visibilities()
    assert (first.to_str_params(), second.to_str_params()) == ({"a": "1"}, {"a": "1", "b": "x"})
    assert visibilities == ({"a": 0}, {"a": 0, "b": 1})
    assert first.task_id == second.task_id  # b is hidden: not in the id


def test_a_parameter_made_outside_a_class_body_is_named_and_its_default_read():
    # xrsched checks a declared default when the class is made and parses a string given to a
    # typed parameter; a parameter that only get_params() returns gets the same treatment.
    when = xt.DateParameter(default="2024-01-02")

    class Dated(xt.Task):
        task_namespace = "getparams"

        @classmethod
        def get_params(cls):
            return [("when", when)]

    assert Dated().when == dt.date(2024, 1, 2)
    assert Dated().to_str_params() == {"when": "2024-01-02"}
    with pytest.raises(xt.BadParameterValue, match=r"getparams\.Dated\.when: "):
        Dated(when="nope")
