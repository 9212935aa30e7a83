"""A real ``xrsched-server`` subprocess with short scheduler delays, tokens, and worker processes.

The server runs with ``worker_disconnect_delay = 3`` and ``retry_delay = 1`` so that lost
workers and retries show up within seconds. Workers are real ``xrsched run`` processes
(``python -m xrsched.cli.run``) with their token in ``XRSCHED_TOKEN``.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xrsched.client import RemoteScheduler

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVER = str(BIN / "xrsched-server")
XRSCHED = str(BIN / "xrsched")
CONFIG = """\
[scheduler]
worker_disconnect_delay = 3
retry_delay = 1
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mint(tokens: Path, token_id: str, role: str, env: dict[str, str]) -> str:
    """``xrsched token add``: the new secret (last line of its output)."""
    result = subprocess.run(
        [XRSCHED, "token", "add", "--id", token_id, "--role", role, "--tokens", str(tokens)],
        capture_output=True, text=True, env=env, timeout=30, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Server:
    """A running ``xrsched-server`` and the tokens minted for it."""

    state: Path
    config: Path
    env: dict[str, str]
    port: int = 0
    proc: subprocess.Popen | None = None
    lines: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/RPC2"

    @property
    def cert(self) -> Path:
        return self.state / "tls" / "server.pem"

    def start(self, port: int | None = None, timeout: float = 30.0) -> None:
        args = [SERVER, "--port", str(port if port is not None else 0), "--state-path", str(self.state)]
        args += ["--config", str(self.config), "--log-level", "WARNING"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env,
                                start_new_session=True)  # fmt: skip
        found: queue.Queue[int] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.lines.append(line.rstrip("\n"))
                match = re.search(r"listening on https?://[^:]+:(\d+)/", line)
                if match:
                    found.put(int(match.group(1)))

        threading.Thread(target=pump, daemon=True).start()
        try:
            self.port = found.get(timeout=timeout)
        except queue.Empty:
            proc.kill()
            raise AssertionError("server did not start:\n" + "\n".join(self.lines)) from None
        self.proc = proc

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def client(self, token_id: str = "admin", **options) -> RemoteScheduler:
        settings = {"timeout": 30.0, "backoff": 0.1, "max_backoff": 1.0, **options}
        return RemoteScheduler(self.url, self.secrets[token_id], ca=self.cert, environ={}, **settings)

    def worker_env(self, token_id: str = "w1", url: str | None = None, ca: Path | None = None) -> dict[str, str]:
        env = dict(self.env)
        env.update(
            XRSCHED_TOKEN=self.secrets[token_id],
            XRSCHED_SCHEDULER_URL=url or self.url,
            XRSCHED_CA=str(ca or self.cert),
            PYTHONPATH=str(ROOT),
        )
        return env


@pytest.fixture
def base_env(env: dict[str, str]) -> dict[str, str]:
    """The suite's clean environment (tests/conftest.py ``env``), under the name these tests use."""
    return env


@pytest.fixture
def server(tmp_path: Path, base_env: dict[str, str]) -> Iterator[Server]:
    """A started server with tokens ``admin`` (admin role), ``w1`` and ``w2`` (worker role)."""
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "server.toml"
    config.write_text(CONFIG)
    srv = Server(state, config, base_env)
    for token_id, role in (("admin", "admin"), ("w1", "worker"), ("w2", "worker")):
        srv.secrets[token_id] = mint(state / "tokens.toml", token_id, role, base_env)
    srv.start()
    yield srv
    srv.stop()


@dataclass
class WorkerProcess:
    """An ``xrsched run`` subprocess; its output is collected in ``output``."""

    proc: subprocess.Popen
    output: list[str] = field(default_factory=list)

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        time.sleep(0.05)  # let the pump thread collect the last lines
        return code

    @property
    def text(self) -> str:
        return "\n".join(self.output)


@pytest.fixture
def run_worker() -> Iterator:
    """``run_worker(args, env)`` starts ``python -m xrsched.cli.run ARGS``; all are killed at the end."""
    started: list[WorkerProcess] = []

    def start(args: list[str], env: dict[str, str]) -> WorkerProcess:
        proc = subprocess.Popen(
            [sys.executable, "-m", "xrsched.cli.run", *args], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        worker = WorkerProcess(proc)

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                worker.output.append(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            os.killpg(worker.proc.pid, signal.SIGKILL)
            worker.proc.wait(10)
