"""Writing responses: nil-free values that the stdlib client reads back."""

from __future__ import annotations

import math
import xmlrpc.client
from collections import OrderedDict
from enum import IntEnum, StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xrsched.rpc.marshal import MarshalError, dump_fault, dump_response, escape_text


def roundtrip(value):
    values, method = xmlrpc.client.loads(dump_response(value), use_builtin_types=True)
    assert method is None
    return values[0]


class Color(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


def test_header_and_utf8():
    body = dump_response("caf\u00e9")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "caf\u00e9".encode() in body


@pytest.mark.parametrize(
    "value",
    [0, -1, 2**31 - 1, -(2**31), 1.5, -0.0, 1e300, True, False, "", "a<b>&c", [1, [2, []]], {"k": {"n": 1}}],
)
def test_simple_roundtrips(value):
    assert roundtrip(value) == value


def test_none_at_top_is_true():
    assert roundtrip(None) is True


def test_none_struct_members_are_left_out():
    assert roundtrip({"a": None, "b": {"c": None, "d": 1}, "e": [{"f": None}]}) == {"b": {"d": 1}, "e": [{}]}
    assert b"nil" not in dump_response({"a": None})


def test_none_inside_an_array_is_refused():
    with pytest.raises(MarshalError):
        dump_response([1, None])


def test_big_ints_are_i8():
    body = dump_response([2**31, -(2**31) - 1, 2**63 - 1])
    assert body.count(b"<i8>") == 3
    assert roundtrip(2**63 - 1) == 2**63 - 1
    with pytest.raises(MarshalError):
        dump_response(2**63)
    with pytest.raises(MarshalError):
        dump_response({"x": -(2**63) - 1})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, [1.0, math.nan], {"t": math.inf}])
def test_nan_and_inf_are_never_sent(value):
    with pytest.raises(MarshalError):
        dump_response(value)


def test_illegal_xml_characters_are_replaced_and_cr_survives():
    assert roundtrip("a\x00b\x1fc\ud800d") == "a\ufffdb\ufffdc\ufffdd"
    assert roundtrip("line\r\nnext\ttab") == "line\r\nnext\ttab"
    assert roundtrip({"k\x00": 1}) == {"k\ufffd": 1}


def test_bytes_sets_tuples_and_subclasses():
    assert roundtrip(b"\x00\xff") == b"\x00\xff"
    assert roundtrip(bytearray(b"ab")) == b"ab"
    assert roundtrip((1, 2)) == [1, 2]
    assert roundtrip({3, 1, 2}) == [1, 2, 3]
    assert roundtrip(frozenset({"b", "a"})) == ["a", "b"]
    assert roundtrip(OrderedDict(a=1)) == {"a": 1}
    assert roundtrip([Color.RED, Level.HIGH]) == ["red", 3]


@pytest.mark.parametrize("value", [{1: "a"}, object(), [complex(1, 2)]])
def test_unsendable_values_are_refused(value):
    with pytest.raises(MarshalError):
        dump_response(value)


def test_self_containing_value_is_refused_not_recursion_error():
    looped: list = []
    looped.append(looped)
    with pytest.raises(MarshalError):
        dump_response(looped)


def test_fault_document():
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(dump_fault(404, "task_id: no task '<x>' is known"))
    assert info.value.faultCode == 404
    assert info.value.faultString == "task_id: no task '<x>' is known"


_keys = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xD7FF), max_size=8)
_scalars = (
    st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json_like = st.recursive(
    _scalars | st.none(),
    lambda children: (
        st.lists(children.filter(lambda v: v is not None), max_size=5) | st.dictionaries(_keys, children, max_size=5)
    ),
    max_leaves=25,
)


def _nil_free(value):
    """What a client should read back: None members dropped, illegal characters replaced."""
    if isinstance(value, dict):
        return {_clean(k): _nil_free(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_nil_free(v) for v in value]
    if isinstance(value, str):
        return _clean(value)
    return value


def _clean(text):
    return "".join(
        "\ufffd"
        if (ord(ch) < 0x20 and ch not in "\t\n\r") or 0xD800 <= ord(ch) <= 0xDFFF or ch in "\ufffe\uffff"
        else ch
        for ch in text
    )


@given(_json_like)
def test_json_like_values_roundtrip_through_stdlib(value):
    expected = True if value is None else _nil_free(value)
    got = roundtrip(value)
    assert got == expected
    if isinstance(expected, bool):
        assert type(got) is bool


def _reference_escape(ch: str) -> str:
    code = ord(ch)
    if (code < 0x20 and ch not in "\t\n\r") or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return "\ufffd"
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}.get(ch, ch)


def test_escape_text_changes_exactly_the_characters_it_must():
    # The fast path skips texts with nothing to change: every BMP character alone, and inside text.
    for code in range(0x10000):
        ch = chr(code)
        assert escape_text(ch) == _reference_escape(ch), hex(code)
        assert escape_text(f"ab{ch}cd") == f"ab{_reference_escape(ch)}cd", hex(code)


def test_struct_keys_are_escaped_every_time_they_are_written():
    for _ in range(2):  # the same keys twice: nothing remembered from one reply changes the next
        body = dump_response({"a&b": "x<y", "plain": "1\r2", "n": 1})
        assert b"<name>a&amp;b</name><value><string>x&lt;y</string></value>" in body
        assert roundtrip({"a&b": "x<y", "plain": "1\r2", "n": 1}) == {"a&b": "x<y", "plain": "1\r2", "n": 1}


def test_a_non_string_key_is_refused_even_after_string_keys_were_cached():
    dump_response({"1": 1})
    with pytest.raises(MarshalError):
        dump_response({1: 1})
