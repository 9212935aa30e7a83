"""An answer's head for ``http.client`` without the e-mail parser: status, header fields, framing.

``http.client`` hands every answer's header block to :mod:`email.parser`, a MIME parser, which
was most of the client's CPU per call after the stdlib status line and body reading are left
aside. :class:`LeanResponse` keeps both of those and parses the header fields itself, with the
stdlib's limits (100 lines, 64 KiB a line), refusing a malformed line where the e-mail parser
would take it for the start of the body.
"""

from __future__ import annotations

import http.client
import re
from typing import Any, BinaryIO

#: ``http.client``'s limits on an answer's header lines: how many, and how long one may be.
MAX_HEADERS = 100
MAX_LINE = 65536
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token
_END = (b"\r\n", b"\n", b"")
_NO_BODY = (http.client.NO_CONTENT, http.client.NOT_MODIFIED)


class Head:
    """An answer's header fields, looked up case-insensitively: the part of ``HTTPMessage``
    that ``HTTPResponse`` and :mod:`xrsched.client.answers` use."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields
        self._values: dict[str, list[str]] = {}
        for name, value in fields:
            self._values.setdefault(name.lower(), []).append(value)

    def get(self, name: str, default: Any = None) -> Any:
        """The first value of field ``name``, else ``default``."""
        values = self._values.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str, default: Any = None) -> Any:
        """Every value of field ``name`` in order, else ``default``."""
        values = self._values.get(name.lower())
        return list(values) if values else default

    def items(self) -> list[tuple[str, str]]:
        """(name, value) pairs as they arrived."""
        return list(self._fields)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values


def read_head(fp: BinaryIO) -> Head:
    """Header lines up to the blank line; folded lines join their field with a space."""
    fields: list[tuple[str, str]] = []
    for _ in range(MAX_HEADERS + 1):
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in _END:
            return Head(fields)
        fields.append(_field(line.decode("iso-8859-1").rstrip("\r\n"), fields))
    raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")


def _field(text: str, fields: list[tuple[str, str]]) -> tuple[str, str]:
    """One header line as (name, value); a folded line comes back as its field, extended (and
    replaces it in ``fields``)."""
    if text[:1] in (" ", "\t"):
        if not fields:
            raise http.client.HTTPException("malformed header line (a continuation first)")
        name, value = fields.pop()
        return name, f"{value} {text.strip()}"
    name, colon, value = text.partition(":")
    if not colon or not _NAME.fullmatch(name):
        raise http.client.HTTPException("malformed header line")
    return name, value.strip()


def _length(value: str | None) -> int | None:
    """``Content-Length`` as ``http.client`` reads it: None when absent, unreadable or negative
    (:func:`xrsched.client.answers.check_framing` then refuses the unreadable ones)."""
    try:
        length = int(value) if value else None
    except ValueError:
        return None
    return None if length is None or length < 0 else length


class LeanResponse(http.client.HTTPResponse):
    """``HTTPResponse`` whose head is read by :func:`read_head`; bodies are read by the stdlib."""

    def begin(self) -> None:
        """The stdlib parses the header block with the e-mail package (MIME rules, many times
        the cost of the rest of the answer): here with :func:`read_head`, then the stdlib's
        framing rules (chunked, Content-Length, who closes)."""
        if self.headers is not None:
            return
        version, status, reason = self._read_status()
        while status == http.client.CONTINUE:  # skipped, as the stdlib does
            read_head(self.fp)
            version, status, reason = self._read_status()
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = read_head(self.fp)  # type: ignore[assignment]
        self._frame()

    def _frame(self) -> None:
        """How the body ends: chunks, a length, or the connection's close."""
        coding = self.headers.get("transfer-encoding")
        self.chunked = bool(coding) and coding.lower() == "chunked"
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None if self.chunked else _length(self.headers.get("content-length"))
        if self.status in _NO_BODY or self.status < 200 or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True
