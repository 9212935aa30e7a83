"""XML-RPC as bytes in, bytes out: limits, parsing, marshalling, faults and dispatch.

No sockets here (STYLE: "Bytes in, bytes out, then HTTP"); the HTTP transport calls
:func:`decode_body` and :meth:`Dispatcher.dispatch` with a :class:`CallContext`.
"""

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
from xrsched.rpc.registry import MethodTable

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
    "MethodTable",
    "ProtocolError",
    "RequestLimits",
    "UnsupportedEncoding",
    "decode_body",
    "dump_fault",
    "dump_response",
    "fault_for",
    "parse_call",
]
