"""Write XML-RPC ``methodResponse`` documents: nil-free, UTF-8, built as strings.

This runs for every reply, so it is a type-dispatch table and a list joined once, no DOM.
Beyond DESIGN §2 (no ``<nil/>``, ``<i8>``, never ``nan``): ``None`` inside an array is refused
with :class:`MarshalError` (dropping it would shift indexes, any stand-in would change its
type: a bug in the method, logged as an internal error); ``\\r`` is sent as ``&#13;`` so it
survives end-of-line normalisation, and characters XML 1.0 cannot carry (``\\x00``, lone
surrogates, ...) become U+FFFD; sets are sorted when their items allow it.
"""

from __future__ import annotations

import math
import re
from base64 import b64encode
from collections.abc import Callable, Mapping
from typing import Any

_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Any character escape_text changes: the illegal ones, markup and ``\r``.
_SPECIAL = re.compile("[\x00-\x08\x0b-\x0d\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>]")
_INT32 = 2**31
_INT64 = 2**63
_MAX_NESTING = 100


class MarshalError(ValueError):
    """The value cannot be sent over XML-RPC under xrsched's rules (a server-side bug)."""


class Rendered(str):
    """A ``<value>`` already written as XML (a multicall entry), sent as it is."""


def escape_text(text: str) -> str:
    """``text`` made safe for XML character data."""
    if _SPECIAL.search(text) is None:  # the common case: one scan, nothing to replace
        return text
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("\ufffd", text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _dump_str(value: str, out: list[str], depth: int) -> None:
    out.append("<value><string>")
    out.append(escape_text(value))
    out.append("</string></value>")


def _dump_bool(value: bool, out: list[str], depth: int) -> None:
    out.append("<value><boolean>1</boolean></value>" if value else "<value><boolean>0</boolean></value>")


def _dump_int(value: int, out: list[str], depth: int) -> None:
    if -_INT32 <= value < _INT32:
        out.append(f"<value><int>{int(value)}</int></value>")
    elif -_INT64 <= value < _INT64:
        out.append(f"<value><i8>{int(value)}</i8></value>")
    else:
        raise MarshalError("integer does not fit in 64 bits")


def _dump_float(value: float, out: list[str], depth: int) -> None:
    if not math.isfinite(value):
        raise MarshalError("cannot send nan or infinity")
    out.append(f"<value><double>{float(value)!r}</double></value>")


def _dump_bytes(value: bytes | bytearray | memoryview, out: list[str], depth: int) -> None:
    out.append("<value><base64>")
    out.append(b64encode(value).decode("ascii"))
    out.append("</base64></value>")


def _dump_seq(value: Any, out: list[str], depth: int) -> None:
    if depth >= _MAX_NESTING:
        raise MarshalError("value nested too deeply (or contains itself)")
    out.append("<value><array><data>")
    for item in value:
        if item is None:
            raise MarshalError("None inside an array cannot be sent (no <nil/> on the wire)")
        _dump(item, out, depth + 1)
    out.append("</data></array></value>")


def _dump_set(value: set[Any] | frozenset[Any], out: list[str], depth: int) -> None:
    try:
        items: list[Any] = sorted(value)
    except TypeError:
        items = list(value)
    _dump_seq(items, out, depth)


def _dump_struct(value: Mapping[Any, Any], out: list[str], depth: int) -> None:
    if depth >= _MAX_NESTING:
        raise MarshalError("value nested too deeply (or contains itself)")
    out.append("<value><struct>")
    for key, item in value.items():
        if item is None:
            continue
        if not isinstance(key, str):
            raise MarshalError(f"struct keys must be strings, not {type(key).__name__}")
        out.append(f"<member><name>{escape_text(key)}</name>")
        if type(item) is str:  # most members: written here rather than through _dump
            out.append(f"<value><string>{escape_text(item)}</string></value></member>")
        else:
            _dump(item, out, depth + 1)
            out.append("</member>")
    out.append("</struct></value>")


def _dump_rendered(value: Rendered, out: list[str], depth: int) -> None:
    out.append(value)


_DUMPERS: dict[type, Callable[[Any, list[str], int], None]] = {
    Rendered: _dump_rendered,
    str: _dump_str,
    bool: _dump_bool,
    int: _dump_int,
    float: _dump_float,
    bytes: _dump_bytes,
    bytearray: _dump_bytes,
    memoryview: _dump_bytes,
    list: _dump_seq,
    tuple: _dump_seq,
    set: _dump_set,
    frozenset: _dump_set,
    dict: _dump_struct,
}
# Subclasses (StrEnum, IntEnum, OrderedDict, ...) are matched in this order; bool before int.
_FALLBACK = (
    (bool, _dump_bool),
    (str, _dump_str),
    (int, _dump_int),
    (float, _dump_float),
    ((bytes, bytearray, memoryview), _dump_bytes),
    ((list, tuple), _dump_seq),
    ((set, frozenset), _dump_set),
    (Mapping, _dump_struct),
)


def _dump(value: Any, out: list[str], depth: int) -> None:
    dumper = _DUMPERS.get(type(value))
    if dumper is None:
        for kind, candidate in _FALLBACK:
            if isinstance(value, kind):
                dumper = candidate
                break
        else:
            raise MarshalError(f"cannot send a value of type {type(value).__name__}")
    dumper(value, out, depth)


def dump_value(value: Any) -> str:
    """One ``<value>...</value>`` fragment for ``value`` (``None`` becomes ``true``)."""
    out: list[str] = []
    _dump(True if value is None else value, out, 0)
    return "".join(out)


def dump_response(value: Any) -> bytes:
    """A methodResponse carrying ``value``; raises :class:`MarshalError` for values we never send."""
    return f"{_HEADER}<methodResponse><params><param>{dump_value(value)}</param></params></methodResponse>\n".encode()


def fault_value_xml(code: int, text: str) -> str:
    """The ``{faultCode, faultString}`` struct as a ``<value>`` fragment."""
    return (
        "<value><struct>"
        f"<member><name>faultCode</name><value><int>{int(code)}</int></value></member>"
        f"<member><name>faultString</name><value><string>{escape_text(text)}</string></value></member>"
        "</struct></value>"
    )


def dump_fault(code: int, text: str) -> bytes:
    """A methodResponse carrying a fault; ``code`` must fit in 32 bits."""
    if not -_INT32 <= code < _INT32:
        raise ValueError("fault codes are 32-bit integers")
    fault_xml = fault_value_xml(code, text)
    return f"{_HEADER}<methodResponse><fault>{fault_xml}</fault></methodResponse>\n".encode()
