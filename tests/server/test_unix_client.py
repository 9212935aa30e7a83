"""The client's ``unix:`` URLs against a real server on a Unix socket: RemoteScheduler,
``xrsched health unix:PATH`` and ``xrsched run --scheduler-url unix:PATH``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xrsched.client import RemoteScheduler
from xrsched.client.endpoint import Endpoint
from xrsched.client.errors import AuthenticationFailed, TransportError
from xrsched.unixpath import MAX_SOCKET_PATH_BYTES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
XRSCHED = str(BIN / "xrsched")


@pytest.fixture
def socket_server(live_server_factory, sock_dir: Path):
    """A server listening only on ``sock_dir/xrsched.sock``."""
    return live_server_factory(unix_socket=str(sock_dir / "xrsched.sock"), no_tcp=True, tls_cert=None, tls_key=None)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("XRSCHED_")}


def test_remote_scheduler_speaks_over_the_socket_on_one_kept_connection(socket_server, sock_dir: Path):
    path = sock_dir / "xrsched.sock"
    with RemoteScheduler(f"unix:{path}", token=socket_server.admin, environ={}) as client:
        client.add_task(task_id="T1", worker="w1", family="F", status="PENDING")
        assert client.task_list(status="PENDING", search="")["T1"]["status"] == "PENDING"
        assert client.ping(worker="w1") is not None
        assert client.transport.stats.connections_opened == 1
        assert client.url == f"unix:{path}"
    peers = {r["peer"] for r in socket_server.audit_records() if r["method"] == "add_task"}
    assert peers == {f"unix:{path} pid={os.getpid()} uid={os.getuid()}"}


def test_a_wrong_token_is_refused_over_the_socket(socket_server, sock_dir: Path):
    client = RemoteScheduler(f"unix:{sock_dir / 'xrsched.sock'}", token="not-a-token", environ={}, retries=0)
    with pytest.raises(AuthenticationFailed):
        client.task_list(status="", search="")


def test_a_missing_socket_file_is_named_in_the_error(sock_dir: Path):
    path = sock_dir / "absent.sock"
    client = RemoteScheduler(f"unix:{path}", token="t", environ={}, retries=0)
    with pytest.raises(TransportError) as info:
        client.ping(worker="w")
    assert str(path) in str(info.value)
    assert "No such file or directory" in str(info.value)


def test_unix_urls_are_parsed_and_checked(tmp_path: Path):
    assert Endpoint.parse("unix:/run/xrsched.sock") == Endpoint(
        "unix", "localhost", 0, "/RPC2", socket_path="/run/xrsched.sock"
    )
    assert Endpoint.parse("unix:///run/xrsched.sock").socket_path == "/run/xrsched.sock"
    assert Endpoint.parse("unix:rel.sock").socket_path == os.path.abspath("rel.sock")
    long_path = "/" + "s" * MAX_SOCKET_PATH_BYTES
    with pytest.raises(ValueError, match=f"is {MAX_SOCKET_PATH_BYTES + 1} bytes long; the limit is"):
        Endpoint.parse(f"unix:{long_path}")
    with pytest.raises(ValueError, match="empty"):
        Endpoint.parse("unix:")


def test_health_command_on_the_socket(socket_server, sock_dir: Path):
    path = sock_dir / "xrsched.sock"
    result = subprocess.run(
        [XRSCHED, "health", f"unix:{path}", "--token", socket_server.admin],
        capture_output=True, text=True, env=clean_env(), timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK xrsched ")
    assert "tls off" in result.stdout  # --no-tcp: the server has no certificate at all
    assert result.stdout.rstrip().endswith("token accepted")


def test_health_command_names_a_missing_socket(sock_dir: Path):
    path = sock_dir / "absent.sock"
    result = subprocess.run(
        [XRSCHED, "health", f"unix:{path}"], capture_output=True, text=True, env=clean_env(), timeout=30, check=False
    )
    assert result.returncode == 2
    assert result.stdout.strip() == f"UNREACHABLE unix:{path}: No such file or directory: {path}"


def test_health_command_refuses_a_socket_path_too_long(tmp_path: Path):
    result = subprocess.run(
        [XRSCHED, "health", "unix:/" + "s" * 200], capture_output=True, text=True, env=clean_env(), timeout=30,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "the limit is 107 bytes" in result.stderr
    assert "Traceback" not in result.stderr


def test_xrsched_run_works_for_a_scheduler_on_the_socket(socket_server, sock_dir: Path, tmp_path: Path):
    path = sock_dir / "xrsched.sock"
    root = tmp_path / "dag"
    env = {**clean_env(), "XRSCHED_TOKEN": socket_server.token("w1", "worker")}
    result = subprocess.run(
        [sys.executable, "-m", "xrsched.cli.run", "--module", "tests.worker.tasks", "Node", "--root", str(root),
         "--i", "0", "--size", "12", "--workers", "2", "--scheduler-url", f"unix:{path}"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list((root / "out").iterdir())) == 12
    with RemoteScheduler(f"unix:{path}", token=socket_server.admin, environ={}) as admin:
        assert len(admin.task_list(status="DONE", search="Node")) == 12
