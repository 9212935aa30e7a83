"""The pieces of an HTTP exchange that need no socket: errors, answers, headers, body rules.

The request rules (411, 413, 400, 415) are plain functions of the headers, so the handler
(:mod:`xrsched.rpc.handler`) only decides when to apply them.
"""

from __future__ import annotations

import http
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

AUTH_CHALLENGE = ("WWW-Authenticate", 'Basic realm="xrsched"')
XML_TYPES = frozenset({"text/xml", "application/xml"})


class HttpError(Exception):
    """A request refused at the HTTP level; becomes a short plain-text response."""

    def __init__(self, status: int, message: str = "", *, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message or reason_phrase(status))
        self.status = status
        self.message = message or reason_phrase(status)
        self.headers = tuple(headers)


@dataclass(frozen=True)
class Response:
    """A complete answer; the connection adds Server, Date, Content-Length, Connection."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def text(cls, status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
        """A short plain-text answer (every error the transport makes looks like this)."""
        return cls(status, (message + "\n").encode("utf-8", "replace"), headers=tuple(headers))


class HeaderMap(Mapping[str, str]):
    """Read-only request headers with case-insensitive names; the first value of a name wins."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        for name, value in items:
            key = name.lower()
            self._items.setdefault(key, value)
            self._counts[key] = self._counts.get(key, 0) + 1

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def count(self, name: str) -> int:
        """How many times the header was sent."""
        return self._counts.get(name.lower(), 0)


def content_length(headers: HeaderMap, limit: int) -> int:
    """The body size a request announces, or HttpError 411 / 400 / 413 (checked before reading)."""
    if "transfer-encoding" in headers:
        raise HttpError(411, "Content-Length required; chunked request bodies are not accepted")
    if "content-length" not in headers:
        raise HttpError(411, "Content-Length required")
    text = headers["content-length"].strip()
    if headers.count("content-length") > 1 or not text.isdigit() or len(text) > 18:
        raise HttpError(400, "malformed Content-Length")
    length = int(text)
    if length > limit:
        raise HttpError(413, f"request body larger than {limit} bytes")
    return length


def check_xml_content_type(headers: HeaderMap) -> None:
    """Accept ``text/xml`` and ``application/xml`` (any parameters) or no Content-Type at all.

    A missing Content-Type is tolerated because some legacy XML-RPC clients omit it; the
    body is parsed as XML either way.
    """
    value = headers.get("content-type")
    if value is None:
        return
    media = value.split(";", 1)[0].strip().lower()
    if media not in XML_TYPES:
        raise HttpError(415, "XML-RPC requests must be sent as text/xml or application/xml")


def reason_phrase(status: int) -> str:
    """The standard reason phrase for ``status`` (``Error`` for unknown codes)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"
