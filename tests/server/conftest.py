"""A real xrsched server (the production runtime) on 127.0.0.1:0 with certificates made at test time."""

from __future__ import annotations

import base64
import io
import json
import ssl
import threading
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from xrsched.auth import add_token
from xrsched.server.runtime import ServerRuntime
from xrsched.settings import build_settings


class TokenTransport(xmlrpc.client.SafeTransport):
    """stdlib SafeTransport that sends ``Authorization: Bearer <secret>``."""

    def __init__(self, secret: str | None, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._secret = secret

    def send_headers(self, connection, headers):  # type: ignore[override]
        if self._secret is not None:
            headers = [*headers, ("Authorization", f"Bearer {self._secret}")]
        super().send_headers(connection, headers)


@dataclass
class LiveServer:
    runtime: ServerRuntime
    url: str
    ca: Path
    tokens_path: Path
    audit_path: Path
    admin: str
    output: io.StringIO

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def proxy(self, secret: str | None = None) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(self.url, transport=TokenTransport(secret, self.context()))

    def basic_proxy(self, token_id: str, secret: str) -> xmlrpc.client.ServerProxy:
        host = self.url.split("//", 1)[1]
        return xmlrpc.client.ServerProxy(f"https://{token_id}:{secret}@{host}", context=self.context())

    def token(self, token_id: str, role: str) -> str:
        secret = add_token(self.tokens_path, token_id, role)
        self.runtime.reload()
        return secret

    def audit_records(self) -> list[dict]:
        return [json.loads(line) for line in self.audit_path.read_text().splitlines() if line.strip()]

    @staticmethod
    def basic(token_id: str, secret: str) -> str:
        return "Basic " + base64.b64encode(f"{token_id}:{secret}".encode()).decode()


@pytest.fixture
def live_server_factory(tmp_path: Path, dev_certs) -> Iterator:
    """Start servers with extra settings; each is stopped at the end of the test."""
    started: list[tuple[ServerRuntime, threading.Thread]] = []

    def start(**extra) -> LiveServer:
        state = tmp_path / f"state{len(started)}"
        values = {
            "port": 0,
            "state_path": str(state),
            "tls_cert": str(dev_certs.server_cert),
            "tls_key": str(dev_certs.server_key),
        }
        values.update(extra)
        settings = build_settings(values, environ={})
        output = io.StringIO()
        runtime = ServerRuntime(settings, out=output)
        admin_line = next(line for line in output.getvalue().splitlines() if "secret:" in line)
        ready = threading.Event()
        thread = threading.Thread(target=runtime.run, kwargs={"on_ready": ready.set}, daemon=True)
        thread.start()
        started.append((runtime, thread))
        assert ready.wait(10)
        return LiveServer(
            runtime=runtime,
            url=runtime.url.replace("127.0.0.1", "localhost"),
            ca=dev_certs.ca_cert,
            tokens_path=settings.resolved_tokens(),
            audit_path=settings.resolved_audit_log(),
            admin=admin_line.split("secret:", 1)[1].strip(),
            output=output,
        )

    yield start
    for runtime, thread in started:
        runtime.stop()
        thread.join(20)


@pytest.fixture
def live_server(live_server_factory) -> LiveServer:
    """One server with default settings."""
    return live_server_factory()
