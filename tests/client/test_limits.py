"""Answers the client refuses to read in full: too large, inflating too far, not XML-RPC."""

from __future__ import annotations

import contextlib
import gzip
import time

import pytest

from tests.client import proxy as act
from xrsched.client import MalformedResponse, RemoteScheduler, ResponseTooLarge, TransportError
from xrsched.rpc.marshal import dump_response

CAP = 1024 * 1024


@pytest.fixture
def fake(proxy_factory, dev_certs):
    """(fake server with no upstream, client with a 1 MiB answer cap)."""
    server = proxy_factory(None)
    client = RemoteScheduler(
        server.url, "secret", ca=dev_certs.ca_cert, max_response_bytes=CAP, backoff=0.01, environ={}
    )
    yield server, client
    client.close()


def _head(handler, *lines: str) -> None:
    handler.wfile.write(("HTTP/1.1 200 OK\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode())


def _stream(handler, total: int) -> None:
    block = b"<" * 65536
    with contextlib.suppress(OSError):
        for _ in range(total // len(block)):
            handler.wfile.write(block)


def test_an_announced_huge_body_is_refused_before_reading(fake):
    server, client = fake
    server.default = act.raw(lambda h: _head(h, "Content-Type: text/xml", "Content-Length: 100000000000"))
    started = time.monotonic()
    with pytest.raises(ResponseTooLarge, match="over the 1048576 byte limit"):
        client.ping(worker="w")
    assert time.monotonic() - started < 2
    assert client.stats.retries == 0


def test_an_endless_body_is_cut_off_past_the_cap(fake):
    server, client = fake

    def endless(handler) -> None:
        _head(handler, "Content-Type: text/xml", "Connection: close")
        _stream(handler, 64 * CAP)

    server.default = act.raw(endless)
    with pytest.raises(ResponseTooLarge):
        client.ping(worker="w")


def test_a_huge_chunked_body_is_cut_off_past_the_cap(fake):
    server, client = fake

    def chunked(handler) -> None:
        _head(handler, "Content-Type: text/xml", "Transfer-Encoding: chunked")
        chunk = b"10000\r\n" + b"<" * 65536 + b"\r\n"
        with contextlib.suppress(OSError):
            for _ in range(1024):
                handler.wfile.write(chunk)

    server.default = act.raw(chunked)
    with pytest.raises(ResponseTooLarge):
        client.ping(worker="w")


def test_a_gzip_bomb_is_refused(fake):
    server, client = fake
    bomb = gzip.compress(b" " * (200 * CAP))  # 200 MiB of blanks in about 200 KiB
    assert len(bomb) < CAP

    def write(handler) -> None:
        _head(handler, "Content-Type: text/xml", "Content-Encoding: gzip", f"Content-Length: {len(bomb)}")
        handler.wfile.write(bomb)

    server.default = act.raw(write)
    with pytest.raises(ResponseTooLarge, match="inflates past"):
        client.ping(worker="w")


def test_a_gzip_answer_within_the_cap_is_read(fake):
    server, client = fake
    body = gzip.compress(dump_response({"rpc_messages": []}))

    def write(handler) -> None:
        _head(handler, "Content-Type: text/xml", "Content-Encoding: gzip", f"Content-Length: {len(body)}")
        handler.wfile.write(body)

    server.default = act.raw(write)
    assert client.ping(worker="w") == {"rpc_messages": []}


def test_an_html_page_is_not_an_answer(fake):
    server, client = fake
    server.default = lambda h, body: h.answer(200, b"<html>hi</html>", [("Content-Type", "text/html")])
    with pytest.raises(MalformedResponse, match="text/html"):
        client.ping(worker="w")
    server.default = lambda h, body: h.answer(500, b"<html>oops</html>", [("Content-Type", "text/html")])
    with pytest.raises(TransportError) as info:
        client.ping(worker="w")
    assert info.value.status == 500 and not info.value.retryable
    assert client.stats.retries == 0


def test_a_garbage_status_line_is_a_malformed_answer(fake):
    server, client = fake
    server.default = act.raw(lambda h: h.wfile.write(b"HTTP/1.1 2xx what\r\n" + b"X: " + b"y" * 70000 + b"\r\n\r\n"))
    with pytest.raises(MalformedResponse):
        client.ping(worker="w")


def test_an_xml_bomb_in_the_answer_is_refused(fake):
    server, client = fake
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<methodResponse><params><param><value>&c;</value></param></params></methodResponse>"
    )
    server.default = lambda h, body: h.answer(200, bomb, [("Content-Type", "text/xml")])
    with pytest.raises(MalformedResponse, match="not allowed"):
        client.ping(worker="w")
