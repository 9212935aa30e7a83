"""Real Luigi (3.8.x, the test extra) against a real ``xrsched-server`` process over TLS.

The server generates its own certificate (``STATE/tls/server.pem``, valid for 127.0.0.1); Luigi
trusts it through ``REQUESTS_CA_BUNDLE`` (its ``requests`` path) or ``SSL_CERT_FILE`` (its
``urllib`` path, which uses OpenSSL's default verify locations). Luigi's own timeouts are made
small in the test's ``luigi.cfg`` so that every test stays bounded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serverproc import spawn_server
from xrsched.auth import add_token

HERE = Path(__file__).parent
LUIGI = str(Path(sys.executable).parent / "luigi")
LUIGI_TIMEOUT = 90
LUIGI_CFG = """\
[core]
autoload_range = false
rpc-connect-timeout = 10
rpc-retry-attempts = 3
rpc-retry-wait = 1

[worker]
wait_interval = 0.1
ping_interval = 1
keep_alive = {keep_alive}
"""


@dataclass
class XrschedProcess:
    """A running ``xrsched-server`` and what a Luigi user needs to point at it."""

    proc: subprocess.Popen
    lines: list[str]
    port: int
    state: Path

    @property
    def ca(self) -> Path:
        return self.state / "tls" / "server.pem"

    def url(self, token_id: str, secret: str) -> str:
        """The scheduler URL with the credentials in it, as Luigi users write it."""
        return f"https://{token_id}:{secret}@127.0.0.1:{self.port}/"

    def token(self, token_id: str, role: str = "worker") -> str:
        """Add a token (the server picks it up on first use) and return its secret."""
        return add_token(self.state / "tokens.toml", token_id, role)


@pytest.fixture
def xrsched_server(tmp_path: Path) -> Iterator[XrschedProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XRSCHED_")}
    env["HOME"] = str(tmp_path / "home")
    state = tmp_path / "state"
    proc, lines, port = spawn_server(["--port", "0", "--state-path", str(state)], env)
    yield XrschedProcess(proc, lines, port, state)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@dataclass
class LuigiRun:
    """One finished ``luigi`` command: exit code, combined output, seconds taken."""

    returncode: int
    output: str
    seconds: float


@dataclass
class LuigiProject:
    """A directory holding the pipeline module, its outputs, a ``luigi.cfg`` and the environment."""

    root: Path
    env: dict[str, str]

    def luigi_has_requests(self) -> bool:
        """Whether Luigi, in this environment, talks HTTP through ``requests`` (else ``urllib``)."""
        probe = "import luigi.rpc; print(luigi.rpc.HAS_REQUESTS)"
        out = subprocess.run(
            [sys.executable, "-c", probe], env=self.env, cwd=self.root, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1] == "True"

    def runs(self) -> list[str]:
        """Task ids in the order their ``run()`` started, one entry per run."""
        log = self.root / "work" / "runs.log"
        return log.read_text().split() if log.exists() else []

    def command(self, url: str, *extra: str) -> list[str]:
        return [LUIGI, "--module", "pipeline", "Top", "--scheduler-url", url, "--workers", "4", "--no-lock", *extra]

    def start(self, url: str, *extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(url, *extra),
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def run(self, url: str, *extra: str) -> LuigiRun:
        started = time.monotonic()
        proc = self.start(url, *extra)
        try:
            output, _ = proc.communicate(timeout=LUIGI_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            raise AssertionError(f"luigi did not finish in {LUIGI_TIMEOUT}s:\n{output[-4000:]}") from None
        return LuigiRun(proc.returncode, output, time.monotonic() - started)


def make_project(root: Path, server: XrschedProcess, *, keep_alive: bool = False, urllib: bool = False) -> LuigiProject:
    """Lay out the pipeline in ``root`` and build the environment Luigi runs in.

    ``urllib=True`` shadows ``requests`` with a package that cannot be imported, so Luigi's
    ``RemoteScheduler`` falls back to its ``urllib`` fetcher.
    """
    (root / "work" / "out").mkdir(parents=True)
    shutil.copy(HERE / "pipeline.py", root / "pipeline.py")
    (root / "luigi.cfg").write_text(LUIGI_CFG.format(keep_alive=str(keep_alive).lower()))
    path = [str(root)]
    if urllib:
        blocker = root / "no-requests" / "requests"
        blocker.mkdir(parents=True)
        (blocker / "__init__.py").write_text('raise ImportError("requests is hidden for this test")\n')
        path.insert(0, str(blocker.parent))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XRSCHED_", "LUIGI_", "REQUESTS_", "SSL_CERT"))}
    env.update(
        PYTHONPATH=os.pathsep.join(path),
        LUIGI_CONFIG_PATH=str(root / "luigi.cfg"),
        PIPELINE_DIR=str(root / "work"),
        HOME=str(root / "home"),
    )
    env["SSL_CERT_FILE" if urllib else "REQUESTS_CA_BUNDLE"] = str(server.ca)
    return LuigiProject(root, env)
