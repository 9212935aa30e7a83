"""Request limits and ``Content-Encoding`` decoding with a hard cap on the inflated size.

Errors here are HTTP-level refusals, not XML-RPC faults: each carries the ``http_status``
the transport answers with (DESIGN §2: 413 for a body over the limit, 415 for an encoding
we do not speak, 400 for a corrupt compressed stream).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

MIB = 1024 * 1024
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """Bounds on one XML-RPC request; every default is safe for a public port."""

    max_request_bytes: int = 10 * MIB
    max_decompressed_bytes: int = 10 * MIB
    max_depth: int = 64
    max_multicall: int = 1000

    def __post_init__(self) -> None:
        for name in ("max_request_bytes", "max_decompressed_bytes", "max_depth", "max_multicall"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"RequestLimits.{name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = RequestLimits()


class BodyError(Exception):
    """A request body the transport must refuse; ``message`` is short plain text for the client."""

    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BodyTooLarge(BodyError):
    """The body, raw or inflated, is over the configured limit (HTTP 413)."""

    http_status = 413


class UnsupportedEncoding(BodyError):
    """The ``Content-Encoding`` is not one we decode (HTTP 415)."""

    http_status = 415


class MalformedBody(BodyError):
    """The compressed body is corrupt or truncated (HTTP 400)."""

    http_status = 400


def decode_body(body: bytes, content_encoding: str | None, limits: RequestLimits = DEFAULT_LIMITS) -> bytes:
    """Return ``body`` with its content codings removed, never inflating past the limit.

    Accepts ``identity``, ``gzip``/``x-gzip`` and ``deflate`` (zlib-wrapped or raw, since
    clients disagree), also stacked as a comma-separated list. A gzip bomb is refused after
    at most ``max_decompressed_bytes + 1`` bytes of output.
    """
    if len(body) > limits.max_request_bytes:
        raise BodyTooLarge(f"request body is over the {limits.max_request_bytes} byte limit")
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 2:
        raise UnsupportedEncoding("too many content codings")
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            body = _inflate(body, zlib.MAX_WBITS | 16, limits.max_decompressed_bytes, multi=True)
        elif coding == "deflate":
            looks_zlib = len(body) >= 2 and (body[0] & 0x0F) == 8 and (body[0] << 8 | body[1]) % 31 == 0
            wbits = zlib.MAX_WBITS if looks_zlib else -zlib.MAX_WBITS
            body = _inflate(body, wbits, limits.max_decompressed_bytes, multi=False)
        else:
            raise UnsupportedEncoding("unsupported Content-Encoding; use gzip, deflate or identity")
    if len(body) > limits.max_decompressed_bytes:
        raise BodyTooLarge(f"request body is over the {limits.max_decompressed_bytes} byte limit")
    return body


def _inflate(data: bytes, wbits: int, cap: int, *, multi: bool) -> bytes:
    """Inflate ``data`` in bounded steps; stop as soon as the output passes ``cap``."""
    out: list[bytes] = []
    size = 0
    pending = data
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            while pending:
                chunk = inflater.decompress(pending, min(_READ_CHUNK, cap + 1 - size))
                size += len(chunk)
                if size > cap:
                    raise BodyTooLarge(f"request body inflates past the {cap} byte limit")
                out.append(chunk)
                if inflater.eof:
                    break
                pending = inflater.unconsumed_tail
                if not chunk and not pending:
                    break
            if not inflater.eof:
                tail = inflater.flush(cap + 1 - size) if size <= cap else b""
                size += len(tail)
                out.append(tail)
                if size > cap:
                    raise BodyTooLarge(f"request body inflates past the {cap} byte limit")
                if not inflater.eof:
                    raise MalformedBody("compressed body is truncated")
        except zlib.error as exc:
            raise MalformedBody("compressed body is corrupt") from exc
        pending = inflater.unused_data
        # gzip allows several members back to back; trailing zero padding is harmless.
        if not pending.strip(b"\x00"):
            return b"".join(out)
        if not multi:
            raise MalformedBody("unexpected data after the compressed body")
