"""Reading an HTTP answer for the client: framing checks, caps, gzip, and errors that name their cause.

Used by :class:`~xrsched.client.transport.SchedulerTransport` on top of ``http.client``: what
it would guess around (conflicting lengths, a short body, an interim answer) is refused, every
body is capped before, while and after reading, and every failure becomes a
:class:`~xrsched.client.errors.ClientError` whose ``retryable`` flag the retry policy reads.
"""

from __future__ import annotations

import http.client
import ssl
import time

from xrsched.client.errors import ClientError, MalformedResponse, ResponseTooLarge, TransportError, http_error
from xrsched.rpc.limits import BodyError, BodyTooLarge, RequestLimits, decode_body

_ERROR_TEXT_BYTES = 2048

#: Errors that on a kept connection mean "the server closed it before answering".
DISCONNECTS = (ConnectionError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


def check_framing(response: http.client.HTTPResponse) -> None:
    """Refuse what ``http.client`` would guess around: conflicting or negative ``Content-Length``,
    and interim answers other than ``100 Continue`` (which it skips) standing in for the answer."""
    lengths = response.msg.get_all("Content-Length") or ()
    values = {v.strip() for line in lengths for v in line.split(",")}
    if len(values) > 1 or not all(v.isdigit() for v in values):
        raise MalformedResponse("not a valid HTTP answer (bad Content-Length)")
    if response.status == 101:
        raise MalformedResponse("not a valid HTTP answer (the server switched protocols)")
    if response.status < 200:
        raise MalformedResponse(f"not a valid HTTP answer (interim status {response.status} where the answer was due)")


def read_capped(response: http.client.HTTPResponse, cap: int) -> bytes:
    """The body, refused before reading when its announced length is over ``cap``, else read
    at most one byte past ``cap``."""
    if response.length is not None and response.length > cap:
        raise ResponseTooLarge(f"answer of {response.length} bytes is over the {cap} byte limit")
    body = response.read(cap + 1)
    if len(body) > cap:
        raise ResponseTooLarge(f"answer is over the {cap} byte limit")
    if response.length:  # read(amt) returns what came before the close; the rest never will
        raise http.client.IncompleteRead(body, response.length)
    return body


def refusal(response: http.client.HTTPResponse) -> ClientError:
    """The error for a non-200 answer: its status, the start of its text, its ``Retry-After``."""
    text = response.read(_ERROR_TEXT_BYTES).decode("utf-8", "replace")  # the rest goes with the connection
    error = http_error(response.status, _one_line(text))
    error.retry_after = parse_retry_after(response.getheader("Retry-After"))
    return error


def transport_error(exc: BaseException, doing: str) -> TransportError:
    """Classify a low-level failure: certificate problems and bad answers are final, the rest not."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransportError(f"TLS certificate verification failed: {exc.verify_message or exc}")
    if isinstance(exc, TimeoutError):
        return TransportError(f"timed out {doing}", retryable=True)
    if isinstance(exc, ssl.SSLError) and not isinstance(exc, DISCONNECTS):
        return TransportError(f"TLS error {doing}: {exc.reason or exc}")
    if isinstance(exc, http.client.IncompleteRead) and _caused_by(exc, ValueError):
        return MalformedResponse("not a valid HTTP answer (bad chunk size)")
    if isinstance(exc, http.client.IncompleteRead):
        return TransportError(f"the answer was cut off ({len(exc.partial)} bytes read)", retryable=True)
    if isinstance(exc, OSError):
        return TransportError(f"connection failed {doing}: {exc}", retryable=True)
    if isinstance(exc, http.client.HTTPException):
        return MalformedResponse(f"not a valid HTTP answer ({type(exc).__name__}: {_one_line(str(exc), 80)})")
    return TransportError(f"{type(exc).__name__} {doing}: {exc}")


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is among the exceptions ``exc`` was raised while handling."""
    seen = exc.__context__
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__context__
    return False


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # only for an HTTP date: most servers send seconds

    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def inflate(body: bytes, content_encoding: str | None, cap: int) -> bytes:
    """``body`` with gzip/deflate removed by the server's capped decoder: never more than ``cap`` bytes."""
    if not content_encoding and len(body) <= cap:
        return body  # most answers: nothing to undo, nothing over the cap
    try:
        return decode_body(body, content_encoding, RequestLimits(len(body) or 1, cap))  # raw size: read_capped
    except BodyTooLarge:
        raise ResponseTooLarge(f"answer inflates past the {cap} byte limit") from None
    except BodyError as exc:
        raise MalformedResponse(f"{exc.message} (in the answer)") from None
