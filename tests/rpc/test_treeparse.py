"""The C-parsed fast path agrees with the streaming parser on every document, or stands aside."""

from __future__ import annotations

import xmlrpc.client

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rpc.helpers import call_xml
from xrsched.client.errors import MalformedResponse, SchedulerFault
from xrsched.client.wire import decode_response, encode_call, keyword_struct, stream_response
from xrsched.rpc.faults import ProtocolError
from xrsched.rpc.limits import RequestLimits
from xrsched.rpc.marshal import dump_response
from xrsched.rpc.parse import parse_call, stream_call
from xrsched.rpc.treeparse import TREE_LIMIT, is_plain, parse_call_tree, parse_response_tree
from xrsched.rpc.values import SCALARS

LIMITS = RequestLimits()
_keys = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xD7FF), max_size=8)
_scalars = (
    st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0xD7FF))
    | st.binary(max_size=20)
)
_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=25,
)


def _stream_outcome(body: bytes) -> object:
    try:
        return stream_call(body, LIMITS)
    except ProtocolError as exc:
        return ("fault", exc.code, exc.message)


def assert_agrees(body: bytes) -> None:
    """The fast path gives the streaming parser's answer, or None (and parse_call then matches it)."""
    fast = parse_call_tree(body, LIMITS.max_depth)
    slow = _stream_outcome(body)
    if fast is not None:
        assert fast == slow
    try:
        combined: object = parse_call(body, LIMITS)
    except ProtocolError as exc:
        combined = ("fault", exc.code, exc.message)
    assert combined == slow


def _normalized(value: object) -> object:
    """What a value reads back as (bytes come back as bytes; tuples are lists)."""
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalized(v) for v in value]
    return value


@settings(max_examples=200, deadline=None)
@given(st.lists(_values, max_size=3))
def test_worker_bodies_take_the_fast_path_with_the_same_values(params):
    body = encode_call("echo", params)
    fast = parse_call_tree(body, LIMITS.max_depth)
    assert fast is not None, "a plain body written by our own client must not need the streaming parser"
    assert fast == stream_call(body, LIMITS)
    assert _normalized(list(fast[1])) == _normalized(params)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**31), 2**31 - 1) | st.text(max_size=10) | st.lists(st.booleans(), max_size=3)))
def test_stdlib_client_bodies_agree(params):
    assert_agrees(xmlrpc.client.dumps(tuple(params), "echo").encode())


_EDITS = ["<value>", "</value>", "<struct>", "</struct>", "<member>", "<name>x</name>", "<array>", "<data>",
          "</data>", "<int>", "</int>", "<ex:nil/>", "<param>", "</param>", "<methodName>y</methodName>",
          "<params>", "text", "&amp;", "<string>s</string>", "<i4>7</i4>", "<bogus/>"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(_values, min_size=1, max_size=2),
    st.lists(st.tuples(st.floats(0, 1), st.sampled_from(_EDITS), st.booleans()), min_size=1, max_size=3),
)
def test_mangled_documents_agree(params, edits):
    """Insert or delete tags at random places: both paths give one answer, whatever the document."""
    text = encode_call("echo", params).decode()
    for where, tag, insert in edits:
        at = int(where * len(text))
        if insert:
            text = text[:at] + tag + text[at:]
        else:
            found = text.find(tag, at)
            if found >= 0:
                text = text[:found] + text[found + len(tag) :]
    assert_agrees(text.encode())


@pytest.mark.parametrize(
    "body",
    [
        call_xml("echo", "<value><struct><member><value>v</value><name>c</name></member></struct></value>"),
        call_xml("echo", "<value><ex:nil/></value>"),
        call_xml("echo", "<value><int>1</int><int>2</int></value>"),
        call_xml("echo", "<value><int>1.5</int></value>"),
        call_xml("echo", "<value><array><value><int>1</int></value><data><value>2</value></data></array></value>"),
        call_xml("echo", "<value>" + "<array><data><value>" * 70 + "1" + "</value></data></array>" * 70 + "</value>"),
        call_xml("echo", "<value>" + "<array><data><value>" * 64 + "1" + "</value></data></array>" * 64 + "</value>"),
        b"<methodCall><methodName> ping </methodName></methodCall>",
        b"<methodCall><methodName></methodName></methodCall>",
        b"<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>",
        b"<methodCall><methodName>a</methodName><params><param/></params></methodCall>",
        b"<x:methodCall xmlns:x='urn:x'><x:methodName>a</x:methodName></x:methodCall>",
        b"<methodCall xmlns='urn:d'><methodName>a</methodName><params><param><value>1</value></param></params>"
        b"</methodCall>",
        b"<methodCall><methodName>a</methodName><params><param><value>&#65;&lt;</value></param></params></methodCall>",
        b"<methodCall><methodName>a</methodName><params><param><value>&undefined;</value></param></params>"
        b"</methodCall>",
        b"<methodCall><methodName>a</methodName>",
        b"",
    ],
)
def test_edge_documents_agree(body):
    assert_agrees(body)


@pytest.mark.parametrize(
    ("body", "plain"),
    [
        (b"<methodCall/>", True),
        (b'<?xml version="1.0" encoding="UTF-8"?><methodCall/>', True),
        (b"<?xml version='1.0' encoding='iso-8859-1'?><methodCall/>", True),
        (b'<?xml version="1.0" encoding="windows-1252"?><methodCall/>', False),
        (b'<?xml version="1.0" encoding="cp037"?><methodCall/>', False),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><methodCall/>', False),
        (b"<methodCall><!-- a comment --></methodCall>", False),
        (b"<methodCall><![CDATA[x]]></methodCall>", False),
        # "!" alone is text; "<!" anywhere, even after a lone "!", is a declaration's start.
        (b"<methodCall><methodName>ping!</methodName></methodCall>", True),
        (b"<methodCall><methodName>a!</methodName><!-- b! --></methodCall>", False),
        (b"<methodCall><methodName>a!!<</methodName>!</methodCall><!", False),
        ("<methodCall/>".encode("utf-16"), False),
        (b"<methodCall>" + b" " * TREE_LIMIT + b"</methodCall>", False),
    ],
)
def test_only_plain_bodies_are_taken(body, plain):
    assert is_plain(body) is plain


def test_a_dtd_never_reaches_the_tree_parser():
    body = b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY e "x">]><methodCall><methodName>&e;</methodName></methodCall>'
    assert parse_call_tree(body, 64) is None
    with pytest.raises(ProtocolError) as info:
        parse_call(body)
    assert "DTD" in info.value.message


def test_latin1_bodies_decode_alike():
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>e</methodName><params><param>' \
        "<value>caf\u00e9</value></param></params></methodCall>".encode("latin-1")  # fmt: skip
    assert parse_call_tree(body, 64) == ("e", ("caf\u00e9",))
    assert_agrees(body)


# ------------------------------------------------------------------------------ responses


def _response_outcome(decode, body: bytes) -> object:
    try:
        value = decode(body)
    except MalformedResponse as exc:
        return ("malformed", str(exc))
    if isinstance(value, SchedulerFault):
        return ("fault", value.code, str(value))
    return value


@settings(max_examples=200, deadline=None)
@given(_values)
def test_server_responses_take_the_fast_path(value):
    body = dump_response(value)
    assert parse_response_tree(body, 100) is not None
    assert _response_outcome(decode_response, body) == _response_outcome(stream_response, body)


@pytest.mark.parametrize(
    "body",
    [
        xmlrpc.client.dumps(xmlrpc.client.Fault(404, "no such task"), methodresponse=True).encode(),
        xmlrpc.client.dumps(({"a": [1, 2]},), methodresponse=True).encode(),
        b"<methodResponse><params/></methodResponse>",
        b"<methodResponse><params><param><value>1</value></param><param><value>2</value></param></params>"
        b"</methodResponse>",
        b"<methodResponse><fault><value><struct/></value></fault></methodResponse>",
        b"<methodResponse><params><param><value>1</value></param></params><fault/></methodResponse>",
        b"<methodCall/>",
    ],
)
def test_edge_responses_agree(body):
    fast = parse_response_tree(body, 100)
    slow = _response_outcome(stream_response, body)
    if fast is not None:
        assert _response_outcome(decode_response, body) == slow
    assert _response_outcome(decode_response, body) == slow


def test_keyword_struct_bodies_are_plain():
    body = encode_call("add_task", [keyword_struct({"task_id": "T", "params": {"a": "1"}}, "rid")])
    assert parse_call_tree(body, 64) == stream_call(body)


def test_an_unknown_encoding_is_a_parse_error_not_an_internal_one():
    body = b'<?xml version="1.0" encoding="x-no-such"?><methodCall><methodName>a</methodName></methodCall>'
    with pytest.raises(ProtocolError) as info:
        parse_call(body)
    assert info.value.code == -32700
    assert "encoding" in info.value.message
    with pytest.raises(MalformedResponse, match="encoding"):
        decode_response(body.replace(b"methodCall", b"methodResponse"))


def test_a_refused_scalar_is_left_to_the_streaming_parser():
    body = call_xml("ping", "<value><int>twelve</int></value>")
    assert parse_call_tree(body, 64) is None
    with pytest.raises(ProtocolError, match="malformed <int>"):
        parse_call(body)
    response = b"<methodResponse><params><param><value><double>x</double></value></param></params></methodResponse>"
    assert parse_response_tree(response, 64) is None


def _broken_decoder(text: str) -> int:
    raise ZeroDivisionError("a bug in a decoder")


@pytest.mark.parametrize("tag", ["int", "string"])
def test_a_bug_in_the_fast_path_propagates_instead_of_falling_back_silently(monkeypatch, tag):
    # The streaming parser would hide it (it has its own decoders): a bug in the walk must be
    # seen, so only the errors the walk expects (an unhandled shape, a refused scalar) fall back.
    monkeypatch.setitem(SCALARS, tag, _broken_decoder)
    value = f"<value><struct><member><name>a</name><value><{tag}>1</{tag}></value></member></struct></value>"
    with pytest.raises(ZeroDivisionError):
        parse_call_tree(call_xml("ping", value), 64)
    with pytest.raises(ZeroDivisionError):
        parse_response_tree(f"<methodResponse><params><param>{value}</param></params></methodResponse>".encode(), 64)
