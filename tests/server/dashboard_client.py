"""A small browser stand-in for the dashboard tests: HTTPS requests that keep the session cookie."""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlencode

from tests.server.conftest import LiveServer

FORM = "application/x-www-form-urlencoded"
SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        assert self.headers["Content-Type"] == "application/json; charset=utf-8", (self.status, self.body)
        return json.loads(self.body)

    def error(self) -> str:
        body = self.json()
        assert body["error"]["status"] == self.status
        return body["error"]["message"]

    def has_security_headers(self) -> bool:
        return all(self.headers.get(name) == value for name, value in SECURITY.items())


@dataclass
class Browser:
    """Sends what the dashboard's page sends; remembers the cookie and CSRF token it was given."""

    live: LiveServer
    cookie: str | None = None
    csrf: str | None = None
    last: Answer | None = field(default=None, repr=False)

    def request(self, verb: str, path: str, body: bytes | str | None = None, headers: dict | None = None) -> Answer:
        _, port = self.live.runtime.http.server_address
        conn = http.client.HTTPSConnection("localhost", port, context=self.live.context(), timeout=10)
        sent = dict(headers or {})
        if self.cookie is not None and "Cookie" not in sent:
            sent["Cookie"] = f"xrsched_session={self.cookie}"
        try:
            conn.request(verb, path, body=body, headers=sent)
            response = conn.getresponse()
            self.last = Answer(response.status, response.headers, response.read())
            return self.last
        finally:
            conn.close()

    def sign_in(self, token: str, headers: dict | None = None) -> Answer:
        answer = self.request(
            "POST",
            "/session",
            json.dumps({"token": token}),
            {"Content-Type": "application/json", **(headers or {})},
        )
        if answer.status == 200:
            self.cookie = answer.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
            self.csrf = answer.json()["csrf"]
        return answer

    def sign_out(self, csrf: str | None = "mine") -> Answer:
        headers = {} if csrf is None else {"X-CSRF-Token": self.csrf if csrf == "mine" else csrf}
        return self.request("DELETE", "/session", headers=headers)

    def call(self, method: str, args: dict | None = None, *, csrf: str | None = "mine", headers=None) -> Answer:
        """``POST /api/<method>`` as the page does: form field ``data``, the CSRF header."""
        sent = {"Content-Type": FORM, **(headers or {})}
        if csrf is not None:
            sent["X-CSRF-Token"] = self.csrf if csrf == "mine" else csrf
        body = urlencode({"data": json.dumps(args or {})})
        return self.request("POST", f"/api/{method}", body, sent)

    def get(self, path: str, headers: dict | None = None) -> Answer:
        return self.request("GET", path, headers=headers)


def raw_request(verb: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """One HTTP/1.1 request's bytes, to send on a kept-alive socket (no Content-Length without
    a body: the server closes the connection after a GET whose announced body it did not read)."""
    lines = [f"{verb} {path} HTTP/1.1", "Host: localhost"] + ([f"Content-Length: {len(body)}"] if body else [])
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_head(sock: ssl.SSLSocket, buffered: bytes) -> tuple[bytes, bytes]:
    """One answer's head from a kept-alive socket, and what arrived after it (the caller reads
    any body): after a 204 or a 304 the next bytes must be the next answer's head."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {buffered!r}"
        buffered += chunk
    head, _, rest = buffered.partition(b"\r\n\r\n")
    return head, rest
