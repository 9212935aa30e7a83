"""How the transport (``http.client`` under its hooks) reads raw answers from a fake server over real TLS sockets."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.client import proxy as act
from xrsched.client import ClientError, MalformedResponse, RemoteScheduler, TransportError
from xrsched.client.transport import SchedulerTransport
from xrsched.rpc.marshal import dump_response

#: ``http.client``'s own limits on header lines (count, and length of one line).
MAX_HEADERS = 100
MAX_LINE = 65536

ANSWER = dump_response({"rpc_messages": []})


@pytest.fixture
def fake(proxy_factory, dev_certs):
    """(fake server with no upstream, client that does not retry)."""
    server = proxy_factory(None)
    client = RemoteScheduler(server.url, "secret", ca=dev_certs.ca_cert, retries=0, backoff=0.01, environ={})
    yield server, client
    client.close()


def _answer(*head: str, body: bytes = ANSWER, status: str = "HTTP/1.1 200 OK") -> act.Action:
    data = (status + "\r\n" + "".join(f"{line}\r\n" for line in head) + "\r\n").encode() + body
    return act.raw(lambda handler: handler.wfile.write(data))


def _chunked(body: bytes, size: int = 100) -> bytes:
    parts = [b"%x;ext=1\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\nX-Trailer: yes\r\n\r\n"


def test_a_chunked_answer_with_extensions_and_trailers_is_read(fake):
    server, client = fake
    server.default = _answer("Content-Type: text/xml", "Transfer-Encoding: chunked", body=_chunked(ANSWER))
    assert client.ping(worker="w") == {"rpc_messages": []}


def test_an_answer_framed_by_the_end_of_the_connection_is_read(fake):
    server, client = fake
    server.default = _answer("Content-Type: text/xml", "Connection: close")
    assert client.ping(worker="w") == {"rpc_messages": []}


def test_an_http_1_0_answer_is_read(fake):
    server, client = fake
    server.default = _answer("Content-Type: text/xml", f"Content-Length: {len(ANSWER)}", status="HTTP/1.0 200 OK")
    assert client.ping(worker="w") == {"rpc_messages": []}


def test_a_100_continue_is_skipped(fake):
    server, client = fake
    server.default = _answer(
        "Content-Type: text/xml",
        f"Content-Length: {len(ANSWER)}",
        status="HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK",
    )
    assert client.ping(worker="w") == {"rpc_messages": []}


def test_another_interim_answer_is_refused_not_taken_for_the_answer(fake):
    # http.client skips only 100 Continue; a 103 would stand in for the answer, so it is refused.
    server, client = fake
    server.default = _answer(
        "Content-Type: text/xml",
        f"Content-Length: {len(ANSWER)}",
        status="HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK",
    )
    with pytest.raises(MalformedResponse, match="interim status 103"):
        client.ping(worker="w")


def test_header_names_are_case_insensitive_and_folded_values_joined(fake):
    server, client = fake
    server.default = _answer("CONTENT-TYPE: text/xml;", "  charset=utf-8", f"content-length: {len(ANSWER)}")
    assert client.ping(worker="w") == {"rpc_messages": []}


@pytest.mark.parametrize(
    ("head", "status", "message"),
    [
        ([], "HTTP/2 200 OK", "UnknownProtocol: HTTP/2"),
        ([], "ICY 200 OK", "BadStatusLine: ICY 200 OK"),
        ([], "HTTP/1.1 2000 OK", "BadStatusLine"),
        ([], "HTTP/1.1 20 OK", "BadStatusLine"),
        (["Upgrade: h2c"], "HTTP/1.1 101 Switching Protocols", "switched protocols"),
        ([f"X-{i}: y" for i in range(MAX_HEADERS + 1)], "HTTP/1.1 200 OK", "too many headers"),
        (["X-Long: " + "y" * MAX_LINE], "HTTP/1.1 200 OK", "header line too long"),
        (["Content-Type: text/xml", "Content-Length: 5", "Content-Length: 6"], "HTTP/1.1 200 OK", "Content-Length"),
        (["Content-Type: text/xml", "Content-Length: -1"], "HTTP/1.1 200 OK", "Content-Length"),
        (["Content-Type: text/xml", "Transfer-Encoding: chunked"], "HTTP/1.1 200 OK", "chunk size"),
        # http.client's e-mail parser would take these for the start of the body: refused here
        (["No colon here", "Content-Type: text/xml"], "HTTP/1.1 200 OK", "malformed header line"),
        (["Content-Type : text/xml"], "HTTP/1.1 200 OK", "malformed header line"),
        ([" folded: first", "Content-Type: text/xml"], "HTTP/1.1 200 OK", "malformed header line"),
    ],
)
def test_answers_that_are_not_valid_http_are_malformed(fake, head, status, message):
    server, client = fake
    server.default = _answer(*head, body=b"zz\r\n", status=status)
    with pytest.raises(MalformedResponse, match=message):
        client.ping(worker="w")


@pytest.mark.parametrize(
    "head",
    [
        ["Content-Type: text/xml", f"Content-Length: {len(ANSWER) + 10}"],  # the body stops short
        ["Content-Type: text/xml", "Transfer-Encoding: chunked"],  # the chunks stop short
    ],
)
def test_an_answer_cut_off_midway_is_a_retryable_transport_error(fake, head):
    server, client = fake
    body = ANSWER if "Content-Length" in head[1] else b"%x\r\n%s" % (len(ANSWER) + 10, ANSWER)
    server.default = _answer(*head, body=body)
    with pytest.raises(TransportError, match="cut off") as info:
        client.ping(worker="w")
    assert info.value.retryable


def test_an_error_answer_keeps_only_the_start_of_its_text(fake):
    server, client = fake
    text = b"overloaded " * 10_000
    server.default = _answer("Content-Type: text/plain", f"Content-Length: {len(text)}", body=text,
                             status="HTTP/1.1 503 Service Unavailable")  # fmt: skip
    with pytest.raises(ClientError, match=r"503.*overloaded") as info:
        client.ping(worker="w")
    assert len(str(info.value)) < 400


def test_bytes_nobody_asked_for_make_the_next_call_reconnect():
    """An answer followed by stray bytes on a kept connection: the next call opens a new one."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)
    accepted: list[socket.socket] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            accepted.append(conn)
            conn.recv(65536)
            conn.sendall(answer)
            time.sleep(0.05)
            conn.sendall(b"junk")  # after the answer was read; the connection stays open

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = RemoteScheduler(f"http://127.0.0.1:{listener.getsockname()[1]}/RPC2", retries=0, environ={})
    try:
        assert client.ping(worker="w") == {"rpc_messages": []}
        time.sleep(0.2)  # the stray bytes arrive
        assert client.ping(worker="w") == {"rpc_messages": []}
        assert client.stats.connections_opened == 2
        assert client.stats.retries == 0
    finally:
        client.close()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_path_with_blanks_or_controls_is_refused():
    for url in ("https://localhost:1/RPC 2", "https://localhost:1/RPC\x7f"):
        with pytest.raises(ValueError, match="printable ASCII"):
            RemoteScheduler(url, "secret", environ={})


def test_a_connection_whose_answer_was_not_read_whole_is_not_reused(fake):
    # 3,000 bytes of text: more than the client keeps of an error, all of it already buffered.
    server, client = fake
    text = b"overloaded " * 300
    server.default = lambda h, body: h.answer(503, text, [("Content-Type", "text/plain")])  # keep-alive
    with pytest.raises(ClientError, match="503"):
        client.ping(worker="w")
    server.default = lambda h, body: h.answer(200, ANSWER, [("Content-Type", "text/xml")])
    assert client.ping(worker="w") == {"rpc_messages": []}
    assert client.stats.connections_opened == 2


def test_the_head_and_the_body_leave_in_one_write():
    """http.client writes them separately; one record on a SOCK_SEQPACKET pair is one write."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    transport = SchedulerTransport("http://127.0.0.1:9/RPC2", "secret")
    transport._slot().conn.sock = ours  # the thread's connection, already "connected"
    records: list[bytes] = []

    def serve() -> None:
        records.append(theirs.recv(65536))
        theirs.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(ANSWER) + ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert transport.request("127.0.0.1", "/RPC2", b"<methodCall/>", request_id="r-1") == ({"rpc_messages": []},)
        (record,) = records
        assert record.startswith(b"POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n")
        assert record.endswith(b"\r\nContent-Length: 13\r\n\r\n<methodCall/>")
        for line in (b"Authorization: Bearer secret", b"X-Request-Id: r-1", b"Content-Type: text/xml"):
            assert line + b"\r\n" in record
    finally:
        thread.join(5)
        transport.close()
        theirs.close()


def test_header_values_a_request_head_cannot_carry_are_refused_before_sending():
    with pytest.raises(ValueError, match="token must be printable ASCII"):
        SchedulerTransport("http://127.0.0.1:9/RPC2", "secret\r\nX-Evil: 1")
    transport = SchedulerTransport("http://127.0.0.1:9/RPC2", "secret")
    with pytest.raises(ValueError, match="printable ASCII"):
        transport.send_request("127.0.0.1", "/RPC2 HTTP/1.0\r\nX-Evil: 1", b"<methodCall/>")
    assert transport.stats.connections_opened == 0
