"""Parsing methodCall values: every type and the liberal variants clients send."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from tests.rpc.helpers import call_xml, request
from xrsched.rpc.faults import INVALID_REQUEST, PARSE_ERROR, ProtocolError
from xrsched.rpc.parse import parse_call


def one(value_xml: str):
    method, params = parse_call(call_xml("echo", value_xml))
    assert method == "echo"
    assert len(params) == 1
    return params[0]


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<value><int>42</int></value>", 42),
        ("<value><i4>-7</i4></value>", -7),
        ("<value><i4>4294967296</i4></value>", 2**32),
        ("<value><i8>-9223372036854775808</i8></value>", -(2**63)),
        ("<value><int> +5 </int></value>", 5),
        ("<value><ex:i8 xmlns:ex='http://ws.apache.org/xmlrpc/namespaces/extensions'>9</ex:i8></value>", 9),
        ("<value><boolean>1</boolean></value>", True),
        ("<value><boolean>0</boolean></value>", False),
        ("<value><boolean>true</boolean></value>", True),
        ("<value><boolean> False </boolean></value>", False),
        ("<value><string> spaced </string></value>", " spaced "),
        ("<value><string/></value>", ""),
        ("<value>untagged text</value>", "untagged text"),
        ("<value></value>", ""),
        ("<value><string>&lt;&amp;&gt; caf\u00e9 \u2603</string></value>", "<&> caf\u00e9 \u2603"),
        ("<value><double>3.5</double></value>", 3.5),
        ("<value><double>-1e3</double></value>", -1000.0),
        ("<value><double>.5</double></value>", 0.5),
        ("<value><base64>aGVs\n bG8=</base64></value>", b"hello"),
        ("<value><base64/></value>", b""),
        ("<value><nil/></value>", None),
        ("<value><ex:nil xmlns:ex='http://ws.apache.org/xmlrpc/namespaces/extensions'/></value>", None),
        ("<value><ex:nil/></value>", None),
        ("<value><array><data/></array></value>", []),
        (
            "<value><array><data><value><int>1</int></value><value>a</value>"
            "<value><array><data><value><boolean>1</boolean></value></data></array></value></data></array></value>",
            [1, "a", [True]],
        ),
        ("<value><array><value><int>1</int></value></array></value>", [1]),
        (
            "<value><struct><member><name>a</name><value><int>1</int></value></member>"
            "<member><name>b</name><value><struct/></value></member>"
            "<member><value>v</value><name>c</name></member></struct></value>",
            {"a": 1, "b": {}, "c": "v"},
        ),
        ("<value>\n  <int>3</int>\n</value>", 3),
    ],
)
def test_values(xml, expected):
    got = one(xml)
    assert got == expected
    assert type(got) is type(expected)


EPOCH_1998 = datetime(1998, 7, 17, 14, 8, 55, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19980717T14:08:55", EPOCH_1998),
        ("19980717T140855", EPOCH_1998),
        ("1998-07-17T14:08:55", EPOCH_1998),
        ("1998-07-17T14:08:55Z", EPOCH_1998),
        ("1998-07-17T16:08:55+02:00", EPOCH_1998),
        ("1998-07-17T09:08:55-0500", EPOCH_1998),
        ("19980717T14:08:55.25Z", EPOCH_1998 + 0.25),
    ],
)
def test_datetime_variants_become_epoch_floats(text, expected):
    got = one(f"<value><dateTime.iso8601>{text}</dateTime.iso8601></value>")
    assert type(got) is float
    assert math.isclose(got, expected)


def test_stdlib_client_requests_parse():
    method, params = parse_call(request("add_task", "t1", {"a": [1, 2.5, None]}, True, b"\x00\x01"))
    assert method == "add_task"
    assert params == ("t1", {"a": [1, 2.5, None]}, True, b"\x00\x01")


def test_no_params_element():
    assert parse_call(b"<methodCall><methodName> ping </methodName></methodCall>") == ("ping", ())


@pytest.mark.parametrize(
    "xml",
    [
        "<value><int>1.5</int></value>",
        "<value><int></int></value>",
        "<value><int>\u0661\u0662</int></value>",
        "<value><int>1_000</int></value>",
        "<value><boolean>yes</boolean></value>",
        "<value><double>nan</double></value>",
        "<value><double>inf</double></value>",
        "<value><double>1e999</double></value>",
        "<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>",
        "<value><dateTime.iso8601>19981317T14:08:55</dateTime.iso8601></value>",
        "<value><base64>@@@</base64></value>",
        "<value><int>1</int><int>2</int></value>",
        "<value><struct><member><name>a</name></member></struct></value>",
        "<value><struct><member><value>1</value></member></struct></value>",
        "<value><unknown>1</unknown></value>",
        "<value><int><int>1</int></int></value>",
    ],
)
def test_malformed_values_are_invalid_requests(xml):
    with pytest.raises(ProtocolError) as info:
        one(xml)
    assert info.value.code == INVALID_REQUEST


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<methodCall><methodName>x</methodName>",
        b"<methodCall><methodName>x</methodName></methodcall>",
        b"\xff\xfe garbage",
    ],
)
def test_not_well_formed_is_parse_error(body):
    with pytest.raises(ProtocolError) as info:
        parse_call(body)
    assert info.value.code == PARSE_ERROR
    assert "line" not in info.value.message
    assert "column" not in info.value.message
    assert "SAX" not in info.value.message


@pytest.mark.parametrize(
    "body",
    [
        b"<methodResponse><params/></methodResponse>",
        b"<methodCall><params/></methodCall>",
        b"<methodCall><methodName></methodName></methodCall>",
        b"<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>",
        b"<methodCall><methodName>a</methodName><params/><params/></methodCall>",
        b"<methodCall><methodName>a</methodName><params><param/></params></methodCall>",
        b"<methodCall><methodName>a<b/></methodName></methodCall>",
    ],
)
def test_wrong_shape_is_invalid_request(body):
    with pytest.raises(ProtocolError) as info:
        parse_call(body)
    assert info.value.code == INVALID_REQUEST
