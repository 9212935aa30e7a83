"""Dispatcher: bytes in, bytes out; faults, authorize/audit hooks, multicall, introspection."""

from __future__ import annotations

import logging
import re

import pytest

from tests.rpc.conftest import register
from tests.rpc.helpers import answer, call_xml, fault, request
from xrsched.rpc.dispatch import CallContext, Dispatcher
from xrsched.rpc.faults import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, fault_for
from xrsched.rpc.limits import RequestLimits

CTX = CallContext(peer=("127.0.0.1", 5555), identity="worker-token", request_id="r1")


def test_plain_call_and_audit(dispatcher, service, audit_log):
    assert answer(dispatcher.dispatch(request("add_task", "t1", "PENDING", ["a"]), CTX)) is True
    assert service.calls[0][1]["deps"] == ["a"]
    assert answer(dispatcher.dispatch(request("ping", "w1"), CTX)) == {"rpc_messages": [], "worker": "w1"}
    assert audit_log == [("add_task", "ok"), ("ping", "ok")]


def test_starstar_through_the_wire(dispatcher, service):
    body = request("add_task", "t1", {"__starstar": True, "priority": 7, "family": "Fam"})
    dispatcher.dispatch(body, CTX)
    assert service.calls[0][1]["priority"] == 7.0
    assert service.calls[0][1]["family"] == "Fam"


def test_liberal_wire_values(dispatcher, service):
    body = call_xml(
        "add_task",
        "<value>t1</value>",
        "<value><string>DONE</string></value>",
        "<value><ex:nil xmlns:ex='http://ws.apache.org/xmlrpc/namespaces/extensions'/></value>",
        "<value><struct><member><name>cpu</name><value><i4>4294967296</i4></value></member></struct></value>",
        "<value><int>3</int></value>",
        "<value><boolean>false</boolean></value>",
    )
    assert answer(dispatcher.dispatch(body, CTX)) is True
    args = service.calls[0][1]
    assert args["resources"] == {"cpu": 2**32}
    assert args["priority"] == 3.0
    assert args["runnable"] is False


def test_scheduler_errors_keep_code_and_message(dispatcher, audit_log):
    code, text = fault(dispatcher.dispatch(request("fetch_error", "nope"), CTX))
    assert (code, text) == (404, "task_id: no task 'nope' is known to the scheduler")
    assert audit_log == [("fetch_error", 404)]


def test_forbidden_from_authorize(dispatcher, service, audit_log):
    code, _ = fault(dispatcher.dispatch(request("add_task", "t1"), CallContext(identity="viewer")))
    assert code == 403
    assert service.calls == []
    assert audit_log == [("add_task", 403)]


def test_argument_errors_are_32602(dispatcher):
    code, text = fault(dispatcher.dispatch(request("add_task", "t1", "PENDING", None, None, "high"), CTX))
    assert code == INVALID_PARAMS
    assert text == "add_task: parameter 'priority' expects a number, got string"


def test_unexpected_exceptions_become_incidents(dispatcher, caplog, audit_log):
    with caplog.at_level(logging.ERROR, logger="xrsched.server"):
        code, text = fault(dispatcher.dispatch(request("explode"), CTX))
    assert code == INTERNAL_ERROR
    match = re.fullmatch(r"internal error; incident ([0-9a-f]{8})", text)
    assert match
    assert "hunter2" not in text and "RuntimeError" not in text
    record = next(r for r in caplog.records if r.name == "xrsched.server")
    assert match.group(1) in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert audit_log == [("explode", INTERNAL_ERROR)]


def test_unsendable_result_is_an_incident(dispatcher, caplog):
    assert answer(dispatcher.dispatch(call_xml("echo", "<value><i8>4611686018427387904</i8></value>"), CTX)) == 2**62
    with caplog.at_level(logging.ERROR, logger="xrsched.server"):
        code, text = fault(dispatcher.dispatch(request("echo", [1, None]), CTX))
    assert code == INTERNAL_ERROR
    assert text.startswith("internal error; incident ")
    assert any(r.exc_info for r in caplog.records)


def test_parse_errors_are_faults_not_exceptions(dispatcher, audit_log):
    assert fault(dispatcher.dispatch(b"<methodCall>", CTX))[0] == PARSE_ERROR
    assert fault(dispatcher.dispatch(b"\x00\x01\x02", CTX))[0] == PARSE_ERROR
    assert fault(dispatcher.dispatch(b"<methodResponse/>", CTX))[0] == INVALID_REQUEST
    assert [outcome for _, outcome in audit_log] == [PARSE_ERROR, PARSE_ERROR, INVALID_REQUEST]
    assert {method for method, _ in audit_log} == {"(invalid)"}


def test_oversized_body_is_refused(service):
    small = register(Dispatcher(RequestLimits(max_decompressed_bytes=50)), service)
    assert fault(small.dispatch(request("ping", "w" * 100), CTX))[0] == INVALID_REQUEST


def test_multicall_results_and_per_entry_hooks(service):
    authorized: list[str] = []
    audited: list[tuple[str, str | int]] = []

    def authorize(ctx, method):
        authorized.append(method)
        if method == "add_task":
            from xrsched.core.errors import Forbidden

            raise Forbidden("no")

    dispatcher = register(Dispatcher(authorize=authorize, audit=lambda c, m, o, d: audited.append((m, o))), service)
    calls = [
        {"methodName": "ping", "params": ["w1"]},
        {"methodName": "add_task", "params": ["t1"]},
        {"methodName": "nope", "params": []},
        {"methodName": "fetch_error", "params": ["x"]},
        {"methodName": "ping"},
        "not a struct",
        {"methodName": "system.listMethods"},
    ]
    results = answer(dispatcher.dispatch(request("system.multicall", calls), CTX))
    assert results[0] == [{"rpc_messages": [], "worker": "w1"}]
    assert results[1]["faultCode"] == 403
    assert results[2]["faultCode"] == METHOD_NOT_FOUND
    assert results[3]["faultCode"] == 404
    assert results[4]["faultCode"] == INVALID_PARAMS
    assert results[5]["faultCode"] == INVALID_REQUEST
    assert "system.multicall" in results[6][0]
    assert service.calls == []
    assert authorized == ["system.multicall", "ping", "add_task", "fetch_error", "ping", "system.listMethods"]
    assert audited == [
        ("ping", "ok"),
        ("add_task", 403),
        ("nope", METHOD_NOT_FOUND),
        ("fetch_error", 404),
        ("ping", INVALID_PARAMS),
        ("(invalid)", INVALID_REQUEST),
        ("system.listMethods", "ok"),
        ("system.multicall", "ok"),
    ]


def test_multicall_wrong_argument_shape(dispatcher):
    assert fault(dispatcher.dispatch(request("system.multicall", "x"), CTX))[0] == INVALID_PARAMS
    assert fault(dispatcher.dispatch(request("system.multicall"), CTX))[0] == INVALID_PARAMS


def test_multicall_entry_with_unsendable_result_does_not_spoil_others(dispatcher):
    # The second entry echoes [nil]: a None inside an array, which is never sent.
    body = call_xml(
        "system.multicall",
        "<value><array><data>"
        "<value><struct><member><name>methodName</name><value>echo</value></member>"
        "<member><name>params</name><value><array><data><value><int>1</int></value></data></array></value>"
        "</member></struct></value>"
        "<value><struct><member><name>methodName</name><value>echo</value></member>"
        "<member><name>params</name><value><array><data><value><array><data><value><nil/></value>"
        "</data></array></value></data></array></value></member></struct></value>"
        "</data></array></value>",
    )
    results = answer(dispatcher.dispatch(body, CTX))
    assert results[0] == [1]
    assert results[1]["faultCode"] == INTERNAL_ERROR


def test_introspection(dispatcher):
    names = answer(dispatcher.dispatch(request("system.listMethods"), CTX))
    assert {"add_task", "ping", "system.multicall", "system.methodHelp", "system.getCapabilities"} <= set(names)
    assert names == sorted(names)
    assert answer(dispatcher.dispatch(request("system.methodHelp", "add_task"), CTX)) == "Register or update a task."
    sig = answer(dispatcher.dispatch(request("system.methodSignature", "ping"), CTX))
    assert sig == [["struct", "string"]]
    add_sig = answer(dispatcher.dispatch(request("system.methodSignature", "add_task"), CTX))
    assert add_sig == [["boolean", "string", "string", "array", "struct", "double", "boolean"]]
    assert answer(dispatcher.dispatch(request("system.methodSignature", "system.methodHelp"), CTX)) == [
        ["string", "string"]
    ]
    caps = answer(dispatcher.dispatch(request("system.getCapabilities"), CTX))
    assert caps["faults_interop"]["specVersion"] == 20010516
    assert {"introspection", "multicall"} <= set(caps)
    code, _ = fault(dispatcher.dispatch(request("system.methodHelp", "_nope"), CTX))
    assert code == METHOD_NOT_FOUND


def test_system_names_are_reserved():
    dispatcher = Dispatcher()
    with pytest.raises(ValueError, match="already registered"):
        dispatcher.register_function(lambda: [], "system.listMethods")
    with pytest.raises(ValueError, match="not a valid public method name"):
        dispatcher.register_function(lambda: [], "_private")


def test_register_instance_is_refused(service):
    # The stdlib would expose every public attribute of the instance (and, with dotted
    # names, its globals); we register an explicit list instead.
    with pytest.raises(TypeError, match="register_function"):
        Dispatcher().register_instance(service)


def test_register_function_works_as_a_decorator():
    dispatcher = Dispatcher()

    @dispatcher.register_function(name="twice")
    def twice(n: int) -> int:
        """Double n."""
        return 2 * n

    assert answer(dispatcher.dispatch(request("twice", 21), CTX)) == 42
    assert fault(dispatcher.dispatch(request("twice", "x"), CTX))[0] == INVALID_PARAMS


def test_broken_audit_hook_does_not_change_the_answer(service, caplog):
    def audit(ctx, method, outcome, duration):
        raise OSError("disk full")

    dispatcher = register(Dispatcher(audit=audit), service)
    with caplog.at_level(logging.ERROR, logger="xrsched.server"):
        assert answer(dispatcher.dispatch(request("ping", "w"), CTX))["worker"] == "w"
    assert any("audit" in r.getMessage() for r in caplog.records)


def test_fault_for_mapping():
    from xrsched.core.errors import Conflict
    from xrsched.rpc.faults import ArgumentError, ProtocolError

    assert fault_for(Conflict("busy"), method="m") == (409, "busy")
    assert fault_for(ProtocolError(PARSE_ERROR, "bad"), method="m") == (PARSE_ERROR, "bad")
    assert fault_for(ArgumentError("m: parameter 'x'"), method="m") == (INVALID_PARAMS, "m: parameter 'x'")
    code, text = fault_for(KeyError("secret"), method="m\nforged log line")
    assert code == INTERNAL_ERROR and "secret" not in text
