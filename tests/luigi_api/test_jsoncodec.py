"""luigid's JSON codec as bytes in, bytes out: limits before json.loads, replies, statuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xrsched.luigi_api import jsoncodec
from xrsched.luigi_api.jsoncodec import ArgumentsError, dump_reply, http_status, parse_arguments, scan
from xrsched.rpc.limits import RequestLimits

LIMITS = RequestLimits(max_depth=8, max_json_values=20)


def test_missing_data_means_no_arguments():
    assert parse_arguments(None, LIMITS) == {}
    assert parse_arguments('{"worker": "w", "n": [1, 2]}', LIMITS) == {"worker": "w", "n": [1, 2]}


def test_depth_is_refused_before_the_parser_recurses():
    deep = '{"a": ' + "[" * 1_000_000 + "]" * 1_000_000 + "}"  # json.loads would raise RecursionError
    with pytest.raises(ArgumentsError, match="nested deeper than 8 levels"):
        parse_arguments(deep, LIMITS)
    assert parse_arguments('{"a": ' + "[" * 7 + "]" * 7 + "}", LIMITS) == {"a": [[[[[[[]]]]]]]}
    with pytest.raises(ArgumentsError):  # one level more than the limit
        parse_arguments('{"a": ' + "[" * 8 + "]" * 8 + "}", LIMITS)


def test_brackets_and_escaped_quotes_inside_strings_do_not_count():
    text = json.dumps({"a": '[[[[[[[[[[{{{{{{{{ \\" ,,,,,,,,,,,,,,,,,,,,,,,,,'})
    assert parse_arguments(text, LIMITS)["a"].startswith("[[[")


def test_number_of_values_is_bounded():
    with pytest.raises(ArgumentsError, match="more than 20 values"):
        parse_arguments('{"a": [' + ",".join("1" * 25) + "]}", LIMITS)


@pytest.mark.parametrize(("text", "message"), [("{", "not valid JSON"), ("[]", "JSON object"), ("3", "JSON object")])
def test_data_must_be_a_json_object(text, message):
    with pytest.raises(ArgumentsError, match=message):
        parse_arguments(text, LIMITS)


def test_replies_keep_null_and_turn_tuples_and_sets_into_lists():
    assert json.loads(dump_reply(None)) == {"response": None}
    assert json.loads(dump_reply({"a": (1, 2), "b": None})) == {"response": {"a": [1, 2], "b": None}}
    assert json.loads(dump_reply({"s": {3}})) == {"response": {"s": [3]}}
    with pytest.raises(ValueError):
        dump_reply(float("nan"))


@pytest.mark.parametrize(
    ("code", "status"), [(-32601, 404), (-32602, 400), (-32600, 400), (-32603, 500), (403, 403), (503, 503), (1, 400)]
)
def test_fault_codes_become_http_statuses(code, status):
    assert http_status(code) == status


def test_error_body_names_status_code_and_message():
    assert json.loads(jsoncodec.dump_error(404, -32601, "no such method: 'x'")) == {
        "error": {"status": 404, "code": -32601, "message": "no such method: 'x'"}
    }


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}",:\\ab\n'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}",\\k'), inner, max_size=4),
    max_leaves=30,
)


@given(_JSON)
def test_scan_measures_depth_as_the_parser_would_nest(value):
    text = json.dumps({"v": value})
    depth = _depth({"v": value})
    try:
        scan(text, LIMITS)
    except ArgumentsError as exc:
        assert depth > LIMITS.max_depth or "values" in exc.message
    else:
        assert depth <= LIMITS.max_depth
