"""The pieces of an HTTP exchange that need no socket: errors, answers, headers, body rules.

The request rules (411, 413, 400, 415) and the response head are plain functions, so the
handler (:mod:`xrsched.rpc.handler`) only decides when to apply them.
"""

from __future__ import annotations

import email.utils
import io
import itertools
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus

AUTH_CHALLENGE = ("WWW-Authenticate", 'Basic realm="xrsched"')
XML_TYPES = frozenset({"text/xml", "application/xml"})
MAX_HEADER_LINE = 8192
MAX_HEADERS = 100
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token
#: One whole ``name: value`` line of a head whose lines all end in CRLF (the last has none left).
_FIELD_LINE = re.compile(r"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):([^\r\n]*)(?:\r\n|\Z)", re.MULTILINE)
#: Headers kept for logs and audit: never credentials or cookies.
_SAFE_HEADERS = ("host", "user-agent", "content-type", "content-length", "content-encoding")
#: Answers that never have a body, so no Content-Length (RFC 9110 §8.6; for 304 a cache would
#: otherwise take the 0 as the stored file's length).
_BODILESS = frozenset({204, 304})
_date_cache: list[object] = [-1, ""]
_request_ids = itertools.count(1)
#: Generated request ids: a per-process random prefix and a counter (unique, and cheaper than uuid4).
_REQUEST_ID_PREFIX = os.urandom(6).hex()
#: The phrases ``http.server`` sends, without importing it into the client (which reads heads here).
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


class HttpError(Exception):
    """A request refused at the HTTP level; becomes a short plain-text response."""

    def __init__(self, status: int, message: str = "", *, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message or reason_phrase(status))
        self.status = status
        self.message = message or reason_phrase(status)
        self.headers = tuple(headers)

    def response(self) -> Response:
        """The answer to send: a short plain-text body."""
        return Response.text(self.status, self.message, self.headers)


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
    """Read-only header fields with case-insensitive names; the first value of a name wins,
    :meth:`get_all` has them all (as ``http.client`` reads an answer's)."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields
        # Built from the last field to the first, so that the first value of a name wins.
        self._first = {name.lower(): value for name, value in reversed(fields)}
        #: Lower-cased names that occur more than once (``get_all`` needs the list only for these).
        self._repeated: set[str] = set()
        if len(self._first) != len(fields):
            seen: set[str] = set()
            for name, _value in fields:
                key = name.lower()
                (self._repeated if key in seen else seen).add(key)

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """The header's first value, or ``default`` (one dict lookup: ``Mapping.get`` costs a
        ``__getitem__`` call and an exception per missing header, on every request)."""
        return self._first.get(name.lower(), default)

    def repeats(self, name: str) -> bool:
        """Whether the header occurs more than once."""
        return name.lower() in self._repeated

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        """Every value of the header in order, else ``default``."""
        key = name.lower()
        if key not in self._repeated:
            return [self._first[key]] if key in self._first else default
        return [value for field, value in self._fields if field.lower() == key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)


def parse_request_line(line: str) -> tuple[str, str, str]:
    """``(command, target, version)`` of an HTTP/1.x request line; HttpError 400 or 505."""
    words = line.split()
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        raise HttpError(400, "bad request line")
    major, dot, minor = words[2][5:].partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        raise HttpError(400, "bad HTTP version")
    if int(major) != 1:
        raise HttpError(505, "HTTP version not supported")
    return words[0], words[1], words[2]


def read_buffered_headers(
    reader: io.BufferedReader, *, max_line: int = MAX_HEADER_LINE, fold: bool = False
) -> HeaderMap:
    """:func:`read_headers` for a message whose whole head already sits in ``reader``'s buffer
    (a keep-alive call or answer arrives in one piece): one pass instead of a ``readline`` a line.

    Only a head that the line-by-line reader would take as it is goes this way: every line ends
    in CRLF, fits ``max_line`` and there are at most ``MAX_HEADERS``, none folded. Anything else
    (a head not yet received in full, bare LF line ends, a folded line, a line or a count over the
    limits) is left unread for :func:`read_headers`, which gives the same fields or the same error.
    """
    buffered = reader.peek(1)
    if buffered[:2] == b"\r\n":
        reader.read(2)
        return HeaderMap([])
    end = buffered.find(b"\r\n\r\n")
    # A head no longer than one line's limit has no line over it; then count the lines.
    if 0 <= end <= max_line - 2:
        head = str(buffered[:end], "iso-8859-1")
        lines = head.count("\n") + 1
        if lines <= MAX_HEADERS and head.count("\r\n") == lines - 1:
            fields = _FIELD_LINE.findall(head)
            if len(fields) == lines:  # else a line is malformed or folded: read_headers decides
                reader.read(end + 4)
                return HeaderMap([(name, value.strip()) for name, value in fields])
    return read_headers(reader.readline, max_line=max_line, fold=fold)


def _field(line: str) -> tuple[str, str]:
    """``(name, value)`` of one header line (its line end already gone); HttpError 400 if malformed."""
    name, colon, value = line.partition(":")
    if not colon or not _FIELD_NAME.fullmatch(name):
        raise HttpError(400, "malformed header line")
    return name, value.strip()


def read_headers(readline: Callable[[int], bytes], *, max_line: int = MAX_HEADER_LINE, fold: bool = False) -> HeaderMap:
    """Header lines up to the blank one: HttpError 431 past ``max_line`` bytes a line or 100
    lines, 400 for a line that is not ``token: value``. With ``fold``, an obs-fold line joins
    its field with a space, as a client must do (RFC 9112 §5.2); a server refuses it."""
    fields: list[tuple[str, str]] = []
    for _ in range(MAX_HEADERS + 1):
        raw = readline(max_line + 1)
        if len(raw) > max_line:
            raise HttpError(431, "header line too long")
        if raw in (b"\r\n", b"\n", b""):
            return HeaderMap(fields)
        text = str(raw, "iso-8859-1")
        if fold and fields and text[:1] in (" ", "\t"):
            name, value = fields.pop()
            fields.append((name, f"{value} {text.strip()}"))
            continue
        fields.append(_field(text))
    raise HttpError(431, "too many headers")


def content_length(headers: HeaderMap, limit: int) -> int:
    """The body size a request announces, or HttpError 411 / 400 / 413 (checked before reading)."""
    if headers.get("transfer-encoding") is not None:
        raise HttpError(411, "Content-Length required; chunked request bodies are not accepted")
    announced = headers.get("content-length")
    if announced is None:
        raise HttpError(411, "Content-Length required")
    text = announced.strip()
    if headers.repeats("content-length") or not text.isdigit() or len(text) > 18:
        raise HttpError(400, "malformed Content-Length")
    length = int(text)
    if length > limit:
        raise HttpError(413, f"request body larger than {limit} bytes")
    return length


def check_xml_content_type(headers: HeaderMap) -> None:
    """Accept ``text/xml`` and ``application/xml`` (any parameters), or no Content-Type at all:
    some legacy XML-RPC clients omit it, and the body is parsed as XML either way."""
    value = headers.get("content-type")
    if value is None:
        return
    media = value.split(";", 1)[0].strip().lower()
    if media not in XML_TYPES:
        raise HttpError(415, "XML-RPC requests must be sent as text/xml or application/xml")


def reason_phrase(status: int) -> str:
    """The standard reason phrase for ``status`` (``Error`` for unknown codes)."""
    return _PHRASES.get(status, "Error")


def response_head(response: Response, *, server: str, request_id: str, close: bool, http10: bool) -> bytes:
    """The status line and headers of ``response``, ready to send before its body."""
    status = response.status
    head = f"HTTP/1.1 {status} {reason_phrase(status)}\r\nServer: {server}\r\nDate: {_http_date()}\r\n"
    if status not in _BODILESS:
        head += f"Content-Type: {response.content_type}\r\nContent-Length: {len(response.body)}\r\n"
    head += "X-Content-Type-Options: nosniff\r\n"
    if request_id:
        head += f"X-Request-Id: {request_id}\r\n"
    for name, value in response.headers:
        head += f"{name}: {value}\r\n"
    if close:
        head += "Connection: close\r\n"
    elif http10:
        head += "Connection: keep-alive\r\n"
    return (head + "\r\n").encode("latin-1", "replace")


def request_id(offered: str) -> str:
    """The client's ``X-Request-Id`` when it is sane, else a fresh one."""
    return offered if _REQUEST_ID.fullmatch(offered) else f"{_REQUEST_ID_PREFIX}-{next(_request_ids)}"


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed headers, each cut to 256 characters, for logs and audit."""
    fields = headers._first if isinstance(headers, HeaderMap) else {k.lower(): v for k, v in headers.items()}
    return {name: value[:256] for name in _SAFE_HEADERS if (value := fields.get(name)) is not None}


def common_name(cert: dict[str, object] | None) -> str | None:
    """The subject's common name of a peer certificate (``SSLSocket.getpeercert()``)."""
    for rdn in (cert or {}).get("subject", ()):  # type: ignore[attr-defined]
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def _http_date() -> str:
    """The HTTP ``Date`` header value, formatted once per second."""
    second = int(time.time())
    if second != _date_cache[0]:
        _date_cache[0] = second
        _date_cache[1] = email.utils.formatdate(second, usegmt=True)
    return str(_date_cache[1])
