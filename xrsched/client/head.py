"""An answer's head for ``http.client`` without the e-mail parser: status, header fields, framing.

``http.client`` hands every answer's header block to :mod:`email.parser`, a MIME parser, which
was most of the client's CPU per call after the stdlib status line and body reading are left
aside. :class:`LeanResponse` keeps both of those and reads the header fields with the server's
parser (:func:`xrsched.rpc.httpmsg.read_buffered_headers`: in one pass when the whole head is
buffered, else line by line) under ``http.client``'s limits (100 lines, 64 KiB a line), refusing
a malformed line where the e-mail parser would take it for the start of the body.
"""

from __future__ import annotations

import http.client
import io
from typing import BinaryIO

from xrsched.rpc.httpmsg import HeaderMap, HttpError, read_buffered_headers, read_headers

#: ``http.client``'s limit on the length of an answer's header line.
MAX_LINE = 65536
_NO_BODY = (http.client.NO_CONTENT, http.client.NOT_MODIFIED)


def read_head(fp: BinaryIO) -> HeaderMap:
    """Header lines up to the blank line, folded lines joined to their field with a space;
    ``http.client.HTTPException`` (a malformed answer) naming what is wrong."""
    try:
        if isinstance(fp, io.BufferedReader):
            return read_buffered_headers(fp, max_line=MAX_LINE, fold=True)
        return read_headers(fp.readline, max_line=MAX_LINE, fold=True)
    except HttpError as exc:
        raise http.client.HTTPException(exc.message) from None


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
