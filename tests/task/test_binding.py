"""Binding constructor arguments through the class's plan (the fast path every task built takes):
the same values, ids and errors as the declared behaviour, and the user's overrides still win."""

from __future__ import annotations

import threading

import pytest

import xrsched.task as xt
from xrsched.task.ids import task_id_str


class Pair(xt.Task):
    task_namespace = "bindtest"

    a = xt.IntParameter()
    b = xt.StrParameter(default="x")
    hidden = xt.IntParameter(default=0, visibility=xt.ParameterVisibility.HIDDEN)
    secret = xt.Parameter(default="s", visibility=xt.ParameterVisibility.PRIVATE)
    quiet = xt.Parameter(default="", significant=False)


def test_task_id_is_made_of_the_significant_public_parameters_only():
    task = Pair(1, b="y", hidden=5, secret="p", quiet="q")
    assert task.task_id == task_id_str("bindtest.Pair", {"a": "1", "b": "y"})
    assert task.task_id == task_id_str(task.task_family, task.to_str_params(only_significant=True, only_public=True))


def test_errors_come_in_the_order_the_arguments_are_read():
    # An unknown keyword met before a duplicated one is the error reported, and the other way round.
    with pytest.raises(xt.UnknownParameter, match="'zz'"):
        Pair(1, zz=1, a=2)
    with pytest.raises(xt.DuplicateParameter, match="'a' given twice"):
        Pair(1, a=2, zz=1)
    # A missing parameter is reported before a bad value of another one.
    with pytest.raises(xt.MissingParameter, match="missing parameter\\(s\\): a"):
        Pair(b=3)
    with pytest.raises(xt.BadParameterValue, match=r"bindtest\.Pair\.b: expected str, got int"):
        Pair(1, b=3)
    with pytest.raises(xt.BadParameterValue, match=r"bindtest\.Pair\.a: expected int, got bool"):
        Pair(True)


def test_an_init_that_changes_its_arguments_gets_them_bound_again():
    class Shifted(xt.Task):
        n = xt.IntParameter()

        def __init__(self, *args, **kwargs):
            kwargs["n"] = kwargs["n"] + 100
            super().__init__(*args, **kwargs)

    task = Shifted(n=1)
    assert task.n == 101 and task.param_kwargs == {"n": 101}
    assert task.task_id == task_id_str(task.task_family, {"n": "101"})
    assert Shifted(n=1) is task  # cached under the arguments the caller gave


def test_an_init_that_builds_other_tasks_first_keeps_its_own_values():
    class Inner(xt.Task):
        n = xt.IntParameter()

    class Outer(xt.Task):
        n = xt.IntParameter()

        def __init__(self, *args, **kwargs):
            self.inner = Inner(n=kwargs["n"] + 1)
            super().__init__(*args, **kwargs)

    outer = Outer(n=1)
    assert (outer.n, outer.inner.n) == (1, 2)


def test_overridden_get_param_values_and_to_str_params_are_used():
    class Doubled(xt.Task):
        n = xt.IntParameter()

        @classmethod
        def get_param_values(cls, params, args, kwargs):
            return [(name, value * 2) for name, value in super().get_param_values(params, args, kwargs)]

        def to_str_params(self, only_significant=False, only_public=False):
            return {name: f"<{value}>" for name, value in super().to_str_params(only_significant, only_public).items()}

    task = Doubled(n=4)
    assert task.n == 8
    assert task.task_id == task_id_str(task.task_family, {"n": "<8>"})
    assert Doubled(n=4) is task


def test_a_parameter_added_later_is_bound_and_named():
    class Grows(xt.Task):
        n = xt.IntParameter()

    before = Grows(n=1)
    Grows.m = xt.IntParameter(default=7)
    after = Grows(n=1)
    assert after is not before and after.m == 7
    assert after.task_id == task_id_str(after.task_family, {"m": "7", "n": "1"})


def test_threads_building_tasks_at_once_get_their_own_values():
    class Counted(xt.Task):
        n = xt.IntParameter()

        def __init__(self, *args, **kwargs):
            threading.Event().wait(0.0001)  # let the other thread build one meanwhile
            super().__init__(*args, **kwargs)

    wrong: list[int] = []

    def build(start: int) -> None:
        for n in range(start, start + 2000, 2):
            if Counted(n=n).n != n:
                wrong.append(n)

    threads = [threading.Thread(target=build, args=(start,)) for start in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_a_class_with_its_own_new_is_built_through_it():
    made: list[int] = []

    class Counted(xt.Task):
        n = xt.IntParameter()

        def __new__(cls, *args, **kwargs):
            made.append(kwargs["n"])
            return super().__new__(cls)

    task = Counted(n=3)
    assert made == [3] and task.n == 3 and task.param_kwargs == {"n": 3}
    assert task.task_id == task_id_str(task.task_family, {"n": "3"})
