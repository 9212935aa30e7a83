"""The socket-free HTTP pieces: request line, header block, response head, request ids."""

from __future__ import annotations

import io

import pytest

from xrsched.rpc.httpmsg import (
    HttpError,
    Response,
    common_name,
    parse_request_line,
    read_buffered_headers,
    read_headers,
    request_id,
    response_head,
    safe_headers,
)


def test_request_line():
    assert parse_request_line("POST /RPC2 HTTP/1.1") == ("POST", "/RPC2", "HTTP/1.1")
    for line, status in (("GET /", 400), ("GET / FTP/1.0", 400), ("GET / HTTP/1", 400), ("GET / HTTP/2.0", 505)):
        with pytest.raises(HttpError) as info:
            parse_request_line(line)
        assert info.value.status == status, line


def headers_of(raw: bytes):
    return read_headers(io.BytesIO(raw).readline)


def test_header_block_is_case_insensitive_and_first_value_wins():
    headers = headers_of(b"Content-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody")
    assert headers["content-length"] == "5" and headers["X-A"] == "1"
    assert headers.get_all("X-A") == ["1", "2"] and headers.get_all("x-missing") is None
    assert headers.get("X-a") == "1" and headers.get("CONTENT-LENGTH") == "5"
    assert headers.get("x-missing") is None and headers.get("x-missing", "d") == "d"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"X: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"".join(b"X-%d: y\r\n" % i for i in range(101)) + b"\r\n", 431),
        (b"no colon here\r\n\r\n", 400),
        (b" folded: continuation\r\n\r\n", 400),
        (b"Name : space before colon\r\n\r\n", 400),
        (b"Two words: a field name is a token\r\n\r\n", 400),
        (b"X-\xe9: not a token either\r\n\r\n", 400),
    ],
)
def test_header_block_limits(raw, status):
    with pytest.raises(HttpError) as info:
        headers_of(raw)
    assert info.value.status == status


HEADS = [
    b"\r\n",
    b"Host: a\r\nContent-Length: 5\r\n\r\n",
    b"Host: a\r\nX-A: 1\r\nx-a: 2\r\nX-A: 3\r\n\r\n",  # repeated names: the first wins
    b"Host:a\r\nX-Empty:\r\nX-Spaces:   padded \t \r\n\r\n",
    b"Host: a\nX-Bare-LF: 1\r\n\r\n",  # a bare LF ends a line too
    b"Host: a\r\nX-CR: a\rb\r\n\r\n",  # a lone CR inside a value
    b"Host: a\r\nX-Colons: a:b:c\r\n\r\n",
    b"Host: a\r\nX-Latin: caf\xe9\r\n\r\n",
    b"Host: a\r\n folded: continuation\r\n\r\n",
    b"Host: a\r\nX-Folded: first\r\n\t second\r\n\r\n",
    b"Host: a\r\nno colon here\r\n\r\n",
    b"Host: a\r\nName : space before colon\r\n\r\n",
    b"Host: a\r\n: no name\r\n\r\n",
    b"Host: a\r\nX-\xe9: not a token\r\n\r\n",
    b"Host: a\r\n\nX-After-Bare-LF-Blank: 1\r\n\r\n",
    b"X: " + b"a" * 8187 + b"\r\n\r\n",  # the longest line allowed: 8,192 bytes with its CRLF
    b"X: " + b"a" * 8188 + b"\r\n\r\n",
    b"".join(b"X-%d: y\r\n" % i for i in range(100)) + b"\r\n",  # the most lines allowed
    b"".join(b"X-%d: y\r\n" % i for i in range(101)) + b"\r\n",
    b"Host: a\r\nX-Unfinished: the head goes on",  # not all buffered yet: line by line
]


def read_both(raw: bytes, *, max_line: int, fold: bool):
    """What each reader makes of ``raw`` (+ a body): fields or error status, and what is left."""
    outcomes = []
    readers = (
        lambda stream: read_headers(stream.readline, max_line=max_line, fold=fold),
        lambda stream: read_buffered_headers(stream, max_line=max_line, fold=fold),
    )
    for read in readers:
        stream = io.BufferedReader(io.BytesIO(raw + b"BODY"), 64 * 1024)
        try:
            headers = read(stream)
            outcome = (list(headers.items()), {name: headers.get_all(name) for name in headers})
        except HttpError as exc:
            outcome = exc.status
        outcomes.append((outcome, stream.read()))
    return outcomes


@pytest.mark.parametrize("fold", [False, True], ids=["request", "answer"])
@pytest.mark.parametrize("raw", HEADS)
def test_the_buffered_reader_reads_every_head_as_the_line_reader_does(raw, fold):
    # An answer's reader (the client's) joins folded lines and allows 64 KiB lines.
    line_by_line, buffered = read_both(raw, max_line=65536 if fold else 8192, fold=fold)
    assert buffered == line_by_line


def test_the_buffered_reader_takes_a_whole_head_in_one_read():
    stream = io.BufferedReader(io.BytesIO(b"Host: a\r\nX-A: 1\r\nx-a: 2\r\n\r\nBODY"), 1024)
    headers = read_buffered_headers(stream)
    assert headers.get_all("x-a") == ["1", "2"] and headers["X-A"] == "1" and headers["host"] == "a"
    assert stream.read() == b"BODY"


def test_a_client_joins_folded_lines_within_the_line_count():
    # An answer's obs-fold is joined with a space (RFC 9112 §5.2); a request's is refused above.
    raw = b"X-A: one\r\n  two\r\n\tthree\r\nX-B: b\r\n\r\n"
    headers = read_headers(io.BytesIO(raw).readline, fold=True)
    assert headers["x-a"] == "one two three" and headers["x-b"] == "b"
    for refused, status in (
        (b" first: a continuation first\r\n\r\n", 400),
        (b"X-A: a\r\n" + b" more\r\n" * 100 + b"\r\n", 431),  # continuation lines count too
    ):
        with pytest.raises(HttpError) as info:
            read_headers(io.BytesIO(refused).readline, fold=True)
        assert info.value.status == status


def test_response_head():
    head = response_head(Response.text(404, "not found"), server="xrsched", request_id="r1", close=True, http10=False)
    text = head.decode()
    assert text.startswith("HTTP/1.1 404 Not Found\r\nServer: xrsched\r\n")
    assert "Content-Length: 10\r\n" in text and "X-Request-Id: r1\r\n" in text
    assert text.endswith("Connection: close\r\n\r\n")
    kept = response_head(Response(200, b"x"), server="s", request_id="", close=False, http10=True).decode()
    assert "Connection: keep-alive" in kept and "X-Request-Id" not in kept


def test_request_ids_and_safe_headers():
    assert request_id("abc-123") == "abc-123"
    fresh = {request_id("bad id"), request_id("x" * 65)}
    assert len(fresh) == 2 and all(" " not in rid for rid in fresh)
    kept = safe_headers(headers_of(b"Authorization: Bearer s\r\nUser-Agent: " + b"u" * 300 + b"\r\n\r\n"))
    assert kept == {"user-agent": "u" * 256}
    mixed = headers_of(b"HOST: h\r\ncontent-TYPE: text/xml\r\nCookie: c\r\nContent-Length: 0\r\n\r\n")
    assert safe_headers(mixed) == {"host": "h", "content-type": "text/xml", "content-length": "0"}
    assert common_name({"subject": ((("commonName", "worker-1"),),)}) == "worker-1"
    assert common_name(None) is None
