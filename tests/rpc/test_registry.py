"""Method entries and argument binding: positional, __starstar keywords, type checks, messages."""

from __future__ import annotations

import enum
from typing import Any, Literal

import pytest

from tests.rpc.helpers import fault, request
from xrsched.rpc.dispatch import CallContext, Dispatcher
from xrsched.rpc.faults import INVALID_PARAMS, METHOD_NOT_FOUND, ArgumentError
from xrsched.rpc.registry import MethodEntry, make_entry


def add_task(
    task_id: str,
    status: str = "PENDING",
    deps: list[str] | None = None,
    resources: dict[str, int] | None = None,
    priority: float = 0,
    runnable: bool = True,
    **kwargs: Any,
) -> dict[str, Any]:
    """Register a task.

    Details nobody needs in help.
    """
    return {"task_id": task_id, "status": status, "deps": deps, "resources": resources,
            "priority": priority, "runnable": runnable, "kwargs": kwargs}  # fmt: skip


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


def strict(n: int, /, flag: bool, *, mode: Literal["a", "b"] = "a", kind: Mode = Mode.FAST) -> int:
    """No **kwargs here."""
    return n


def anything(a, b=1):  # deliberately unannotated
    return [a, b]


@pytest.fixture
def table() -> dict[str, MethodEntry]:
    return {name: make_entry(name, func) for name, func in (("add_task", add_task), ("strict", strict),
                                                              ("anything", anything))}  # fmt: skip


def invoke(table: dict[str, MethodEntry], name: str, *params: Any) -> Any:
    return table[name].invoke(params)


def error(table: dict[str, MethodEntry], name: str, *params: Any) -> str:
    with pytest.raises(ArgumentError) as info:
        invoke(table, name, *params)
    assert info.value.code == INVALID_PARAMS
    return info.value.message


def test_positional_in_documented_order(table):
    got = invoke(table, "add_task", "t1", "DONE", ["a", "b"], {"cpu": 2}, 5, False)
    assert got["deps"] == ["a", "b"]
    assert got["resources"] == {"cpu": 2}
    assert got["priority"] == 5.0 and type(got["priority"]) is float
    assert got["runnable"] is False


def test_starstar_keywords_and_passthrough(table):
    got = invoke(table, "add_task", "t1", {"__starstar": True, "priority": 2.5, "family": "F", "params": {}})
    assert got["priority"] == 2.5
    assert got["kwargs"] == {"family": "F", "params": {}}
    only_kw = invoke(table, "add_task", {"__starstar": True, "task_id": "t2", "status": "FAILED"})
    assert (only_kw["task_id"], only_kw["status"]) == ("t2", "FAILED")


def test_struct_without_starstar_is_a_positional_argument(table):
    got = invoke(table, "add_task", "t1", "PENDING", None, {"cpu": 1})
    assert got["resources"] == {"cpu": 1}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            ("t1", "PENDING", None, None, "high"),
            "add_task: parameter 'priority' expects a number, got string",
        ),
        ((1,), "add_task: parameter 'task_id' expects a string, got integer"),
        (
            ("t1", "PENDING", "a"),
            "add_task: parameter 'deps' expects an array of strings (or nil), got string",
        ),
        (("t1", "PENDING", ["a", 3]), "add_task: parameter 'deps' item [1] expects a string, got integer"),
        (
            ("t1", "P", None, {"cpu": "x"}),
            "add_task: parameter 'resources' member 'cpu' expects an integer, got string",
        ),
        (("t1", "P", None, None, 0, "yes"), "add_task: parameter 'runnable' expects a boolean, got string"),
        ((), "add_task: missing required parameter 'task_id'"),
        (({"__starstar": True, "status": "DONE"},), "add_task: missing required parameter 'task_id'"),
        (tuple(range(7)), "add_task: takes at most 6 positional arguments, got 7"),
        (
            ("t1", {"__starstar": True, "task_id": "t2"}),
            "add_task: parameter 'task_id' given both positionally",
        ),
    ],
)
def test_argument_errors_name_the_parameter(table, params, message):
    assert error(table, "add_task", *params).startswith(message)


def test_liberal_coercions(table):
    assert invoke(table, "add_task", "t", "P", None, None, 3)["priority"] == 3.0
    assert invoke(table, "add_task", "t", "P", None, None, 0, 1)["runnable"] is True
    assert invoke(table, "strict", 4.0, 0) == 4
    assert error(table, "strict", 4.5, True) == "strict: parameter 'n' expects an integer, got double"
    assert error(table, "strict", True, True).endswith("expects an integer, got boolean")
    assert error(table, "strict", 1, 2).endswith("expects a boolean, got integer")


def test_keyword_rules_without_var_keyword(table):
    assert invoke(table, "strict", 1, {"__starstar": True, "flag": True, "mode": "b", "kind": "slow"}) == 1
    assert error(table, "strict", 1, True, {"__starstar": True, "colour": 1}) == (
        "strict: unexpected keyword argument 'colour'"
    )
    assert error(table, "strict", {"__starstar": True, "n": 1, "flag": True}).startswith("strict: unexpected keyword")
    assert "one of 'a', 'b'" in error(table, "strict", 1, True, {"__starstar": True, "mode": "c"})
    assert "one of 'fast', 'slow'" in error(table, "strict", 1, True, {"__starstar": True, "kind": 1})


def test_unannotated_callables_accept_anything(table):
    assert invoke(table, "anything", {"x": [1]}) == [{"x": [1]}, 1]


def test_enum_hint_converts_to_member():
    seen = []

    def pick(kind: Mode) -> None:
        seen.append(kind)

    invoke({"pick": make_entry("pick", pick)}, "pick", "slow")
    assert seen == [Mode.SLOW]


@pytest.mark.parametrize("name", ["_private", "a.__class__", "", "1abc", "a..b", "a.b.", "with space", "a-b"])
def test_bad_public_names_cannot_be_registered(name):
    with pytest.raises(ValueError):
        make_entry(name, add_task)
    with pytest.raises(ValueError):
        Dispatcher().register_function(add_task, name)


def test_duplicate_registration_is_refused():
    dispatcher = Dispatcher()
    dispatcher.register_function(add_task, "add_task")
    with pytest.raises(ValueError, match="already"):
        dispatcher.register_function(add_task, "add_task")


def test_lookup_is_exact():
    dispatcher = Dispatcher()
    dispatcher.register_function(add_task, "add_task")
    for name in ("add_task.__globals__", "add_task.__code__", "ADD_TASK"):
        code, _ = fault(dispatcher.dispatch(request(name, "t1"), CallContext()))
        assert code == METHOD_NOT_FOUND, name


def test_help_and_signature(table):
    entry = table["add_task"]
    assert entry.help == "Register a task."
    assert entry.xmlrpc_signature() == [
        "struct",
        "string",
        "string",
        "array",
        "struct",
        "double",
        "boolean",
    ]
    assert table["strict"].xmlrpc_signature() == ["int", "int", "boolean"]
    assert table["anything"].xmlrpc_signature() == ["undef", "undef", "undef"]


def _request_id_seen(*args: Any, **kwargs: Any) -> dict[str, Any]:
    from xrsched.requestid import CURRENT_REQUEST_ID

    return {"id": CURRENT_REQUEST_ID.get(), "kwargs": kwargs}


def test_the_request_id_reaches_the_method_as_context_never_as_an_argument():
    entry = make_entry("seen", _request_id_seen)
    answer = entry.invoke(({"__starstar": True, "a": 1, "__request_id": "req-1.2:3"},))
    assert answer == {"id": "req-1.2:3", "kwargs": {"a": 1}}
    assert entry.invoke(({"__starstar": True, "a": 1},)) == {"id": None, "kwargs": {"a": 1}}
    assert entry.bind(({"__starstar": True, "__request_id": "r1"},)) == ([], {"__request_id": "r1"})


@pytest.mark.parametrize("bad", ["", "x" * 129, "sp ace", 7, "é"])
def test_a_malformed_request_id_is_refused(bad):
    entry = make_entry("add_task", add_task)
    with pytest.raises(ArgumentError, match="__request_id must be 1-128 characters"):
        entry.invoke(({"__starstar": True, "task_id": "t", "__request_id": bad},))
