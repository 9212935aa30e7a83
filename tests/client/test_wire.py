"""Request documents out, response documents in: bytes only, no sockets."""

from __future__ import annotations

import gzip
import math
import pickle
import xmlrpc.client
import zlib

import pytest

from xrsched.client.answers import inflate, parse_retry_after
from xrsched.client.errors import (
    AuthenticationFailed,
    BadRequest,
    EncodeError,
    Forbidden,
    MalformedResponse,
    NoSuchMethod,
    RateLimited,
    ResponseTooLarge,
    SchedulerFault,
    TransportError,
    Unavailable,
)
from xrsched.client.wire import decode_response, encode_call, keyword_struct
from xrsched.rpc.marshal import dump_fault, dump_response
from xrsched.rpc.parse import parse_call


def test_keyword_struct_leaves_out_none_and_carries_the_request_id():
    struct = keyword_struct({"worker": "w1", "host": None, "assistant": False}, "abc")
    assert struct == {"__starstar": True, "worker": "w1", "assistant": False, "__request_id": "abc"}


def test_encoded_call_is_what_the_server_parses():
    params = [keyword_struct({"task_id": "T<&>", "priority": 2**40, "deps": ["a", "b"]}, "r1")]
    method, parsed = parse_call(encode_call("add_task", params))
    assert method == "add_task"
    assert parsed == ({"__starstar": True, "task_id": "T<&>", "priority": 2**40, "deps": ["a", "b"],
                       "__request_id": "r1"},)  # fmt: skip


@pytest.mark.parametrize("bad", [[None], math.nan, 2**70, {1: "x"}])
def test_unsendable_values_raise_encode_error(bad):
    with pytest.raises(EncodeError):
        encode_call("add_task", [keyword_struct({"deps": bad}, None)])


def test_values_round_trip_from_the_server_writer():
    value = {"a": [1, 2**40, 1.5, True, "x\r\ny", b"\x00\xff"], "b": {"c": {}}, "skipped": None}
    assert decode_response(dump_response(value)) == {
        "a": [1, 2**40, 1.5, True, "x\r\ny", b"\x00\xff"],
        "b": {"c": {}},
    }


def test_responses_from_other_servers_read_fine():
    # CPython's marshaller with allow_none: <nil/>, untagged strings are also accepted.
    body = xmlrpc.client.dumps(({"x": None, "y": [1, "s"]},), methodresponse=True, allow_none=True).encode()
    assert decode_response(body) == {"x": None, "y": [1, "s"]}
    body = b"<methodResponse><params><param><value>plain</value></param></params></methodResponse>"
    assert decode_response(body) == "plain"
    ex_nil = (
        b'<methodResponse xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">'
        b"<params><param><value><ex:nil/></value></param></params></methodResponse>"
    )
    assert decode_response(ex_nil) is None


@pytest.mark.parametrize(
    ("code", "kind"),
    [(-32700, BadRequest), (-32602, BadRequest), (-32601, NoSuchMethod), (400, BadRequest),
     (403, Forbidden), (429, RateLimited), (503, Unavailable), (12345, SchedulerFault)],
)  # fmt: skip
def test_faults_become_typed_exceptions_with_the_fault_string(code, kind):
    fault = decode_response(dump_fault(code, "why it failed"))
    assert type(fault) is kind
    assert fault.code == code
    assert fault.message == "why it failed"
    assert fault.retryable == (code in (429, 503))


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<methodCall><methodName>x</methodName></methodCall>",
        b"<methodResponse/>",
        b"<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
        b"<methodResponse><params><param><value>1</value><value>2</value></param></params></methodResponse>",
        b"<methodResponse><fault><value><string>no struct</string></value></fault></methodResponse>",
        b"<methodResponse><params><param><value><struct><member><value>1</value></member></struct>"
        b"</value></param></params></methodResponse>",
    ],
)
def test_malformed_responses_are_refused(body):
    with pytest.raises(MalformedResponse):
        decode_response(body)


def test_entities_and_dtds_are_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b"<methodResponse><params><param><value>&b;</value></param></params></methodResponse>"
    )
    with pytest.raises(MalformedResponse, match="not allowed"):
        decode_response(bomb)
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<methodResponse><params><param><value>&x;</value></param></params></methodResponse>"
    )
    with pytest.raises(MalformedResponse):
        decode_response(xxe)


def test_deep_nesting_is_refused_without_recursion():
    depth = 100_000
    body = (
        b"<methodResponse><params><param><value>"
        + b"<array><data><value>" * depth
        + b"</value></data></array>" * depth
        + b"</value></param></params></methodResponse>"
    )
    with pytest.raises(MalformedResponse, match="nested deeper"):
        decode_response(body, max_depth=64)


def test_inflate_caps_the_output():
    assert inflate(gzip.compress(b"x" * 1000), "gzip", 1000) == b"x" * 1000
    assert inflate(zlib.compress(b"y" * 10), "deflate", 10) == b"y" * 10
    with pytest.raises(ResponseTooLarge):
        inflate(gzip.compress(b"\0" * 10_000_000), "gzip", 1_000_000)
    with pytest.raises(MalformedResponse):
        inflate(gzip.compress(b"x" * 1000)[:-30], "gzip", 10_000)
    with pytest.raises(MalformedResponse):
        inflate(b"x", "br", 10)


def test_retry_after_as_seconds_or_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_client_exceptions_survive_pickling():
    for exc in (
        Forbidden(403, "no"),
        Unavailable(503, "later"),
        ResponseTooLarge("big"),
        TransportError("down", retryable=True, status=502),
        AuthenticationFailed("HTTP 401"),
        EncodeError("nan"),
    ):
        copy = pickle.loads(pickle.dumps(exc))
        assert type(copy) is type(exc) and str(copy) == str(exc) and copy.retryable == exc.retryable
    assert pickle.loads(pickle.dumps(TransportError("x", status=502))).status == 502
