"""Turn exceptions into XML-RPC faults: the one place that decides what text a client sees.

Codes follow DESIGN §2: the fault-interop numbers for protocol errors, HTTP-like numbers
(carried by :class:`~xrsched.core.errors.SchedulerError`) for application errors. Anything
unexpected becomes a generic ``-32603`` with an incident id; the traceback goes to the
``xrsched.server`` log under that id and never to the client.
"""

from __future__ import annotations

import logging
import secrets

from xrsched.core.errors import SchedulerError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

_MAX_FAULT_TEXT = 2000
_log = logging.getLogger("xrsched.server")


class ProtocolError(Exception):
    """The request is not an acceptable XML-RPC call; ``message`` is safe to show the client."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ArgumentError(ProtocolError):
    """The arguments do not fit the method (-32602); ``message`` names the parameter."""

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_PARAMS, message)


def fault_for(exc: BaseException, *, method: str) -> tuple[int, str]:
    """Return ``(faultCode, faultString)`` for ``exc`` raised while serving ``method``.

    Known error types carry a message written to be shown; everything else is logged
    with its traceback and answered with a generic text and an incident id.
    """
    if isinstance(exc, SchedulerError | ProtocolError) and _is_int32(exc.code):
        return exc.code, _clip(exc.message)
    incident = secrets.token_hex(4)  # ties the client's fault to this log entry
    _log.error(
        "incident %s: unexpected error while serving %s",
        incident,
        printable(method),
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return INTERNAL_ERROR, f"internal error; incident {incident}"


def printable(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters with anything outside printable ASCII replaced.

    Used for client-supplied names (methods, keywords) that end up in fault texts and logs.
    """
    cut = text[:limit]
    clean = "".join(ch if " " <= ch <= "~" else "?" for ch in cut)
    return clean + "..." if len(text) > limit else clean


def _is_int32(code: object) -> bool:
    return type(code) is int and -(2**31) <= code < 2**31


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_FAULT_TEXT else text[: _MAX_FAULT_TEXT - 3] + "..."
