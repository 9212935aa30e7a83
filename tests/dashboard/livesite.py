"""A real scheduler with the dashboard on 127.0.0.1:0, and a page object that drives it.

Shared by the browser tests, ``benchmarks/dashboard_graph.py`` and ``scripts/screenshots.py``.
"""

from __future__ import annotations

import io
import json
import ssl
import threading
import xmlrpc.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.dashboard.browser import WAIT
from xrsched.auth import add_token
from xrsched.certgen import make_dev_certificates
from xrsched.server.runtime import ServerRuntime
from xrsched.settings import build_settings


class _Bearer(xmlrpc.client.SafeTransport):
    def __init__(self, secret: str, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._secret = secret

    def send_headers(self, connection, headers):  # type: ignore[override]
        super().send_headers(connection, [*headers, ("Authorization", f"Bearer {self._secret}")])


@dataclass
class DashServer:
    """A running server: its base URL (``https://localhost:PORT/``), CA, and tokens by role."""

    runtime: ServerRuntime
    base: str
    ca: Path
    tokens: Path
    audit: Path
    secrets: dict[str, str]

    def mint(self, token_id: str, role: str) -> str:
        """A new token (its secret), live at once."""
        secret = add_token(self.tokens, token_id, role)
        self.runtime.reload()
        self.secrets[token_id] = secret
        return secret

    def proxy(self, token_id: str = "admin") -> xmlrpc.client.ServerProxy:
        """An XML-RPC client with that token."""
        context = ssl.create_default_context(cafile=str(self.ca))
        return xmlrpc.client.ServerProxy(f"{self.base}RPC2", transport=_Bearer(self.secrets[token_id], context))

    def call(self, method: str, token_id: str = "admin", **kwargs: Any) -> Any:
        """Call ``method`` with keyword arguments (the ``__starstar`` convention)."""
        return getattr(self.proxy(token_id), method)({**kwargs, "__starstar": True})

    def audit_records(self) -> list[dict[str, Any]]:
        """Every audit record written so far."""
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]


@contextmanager
def dashboard_server(directory: Path, certs: Any = None, **extra: Any) -> Iterator[DashServer]:
    """Run a scheduler (the production runtime, TLS, audit log) with ``admin``, ``ops``
    (operator), ``view`` (viewer) and ``runner`` (worker) tokens; stopped on exit."""
    certs = certs or make_dev_certificates(directory / "certs")
    values = {
        "port": 0,
        "state_path": str(directory / "state"),
        "tls_cert": str(certs.server_cert),
        "tls_key": str(certs.server_key),
        **extra,
    }
    settings = build_settings(values, environ={})
    output = io.StringIO()
    runtime = ServerRuntime(settings, out=output)
    admin = next(line for line in output.getvalue().splitlines() if "secret:" in line).split("secret:", 1)[1].strip()
    ready = threading.Event()
    thread = threading.Thread(target=runtime.run, kwargs={"on_ready": ready.set}, daemon=True)
    thread.start()
    try:
        assert ready.wait(20), "the server did not start"
        server = DashServer(
            runtime=runtime,
            base=runtime.url.replace("127.0.0.1", "localhost").split("/RPC2")[0].rstrip("/") + "/",
            ca=certs.ca_cert,
            tokens=settings.resolved_tokens(),
            audit=settings.resolved_audit_log(),
            secrets={"admin": admin},
        )
        for token_id, role in (("ops", "operator"), ("view", "viewer"), ("runner", "worker")):
            server.mint(token_id, role)
        yield server
    finally:
        runtime.stop()
        thread.join(20)


class Page:
    """The dashboard in one browser: navigation, explicit waits and in-page requests."""

    def __init__(self, driver: Any, server: DashServer) -> None:
        self.driver = driver
        self.server = server

    def open(self) -> None:
        """Load the page afresh (sign-in form or, with a session cookie, the overview)."""
        self.driver.get(self.server.base)
        self.wait(lambda: self.js("return document.body.dataset.view || ''"), "the app to start")

    def sign_in(self, token_id: str) -> None:
        """Sign in with one of the server's tokens and wait for the overview."""
        self.open()
        if self.view() != "signin":
            self.sign_out()
        field = self.find("#token")
        field.clear()
        field.send_keys(self.server.secrets[token_id])
        self.find("#signin-submit").click()
        self.wait(lambda: self.view() == "overview", "the overview after signing in")

    def sign_out(self) -> None:
        """Press "Sign out" and wait for the sign-in form."""
        self.find("#sign-out").click()
        self.wait(lambda: self.view() == "signin", "the sign-in form")

    def go(self, route: str) -> None:
        """Switch to a hash route (``#/tasks?status=FAILED``) without reloading the page."""
        self.js("document.body.dataset.refreshes = ''; location.hash = arguments[0]", route)
        self.wait(lambda: self.refreshes() not in ("", "0") or self.view() == "signin", f"the page {route}")

    def view(self) -> str:
        return self.js("return document.body.dataset.view || ''")

    def refreshes(self) -> str:
        """How many times the current page's data arrived ("0" before the first time)."""
        return self.js("return document.body.dataset.refreshes || ''")

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, css), f"an element {css}")[0]

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        """The text of the first element matching ``css`` ("" when there is none)."""
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", css)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
        """Wait (explicitly, polling) until ``predicate`` is truthy; fail naming ``what``."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda _: predicate())
        except TimeoutException:
            banner = self.text("#banner")
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (banner: {banner!r})") from None

    def fetch(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: str | None = None) -> dict:
        """Send a request from the page itself (its cookie, its origin): ``{status, body}``."""
        script = """
            const [method, path, headers, body, done] = arguments;
            fetch(path, {method, headers, body, credentials: "same-origin"})
              .then(async (r) => done({status: r.status, body: await r.text()}),
                    (e) => done({status: 0, body: String(e)}));
        """
        return self.driver.execute_async_script(script, method, path, headers or {}, body)

    def console_errors(self) -> list[str]:
        """Errors the page logged (a CSP violation, an exception), network 401/403s left out."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]
        ]
