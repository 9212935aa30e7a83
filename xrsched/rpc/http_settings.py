"""Limits and timeouts of the HTTP transport, defined once (STYLE: "Define each option once").

The server's ``ServerSettings`` embeds or mirrors these; the CLI and TOML loader derive their
options from the field names here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xrsched.rpc.cors import CorsSettings

MIB = 1024 * 1024


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

    @property
    def listen_backlog(self) -> int:
        """The backlog passed to ``listen()`` (the kernel may cap it at ``somaxconn``)."""
        return self.backlog if self.backlog is not None else max(1024, 2 * self.max_connections)
