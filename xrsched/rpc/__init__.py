"""XML-RPC as bytes in, bytes out: limits, parsing, marshalling, faults and dispatch.

The names exported here need no socket (STYLE: "Bytes in, bytes out, then HTTP"): the HTTP
transport (:mod:`~xrsched.rpc.http_server`, :mod:`~xrsched.rpc.unix_server`,
:mod:`~xrsched.rpc.handler`) undoes the body's
coding with :func:`decode_body`, and the application answers it with
:meth:`Dispatcher.dispatch` and a :class:`CallContext`.

Names are imported on first use (PEP 562): the client needs only the faults, the value writer
and the parsers, and importing the dispatcher would drag the whole scheduling core into
``xrsched run``'s start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xrsched.rpc.dispatch import CallContext, Dispatcher
    from xrsched.rpc.faults import (
        INTERNAL_ERROR,
        INVALID_PARAMS,
        INVALID_REQUEST,
        METHOD_NOT_FOUND,
        PARSE_ERROR,
        ArgumentError,
        ProtocolError,
        fault_for,
    )
    from xrsched.rpc.limits import (
        BodyError,
        BodyTooLarge,
        MalformedBody,
        RequestLimits,
        UnsupportedEncoding,
        decode_body,
    )
    from xrsched.rpc.marshal import MarshalError, dump_fault, dump_response
    from xrsched.rpc.parse import parse_call
    from xrsched.rpc.registry import make_entry

#: Exported name -> the module that defines it.
_SOURCES = {
    "CallContext": "dispatch",
    "Dispatcher": "dispatch",
    **dict.fromkeys(
        (
            "INTERNAL_ERROR",
            "INVALID_PARAMS",
            "INVALID_REQUEST",
            "METHOD_NOT_FOUND",
            "PARSE_ERROR",
            "ArgumentError",
            "ProtocolError",
            "fault_for",
            "make_entry",
        ),
        "faults",
    ),
    **dict.fromkeys(
        ("BodyError", "BodyTooLarge", "MalformedBody", "RequestLimits", "UnsupportedEncoding", "decode_body"), "limits"
    ),
    **dict.fromkeys(("MarshalError", "dump_fault", "dump_response"), "marshal"),
    "parse_call": "parse",
    "make_entry": "registry",
}


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'xrsched.rpc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"xrsched.rpc.{source}"), name)
    globals()[name] = value
    return value


__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "ArgumentError",
    "BodyError",
    "BodyTooLarge",
    "CallContext",
    "Dispatcher",
    "MalformedBody",
    "MarshalError",
    "ProtocolError",
    "RequestLimits",
    "UnsupportedEncoding",
    "decode_body",
    "dump_fault",
    "dump_response",
    "fault_for",
    "make_entry",
    "parse_call",
]
