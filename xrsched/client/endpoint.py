"""Where and how the client connects: its settings, its counters and the parsed scheduler URL."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from xrsched.unixpath import SocketPathError, is_unix_url, unix_url_path

MIB = 1024 * 1024
DEFAULT_PATH = "/RPC2"


@dataclass(frozen=True)
class TransportSettings:
    """How the client connects and what it accepts; every field has a safe default.

    - ``ca``: CA bundle to verify the server with; None uses the system store.
    - ``verify``: False turns certificate checks off (a quick test only, never production).
    - ``client_cert``/``client_key``: present a client certificate (``--tls-client-ca`` servers).
    - ``connect_timeout``: TCP connect plus TLS handshake, seconds.
    - ``read_timeout``: longest wait for any single read of the answer, seconds.
    - ``max_response_bytes``: largest answer accepted, before and after gzip inflation.
    """

    ca: Path | None = None
    verify: bool = True
    client_cert: Path | None = None
    client_key: Path | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_response_bytes: int = 64 * MIB

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds")
        if self.max_response_bytes < 1:
            raise ValueError("max_response_bytes must be >= 1")


@dataclass
class ClientStats:
    """Counters for tests and operators: connections opened, HTTP requests sent, retries slept,
    and moves from one scheduler URL to another (a client given several)."""

    connections_opened: int = 0
    requests_sent: int = 0
    retries: int = 0
    failovers: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``name`` (thread-safe)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)


@dataclass(frozen=True)
class Endpoint:
    """Where the scheduler answers: scheme, host, port and the XML-RPC path; for ``unix:``
    URLs the scheme is ``unix`` and ``socket_path`` the socket file."""

    scheme: str
    host: str
    port: int
    path: str
    socket_path: str | None = None

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """``https://host[:port][/path]`` (port 8082 and path ``/RPC2`` by default), or
        ``unix:/path/to/socket`` for a server's ``--unix-socket`` (plain HTTP, path ``/RPC2``)."""
        if is_unix_url(url):
            try:
                return cls("unix", "localhost", 0, DEFAULT_PATH, socket_path=unix_url_path(url))
            except SocketPathError as exc:
                raise ValueError(f"scheduler URL {url!r}: {exc}") from None
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            raise ValueError(f"scheduler URL must start with https:// (or http:// or unix:), got {url!r}")
        if not parts.hostname:
            raise ValueError(f"no host in scheduler URL {url!r}")
        if parts.username or parts.password:
            raise ValueError("put the token in token= or XRSCHED_TOKEN, not in the URL")
        path = parts.path or DEFAULT_PATH
        if parts.query:
            path += "?" + parts.query
        if not printable(path):
            raise ValueError(f"scheduler URL path must be printable ASCII without blanks (percent-encoded): {url!r}")
        return cls(scheme, parts.hostname, parts.port or 8082, path)


def split_urls(text: str | Sequence[str]) -> tuple[str, ...]:
    """The scheduler URLs in ``text`` (comma-separated; blanks around commas ignored) or in a
    sequence of URLs, in order; ValueError when there is none, one is empty, or one repeats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    urls = tuple(item.strip() for item in items)
    if not urls or not all(urls):
        raise ValueError(f"scheduler URLs must be non-empty and separated by single commas, got {text!r}")
    repeated = sorted({url for url in urls if urls.count(url) > 1})
    if repeated:
        raise ValueError(f"scheduler URL given twice: {repeated[0]}")
    return urls


def printable(text: str) -> bool:
    """Whether ``text`` can stand in a request line or a header value as it is."""
    return text.isascii() and text.isprintable() and " " not in text
