"""Real ``xrsched-server`` processes sharing one PostgreSQL database, for the failover tests.

Each server has a state directory of its own (certificates, audit log) and the same tokens
file; timings are short (``lock_check_interval`` 0.2 s, ``takeover_delay`` 1.5 s) so a
takeover takes a couple of seconds.
"""

from __future__ import annotations

import http.client
import os
import signal
import ssl
import subprocess
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

from tests.pg.cluster import PASSWORD, free_port
from tests.server.conftest import TokenTransport
from tests.serverproc import spawn_server
from tests.waiting import wait_for
from xrsched.auth import add_token
from xrsched.health import HealthReport, parse_xml

CHECK_INTERVAL = 0.2
TAKEOVER_DELAY = 1.5


@dataclass
class HaServer:
    """One server process; ``url`` is its XML-RPC URL."""

    proc: subprocess.Popen
    lines: list[str]
    port: int
    ca: Path
    secret: str

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/RPC2"

    def proxy(self, timeout: float = 10.0) -> xmlrpc.client.ServerProxy:
        context = ssl.create_default_context(cafile=str(self.ca))
        transport = TokenTransport(self.secret, context)
        transport.timeout = timeout  # type: ignore[attr-defined]
        return xmlrpc.client.ServerProxy(self.url, transport=transport)

    def health(self) -> HealthReport | None:
        """The /health document, or None when the server does not answer."""
        context = ssl.create_default_context(cafile=str(self.ca))
        conn = http.client.HTTPSConnection("localhost", self.port, context=context, timeout=3)
        try:
            conn.request("GET", "/health")
            return parse_xml(conn.getresponse().read())
        except OSError:
            return None
        finally:
            conn.close()

    def role(self) -> str | None:
        report = self.health()
        return report.ha.role if report is not None and report.ha is not None else None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        os.killpg(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@dataclass
class HaPair:
    """Start servers on one database; all are stopped by :meth:`close`."""

    store_url: str
    root: Path
    certs: object
    env: dict[str, str]
    servers: list[HaServer] = field(default_factory=list)
    secret: str = ""
    count: int = 0

    def __post_init__(self) -> None:
        self.tokens = self.root / "tokens.toml"
        self.secret = add_token(self.tokens, "admin", "admin")
        self.env = {**self.env, "PGPASSWORD": PASSWORD}

    def args(self, index: int, port: int) -> list[str]:
        return [
            "--advertise-url", f"https://localhost:{port}/RPC2",
            "--port", str(port), "--state-path", str(self.root / f"s{index}"), "--tokens", str(self.tokens),
            "--tls-cert", str(self.certs.server_cert), "--tls-key", str(self.certs.server_key),  # type: ignore[attr-defined]
            "--store", self.store_url, "--lock-check-interval", str(CHECK_INTERVAL),
            "--takeover-delay", str(TAKEOVER_DELAY),
        ]  # fmt: skip

    def start(self, port: int = 0) -> HaServer:
        """Start one more server (``port`` 0: a free one) and wait until it listens."""
        self.count += 1
        port = port or free_port()
        proc, lines, bound = spawn_server(self.args(self.count, port), self.env)
        server = HaServer(proc, lines, bound, self.certs.ca_cert, self.secret)  # type: ignore[attr-defined]
        self.servers.append(server)
        return server

    def wait_leader(self, timeout: float = 30.0) -> HaServer:
        """The one live server that says it leads (fails if none does within ``timeout``)."""

        def leader() -> HaServer | None:
            live = [s for s in self.servers if s.proc.poll() is None]
            leading = [s for s in live if s.role() == "leader"]
            assert len(leading) <= 1, "two servers lead at once"
            return leading[0] if leading else None

        try:
            return wait_for(leader, timeout, "a leader")
        except AssertionError as exc:
            logs = "\n".join(f"--- server on port {s.port}:\n" + "\n".join(s.lines[-25:]) for s in self.servers)
            raise AssertionError(f"{exc}\n{logs}") from None

    def close(self) -> None:
        for server in self.servers:
            server.stop()
