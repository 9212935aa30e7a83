"""HTTP/1.1 + TLS transport: routing, keep-alive, HTTP/1.0, authentication, headers."""

from __future__ import annotations

import gzip
import http.client

import pytest

from tests.rpc.http_support import (
    RESPONSE,
    TOKEN,
    EchoApp,
    https,
    post_rpc,
    read_until_close,
    run_server,
    tls_socket,
)
from xrsched.health import parse_xml
from xrsched.rpc.app import Application


def test_echo_app_satisfies_the_protocol():
    assert isinstance(EchoApp(), Application)


def test_two_requests_share_one_tls_connection(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app) as server:
        conn = https(server, dev_certs)
        first, body1 = post_rpc(conn)
        sock = conn.sock
        second, body2 = post_rpc(conn, body=b"<methodCall><methodName>ping</methodName></methodCall>")
        assert conn.sock is sock  # no reconnect happened
        assert (first.status, second.status) == (200, 200)
        assert body1 == body2 == RESPONSE
        assert first.getheader("Content-Type").startswith("text/xml")
        assert first.getheader("Connection") is None
        conn.close()
    assert [call[1].identity for call in app.calls] == ["tester", "tester"]
    assert all(call[1].tls for call in app.calls)


def test_post_to_root_and_application_xml_are_accepted(dev_certs):
    with run_server(dev_certs) as server:
        conn = https(server, dev_certs)
        conn.request(
            "POST",
            "/",
            body=b"<methodCall/>",
            headers={"Content-Type": "application/xml; charset=utf-8", "Authorization": f"Bearer {TOKEN}"},
        )
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == RESPONSE
        conn.close()


def test_missing_content_type_is_tolerated_and_other_types_are_415(dev_certs):
    with run_server(dev_certs) as server:
        conn = https(server, dev_certs)
        conn.putrequest("POST", "/RPC2", skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {TOKEN}")
        conn.putheader("Content-Length", "13")
        conn.endheaders(b"<methodCall/>")
        assert conn.getresponse().read() == RESPONSE
        response, body = post_rpc(conn, Content_Type="application/json")
        assert response.status == 415
        assert body.startswith(b"XML-RPC requests must be sent as")
        conn.close()


def test_http_10_closes_unless_keep_alive_is_asked(dev_certs):
    with run_server(dev_certs) as server:
        with tls_socket(server, dev_certs) as sock:
            sock.sendall(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
            data = read_until_close(sock)  # returns only because the server closes
        assert data.startswith(b"HTTP/1.1 200 ")
        assert b"\r\nConnection: close\r\n" in data
        assert b'<health status="ok"' in data

        with tls_socket(server, dev_certs) as sock:
            request = b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            sock.sendall(request)
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.getheader("Connection") == "keep-alive"
            response.read()
            sock.sendall(request)  # the same connection answers again
            again = http.client.HTTPResponse(sock)
            again.begin()
            assert again.status == 200


def test_a_get_announcing_an_empty_body_keeps_the_connection(dev_certs):
    # Some monitoring clients send "Content-Length: 0" on every request, GET included: nothing
    # is left unread, so the connection stays open (a body of 1 byte left unread closes it).
    with run_server(dev_certs) as server, tls_socket(server, dev_certs) as sock:
        for _ in range(2):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert (response.status, response.getheader("Connection")) == (200, None)
            response.read()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx")
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert (response.status, response.getheader("Connection")) == (200, "close")
    with run_server(dev_certs) as server, tls_socket(server, dev_certs) as sock:
        # A chunked body is never read either: the connection closes rather than parse it as a request.
        chunked = b"Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n" + chunked)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert (response.status, response.getheader("Connection")) == (200, "close")


def test_get_elsewhere_is_a_short_plain_404(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app) as server:
        conn = https(server, dev_certs)
        conn.request("GET", "/RPC3?x=1")
        response = conn.getresponse()
        body = response.read()
        assert response.status == 404
        assert response.getheader("Content-Type").startswith("text/plain")
        assert body == b"not found\n"
        assert b"<html" not in body.lower() and b"Traceback" not in body
    assert [(info.path, status) for info, status in app.refused] == [("/RPC3", 404)]


def test_wrong_method_is_405_with_allow(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app) as server:
        conn = https(server, dev_certs)
        conn.request("GET", "/RPC2")
        response = conn.getresponse()
        response.read()
        assert response.status == 405
        assert response.getheader("Allow") == "POST"
        conn.request("DELETE", "/health")
        response = conn.getresponse()
        response.read()
        assert (response.status, response.getheader("Allow")) == (405, "GET, HEAD")
        conn.close()
    assert [status for _, status in app.refused] == [405, 405]


def test_query_string_is_ignored_and_unknown_methods_are_refused_by_path(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app) as server:
        conn = https(server, dev_certs)
        conn.request("POST", "/RPC2?via=proxy", body=b"<methodCall/>", headers={"Authorization": f"Bearer {TOKEN}"})
        assert conn.getresponse().read() == RESPONSE
        answers = []
        for method, path in (("BREW", "/RPC2"), ("PUT", "/health"), ("BREW", "/coffee"), ("DELETE", "/")):
            conn.request(method, path)
            response = conn.getresponse()
            response.read()
            answers.append((response.status, response.getheader("Allow")))
        conn.close()
    assert answers == [(405, "POST"), (405, "GET, HEAD"), (404, None), (405, "POST")]
    assert [status for _, status in app.refused] == [405, 405, 404, 405]


def test_missing_or_wrong_credentials_are_401_with_basic_challenge(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app) as server:
        conn = https(server, dev_certs)
        for auth in ("", "Bearer wrong"):
            headers = {"Content-Type": "text/xml"} | ({"Authorization": auth} if auth else {})
            conn.request("POST", "/RPC2", body=b"<methodCall/>", headers=headers)
            response = conn.getresponse()
            assert response.status == 401
            assert response.getheader("WWW-Authenticate") == 'Basic realm="xrsched"'
            response.read()
        # the small refused bodies were read and dropped, so the connection is still usable
        response, _ = post_rpc(conn)
        assert response.status == 200
        conn.close()
    assert [status for _, status in app.refused] == [401, 401]
    assert all("authorization" not in info.headers for info, _ in app.refused)
    assert not app.calls[:-1]


def test_health_answers_without_credentials_unless_configured(dev_certs):
    with run_server(dev_certs) as server:
        conn = https(server, dev_certs)
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type").startswith("application/xml")
        assert parse_xml(response.read()).scheduler.tasks == 120
        conn.request("HEAD", "/health")
        head = conn.getresponse()
        assert head.status == 200 and head.read() == b""
        conn.close()
    with run_server(dev_certs, health_requires_token=True) as server:
        conn = https(server, dev_certs)
        conn.request("GET", "/health")
        response = conn.getresponse()
        response.read()
        assert response.status == 401
        conn.request("GET", "/health", headers={"Authorization": f"Bearer {TOKEN}"})
        assert conn.getresponse().status == 200
        conn.close()


def test_down_health_is_503(dev_certs):
    with run_server(dev_certs, EchoApp(status="down")) as server:
        conn = https(server, dev_certs)
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert response.status == 503
        assert parse_xml(response.read()).status == "down"
        conn.close()


def test_server_header_hides_python(dev_certs):
    with run_server(dev_certs) as server:
        conn = https(server, dev_certs)
        for method, path in (("GET", "/health"), ("GET", "/nope"), ("BREW", "/")):
            conn.request(method, path)
            response = conn.getresponse()
            response.read()
            assert response.getheader("Server") == "xrsched"
            assert "python" not in str(response.headers).lower()
        conn.close()


def test_gzip_body_and_request_id_reach_the_application(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app) as server:
        conn = https(server, dev_certs)
        packed = gzip.compress(b"<methodCall/>")
        response, _ = post_rpc(conn, body=packed, Content_Encoding="gzip", X_Request_Id="abc-123")
        assert response.getheader("X-Request-Id") == "abc-123"
        response, _ = post_rpc(conn, X_Request_Id="bad id with spaces")
        generated = response.getheader("X-Request-Id")
        conn.close()
    (body, info), (_, info2) = app.calls
    assert (body, info.request_id) == (b"<methodCall/>", "abc-123")  # inflated by the handler
    assert info2.request_id == generated and generated
    assert info.peer[0] == "127.0.0.1" and info.method == "POST" and info.path == "/RPC2"


def test_client_certificate_identity(dev_certs):
    from xrsched.tls import client_context

    app = EchoApp()
    with run_server(dev_certs, app) as server:
        ctx = client_context(dev_certs.ca_cert, cert=dev_certs.client_cert, key=dev_certs.client_key)
        conn = http.client.HTTPSConnection("localhost", server.server_address[1], context=ctx, timeout=5)
        conn.request("POST", "/RPC2", body=b"<methodCall/>", headers={"Content-Type": "text/xml"})
        assert conn.getresponse().status == 200
        conn.close()
    assert app.calls[0][1].identity == dev_certs.client_cn


def test_plain_http_mode(dev_certs):
    with run_server(dev_certs, tls=False) as server:
        conn = http.client.HTTPConnection(*server.server_address, timeout=5)
        response, body = post_rpc(conn)
        assert (response.status, body) == (200, RESPONSE)
        conn.close()


def test_application_refusal_is_not_audited_twice(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app) as server:
        conn = https(server, dev_certs)
        response, body = post_rpc(conn, body=b"<refuse/>")
        assert (response.status, body) == (503, b"changes not durable\n")
        assert response.getheader("Connection") is None  # body was read: keep-alive survives
        assert post_rpc(conn)[0].status == 200
        conn.close()
    assert app.refused == []


def test_unknown_content_encoding_is_415_and_audited_once(dev_certs):
    app = EchoApp()
    with run_server(dev_certs, app) as server:
        conn = https(server, dev_certs)
        response, body = post_rpc(conn, Content_Encoding="br")
        assert response.status == 415
        assert body.startswith(b"unsupported Content-Encoding")
        assert response.getheader("Connection") is None  # body was read: keep-alive survives
        assert post_rpc(conn)[0].status == 200
        conn.close()
    assert [status for _, status in app.refused] == [415]
    assert len(app.calls) == 1


def test_gzip_bomb_is_413_without_reaching_the_application(dev_certs):
    app = EchoApp()
    bomb = gzip.compress(b"<methodCall>" + b" " * 5_000_000 + b"</methodCall>")
    with run_server(dev_certs, app, max_decompressed_bytes=1_000_000) as server:
        conn = https(server, dev_certs)
        response, body = post_rpc(conn, body=bomb, Content_Encoding="gzip")
        assert response.status == 413
        assert b"inflates past the 1000000 byte limit" in body
        assert post_rpc(conn)[0].status == 200  # the compressed body was read: keep-alive survives
        conn.close()
    assert [status for _, status in app.refused] == [413]
    assert len(app.calls) == 1


def test_replace_tls_context_serves_new_connections_with_it(dev_certs, tmp_path):
    from xrsched.certgen import make_dev_certificates
    from xrsched.tls import client_context, server_context

    other = make_dev_certificates(tmp_path / "other")
    with run_server(dev_certs) as server:
        old = https(server, dev_certs)
        assert post_rpc(old)[0].status == 200
        server.replace_tls_context(server_context(other.server_cert, other.server_key))
        port = server.server_address[1]
        ctx = client_context(other.ca_cert)
        fresh = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=5)
        assert post_rpc(fresh)[0].status == 200
        assert post_rpc(old)[0].status == 200  # the open connection keeps its context
        old.close()
        fresh.close()
    with run_server(dev_certs, tls=False) as server, pytest.raises(RuntimeError):
        server.replace_tls_context(server_context(other.server_cert, other.server_key))
