"""luigid's JSON codec, bytes in and bytes out: the ``data`` argument and ``{"response": ...}``.

luigid takes a method's keyword arguments as one JSON object (form field or query parameter
``data``) and answers ``{"response": <result>}``. The arguments are checked before
``json.loads`` sees them: Python's parser recurses once per nesting level, so a deep input
would raise ``RecursionError`` (or worse) inside it; :func:`scan` refuses it first, and also
bounds the number of values, which a body-size limit alone does not (``[[],[],...]``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from xrsched.rpc.faults import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR
from xrsched.rpc.limits import RequestLimits

CONTENT_TYPE = "application/json; charset=utf-8"
#: A string literal (escapes included, as one unrolled loop: fast on long strings) or one
#: structural character: what scan() looks at.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)
_OPENERS = frozenset("[{")
_CLOSERS = frozenset("]}")
#: Fault codes that are about the request itself, not the scheduler: HTTP 400 (404 for a name).
_REQUEST_FAULTS = {PARSE_ERROR: 400, INVALID_REQUEST: 400, INVALID_PARAMS: 400, METHOD_NOT_FOUND: 404}


class ArgumentsError(Exception):
    """The ``data`` argument cannot be used (HTTP 400); ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def scan(text: str, limits: RequestLimits) -> None:
    """Refuse JSON nested deeper than ``max_depth`` or holding more than ``max_json_values``
    arrays, objects and members, without recursion (each string is skipped in one step)."""
    depth = 0
    values = 0
    for match in _TOKENS.finditer(text):
        lexeme = match.group()
        if lexeme in _OPENERS:
            depth += 1
            values += 1
            if depth > limits.max_depth:
                raise ArgumentsError(f"data is nested deeper than {limits.max_depth} levels")
        elif lexeme in _CLOSERS:
            depth -= 1
        elif lexeme == ",":
            values += 1
        if values > limits.max_json_values:
            raise ArgumentsError(f"data holds more than {limits.max_json_values} values")


def parse_arguments(text: str | None, limits: RequestLimits) -> dict[str, Any]:
    """The keyword arguments in ``data``: a JSON object; a missing ``data`` means ``{}``."""
    if text is None:
        return {}
    scan(text, limits)
    try:
        value = json.loads(text)
    except ValueError as exc:  # json.JSONDecodeError, and numbers too long to convert
        raise ArgumentsError(f"data is not valid JSON: {str(exc)[:120]}") from None
    if type(value) is not dict:
        raise ArgumentsError("data must be a JSON object of keyword arguments")
    return value


def dump_reply(value: Any) -> bytes:
    """``{"response": value}``; None stays ``null`` (XML-RPC's ``true`` is that codec's rule).

    Raises ValueError for a value JSON cannot carry (``nan``, ``inf``).
    """
    return json.dumps({"response": value}, default=_jsonable, allow_nan=False, separators=(",", ":")).encode()


def dump_error(status: int, code: int, message: str) -> bytes:
    """An error answer: ``{"error": {"status": ..., "code": ..., "message": ...}}``."""
    error = {"status": status, "code": code, "message": message}
    return json.dumps({"error": error}, separators=(",", ":")).encode()


def http_status(code: int) -> int:
    """The HTTP status for a fault code: the application's own HTTP-like codes as they are,
    the request's protocol faults as 400 (404 for no such method), anything else 500."""
    if code in _REQUEST_FAULTS:
        return _REQUEST_FAULTS[code]
    if 400 <= code <= 599:
        return code
    return 500 if code == INTERNAL_ERROR else 400


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")
