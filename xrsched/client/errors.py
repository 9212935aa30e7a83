"""What a client call can raise: typed faults from the scheduler, HTTP refusals, transport trouble.

Fault codes follow DESIGN §2. :func:`fault_error` is the one place that maps a
``(faultCode, faultString)`` pair to an exception class; :func:`http_error` does the same
for HTTP-level refusals. Each class says whether repeating the call may help
(``retryable``), which is all the retry policy looks at.
"""

from __future__ import annotations


class ClientError(Exception):
    """Base class of everything :class:`~xrsched.client.RemoteScheduler` raises.

    ``retry_after`` is the delay in seconds a server asked for (HTTP ``Retry-After``), if any.
    """

    retryable: bool = False
    retry_after: float | None = None


class SchedulerFault(ClientError):
    """The server answered the call with an XML-RPC fault; ``message`` is its faultString."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[int, str]]:
        return type(self), (self.code, self.message)


class BadRequest(SchedulerFault):
    """The request was refused as malformed: bad XML, bad parameters, values out of range.

    Codes -32700, -32600, -32602 and 400 (and HTTP 400/411/413/415). Repeating it cannot help.
    """


class NoSuchMethod(BadRequest):
    """The server has no method of that name (-32601)."""


class InternalError(SchedulerFault):
    """The server failed unexpectedly (-32603); the text carries an incident id for its log."""


class Forbidden(SchedulerFault):
    """The token's role may not call the method, or a worker touched what it does not own (403)."""


class NotFound(SchedulerFault):
    """No such task or worker (404)."""


class Conflict(SchedulerFault):
    """The change conflicts with the current state (409)."""


class RateLimited(SchedulerFault):
    """The server asks the caller to slow down (429); retried with backoff."""

    retryable = True


class Unavailable(SchedulerFault):
    """The server is draining, busy or not the leader (503); retried with backoff."""

    retryable = True


class AuthenticationFailed(ClientError):
    """HTTP 401: the token is missing, wrong, revoked or expired. Never retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransportError(ClientError):
    """The call could not be completed over HTTP: connection, TLS, timeout or a bad answer.

    ``retryable`` is True for connection failures and timeouts (the request may not have
    reached the server, or its reply was lost); False for certificate problems and for
    answers the client refuses to read (too large, not XML-RPC).
    """

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status


class NoSchedulerAvailable(TransportError):
    """A client given several scheduler URLs ran out of its retry budget without one of them
    serving the call: each was unreachable or a standby. The message names every URL with how
    it last failed (or that it was not tried); the last failure is the ``__cause__``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class ResponseTooLarge(TransportError):
    """The answer (raw or inflated) is over the client's size limit; it was not read."""


class MalformedResponse(TransportError):
    """The answer is not an XML-RPC methodResponse the client can accept."""


class EncodeError(ClientError, ValueError):
    """An argument cannot be sent over XML-RPC (None inside a list, nan, a 65-bit integer, ...)."""


_BY_CODE: dict[int, type[SchedulerFault]] = {
    -32700: BadRequest,
    -32600: BadRequest,
    -32601: NoSuchMethod,
    -32602: BadRequest,
    -32603: InternalError,
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
    503: Unavailable,
}


def fault_error(code: int, message: str) -> SchedulerFault:
    """The exception for a fault the server sent (an unknown code gives a plain SchedulerFault)."""
    return _BY_CODE.get(code, SchedulerFault)(code, message)


#: HTTP statuses that mean "the request itself is wrong": raised as BadRequest, never retried.
_BAD_REQUEST_STATUSES = frozenset({400, 405, 411, 413, 414, 415, 431})
#: Proxies answer 502/504 when the scheduler is unreachable: as retryable as a refused connection.
_GATEWAY_STATUSES = frozenset({502, 504})


def http_error(status: int, text: str) -> ClientError:
    """The exception for a non-200 HTTP answer; ``text`` is the (short) body the server sent."""
    message = f"HTTP {status}: {text}" if text else f"HTTP {status}"
    if status == 401:
        return AuthenticationFailed(message)
    if status == 429:
        return RateLimited(429, message)
    if status == 503:
        return Unavailable(503, message)
    if status in _BAD_REQUEST_STATUSES:
        return BadRequest(status, message)
    return TransportError(message, retryable=status in _GATEWAY_STATUSES, status=status)
