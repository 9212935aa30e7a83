"""Limits, defined once (STYLE: "Define each option once"), and the capped ``Content-Encoding`` decoder.

:class:`HttpSettings` bounds the HTTP transport (the server's ``ServerSettings`` mirrors it;
the CLI and TOML loader derive their options from the field names); :class:`RequestLimits`
bounds one XML-RPC request. Errors here are HTTP-level refusals, not XML-RPC faults: each
carries the ``http_status`` the transport answers with (DESIGN §2: 413 for a body over the
limit, 415 for an encoding we do not speak, 400 for a corrupt compressed stream).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from xrsched.luigi_api.cors import CorsSettings

MIB = 1024 * 1024
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """Bounds on one request (XML-RPC or JSON); every default is safe for a public port."""

    max_request_bytes: int = 10 * MIB
    max_decompressed_bytes: int = 10 * MIB
    max_depth: int = 64
    max_multicall: int = 1000
    #: Arrays, objects and members in one JSON ``data`` argument (``/api/``).
    max_json_values: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_request_bytes", "max_decompressed_bytes", "max_depth", "max_multicall", "max_json_values"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"RequestLimits.{name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = RequestLimits()


@dataclass(frozen=True)
class HttpSettings:
    """Transport limits. Every field has a safe default; all times are in seconds.

    - ``max_connections``: connections served at once (one thread each). When full, the
      oldest connection that is idle between requests or still handshaking is closed to make
      room; if none is, the newcomer waits up to ``admission_wait`` and then gets ``503``.
    - ``overflow_connections``: extra short-lived threads that wait for a slot or send that
      ``503``; past them a new connection is closed at once.
    - ``backlog``: listen queue; None means ``max(1024, 2 * max_connections)``.
    - ``handshake_timeout``: total time for the TLS handshake.
    - ``read_timeout``: total time to receive one request (line, headers and body) once its
      first byte arrived; a slowloris is cut off after this.
    - ``idle_timeout``: how long a keep-alive connection may wait for its next request.
    - ``write_timeout``: time allowed to send one response.
    - ``max_request_bytes``: largest ``Content-Length`` accepted (413 above it, unread).
    - ``max_decompressed_bytes``: largest body after undoing ``Content-Encoding`` (413 above
      it; a gzip bomb is stopped as soon as its output passes this).
    - ``discard_body_bytes``: a refused request's body up to this size is read and thrown
      away so the connection can stay open; a larger one closes the connection instead.
    - ``health_requires_token``: ``GET /health`` asks for credentials like RPC calls do.
    - ``cors``: luigid's ``[cors]`` section, applied to ``/api/`` (default: no CORS).
    - ``metrics_auth``: ``token`` (``GET /metrics`` asks for credentials) or ``none``.
    """

    max_connections: int = 256
    overflow_connections: int = 64
    admission_wait: float = 1.0
    backlog: int | None = None
    handshake_timeout: float = 10.0
    read_timeout: float = 30.0
    idle_timeout: float = 60.0
    write_timeout: float = 30.0
    max_request_bytes: int = 10 * MIB
    max_decompressed_bytes: int = 10 * MIB
    discard_body_bytes: int = 64 * 1024
    health_requires_token: bool = False
    server_name: str = "xrsched"
    cors: CorsSettings = field(default_factory=CorsSettings)
    metrics_auth: str = "token"

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be >= 1")
        if self.overflow_connections < 0:
            raise ValueError("overflow_connections must be >= 0")
        for name in ("admission_wait", "handshake_timeout", "read_timeout", "idle_timeout", "write_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds")
        if self.max_request_bytes < 1 or self.max_decompressed_bytes < 1:
            raise ValueError("max_request_bytes and max_decompressed_bytes must be >= 1")
        if self.backlog is not None and self.backlog < 1:
            raise ValueError("backlog must be >= 1")
        if any(ch in self.server_name for ch in "\r\n"):
            raise ValueError("server_name must be a single line")
        if self.metrics_auth not in ("token", "none"):
            raise ValueError("metrics_auth must be token or none")

    @property
    def listen_backlog(self) -> int:
        """The backlog passed to ``listen()`` (the kernel may cap it at ``somaxconn``)."""
        return self.backlog if self.backlog is not None else max(1024, 2 * self.max_connections)


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


def _codings(content_encoding: str) -> list[str]:
    """The codings a ``Content-Encoding`` lists, in the order they were applied (``identity``
    dropped); at most two."""
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 2:
        raise UnsupportedEncoding("too many content codings")
    return codings


def decode_body(body: bytes, content_encoding: str | None, limits: RequestLimits = DEFAULT_LIMITS) -> bytes:
    """Return ``body`` with its content codings removed, never inflating past the limit.

    Accepts ``identity``, ``gzip``/``x-gzip`` and ``deflate`` (zlib-wrapped or raw, since
    clients disagree), also stacked as a comma-separated list. A gzip bomb is refused after
    at most ``max_decompressed_bytes + 1`` bytes of output.
    """
    if len(body) > limits.max_request_bytes:
        raise BodyTooLarge(f"request body is over the {limits.max_request_bytes} byte limit")
    for coding in reversed(_codings(content_encoding) if content_encoding else ()):
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
