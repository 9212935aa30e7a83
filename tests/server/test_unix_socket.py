"""The production server with ``unix_socket``: beside TCP, alone (``no_tcp``), and at start-up."""

from __future__ import annotations

import os
import stat
import time
import xmlrpc.client
from pathlib import Path

import pytest

from tests.unixhttp import call, unix_proxy
from xrsched.rpc.unix_server import RpcUnixServer
from xrsched.server.runtime import ServerRuntime
from xrsched.settings import ServerSettings, build_settings
from xrsched.unixpath import SocketPathError

TASK = {"__starstar": True, "task_id": "T1", "worker": "w1", "family": "F"}


def test_both_listeners_serve_the_same_scheduler(live_server_factory, sock_dir: Path):
    path = sock_dir / "xrsched.sock"
    server = live_server_factory(unix_socket=str(path))
    assert server.runtime.unix_url == f"unix:{path}"
    assert "listening on unix:" in server.output.getvalue()
    server.proxy(server.admin).add_task(TASK)  # over TCP + TLS
    local = unix_proxy(path, server.admin)
    assert local.task_list("PENDING", "")["T1"]["status"] == "PENDING"
    local.add_task({**TASK, "status": "DONE"})
    assert server.proxy(server.admin).task_list("DONE", "")["T1"]["status"] == "DONE"
    peers = {r["method"]: r["peer"] for r in server.audit_records() if r["method"] in ("add_task", "task_list")}
    assert peers["task_list"].startswith("127.0.0.1:")
    assert peers["add_task"] == f"unix:{path} pid={os.getpid()} uid={os.getuid()}"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_tokens_roles_and_401_apply_on_the_socket(live_server_factory, sock_dir: Path):
    path = sock_dir / "xrsched.sock"
    server = live_server_factory(unix_socket=str(path))
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        unix_proxy(path, None).ping("w")
    assert info.value.errcode == 401
    assert info.value.headers["WWW-Authenticate"] == 'Basic realm="xrsched"'
    with pytest.raises(xmlrpc.client.ProtocolError):
        unix_proxy(path, "not-a-token").ping("w")
    viewer = unix_proxy(path, server.token("dash", "viewer"))  # SIGHUP's reload reaches the socket too
    assert viewer.task_list("", "") == {}
    with pytest.raises(xmlrpc.client.Fault) as fault:
        viewer.add_task(TASK)
    assert fault.value.faultCode == 403
    refused = [r for r in server.audit_records() if r["outcome"] == 401]
    assert refused and all(r["peer"].startswith(f"unix:{path} pid=") for r in refused)


def test_health_over_the_socket(live_server_factory, sock_dir: Path):
    path = sock_dir / "xrsched.sock"
    live_server_factory(unix_socket=str(path))
    status, headers, body = call(path, "GET", "/health")
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert b'<health status="ok"' in body
    assert b'<tls enabled="true"' in body  # the TCP listener's certificate


def test_no_tcp_serves_only_the_socket_without_any_certificate(live_server_factory, sock_dir: Path):
    path = sock_dir / "xrsched.sock"
    server = live_server_factory(unix_socket=str(path), no_tcp=True, tls_cert=None, tls_key=None)
    runtime = server.runtime
    assert runtime.http is None and runtime.listeners == [runtime.unix]
    assert runtime.url == f"unix:{path}"
    assert "listening on https" not in server.output.getvalue()
    assert not (runtime.state_dir / "tls").exists()  # nothing was generated
    assert unix_proxy(path, server.admin).is_paused() == {"paused": False}
    _, _, body = call(path, "GET", "/health")
    assert b'<tls enabled="false"' in body


def test_the_socket_file_goes_away_when_the_server_stops(live_server_factory, sock_dir: Path):
    path = sock_dir / "xrsched.sock"
    server = live_server_factory(unix_socket=str(path), no_tcp=True, tls_cert=None, tls_key=None)
    assert path.exists()
    server.runtime.stop()
    deadline = time.monotonic() + 15
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not path.exists()


def test_a_second_server_does_not_steal_a_live_socket(live_server_factory, sock_dir: Path, tmp_path: Path):
    path = sock_dir / "xrsched.sock"
    first = live_server_factory(unix_socket=str(path), no_tcp=True, tls_cert=None, tls_key=None)
    settings = build_settings(
        {"unix_socket": str(path), "no_tcp": True, "state_path": str(tmp_path / "other")}, environ={}
    )
    with pytest.raises(SocketPathError, match="another server is listening on") as failed:
        ServerRuntime(settings)  # `failed` keeps its frames (and so the half-built runtime) alive
    assert not (tmp_path / "other").exists()  # refused before anything was created
    assert unix_proxy(path, first.admin).is_paused() == {"paused": False}
    # the failed start let go of its state directory: a later start there succeeds
    os.unlink(path)
    retry = ServerRuntime(settings)
    assert isinstance(retry.unix, RpcUnixServer)
    retry.shutdown()
    assert failed.value is not None


def test_a_path_too_long_stops_start_up_before_any_file_is_made(tmp_path: Path):
    long_path = tmp_path / ("x" * 120) / "s.sock"
    state = tmp_path / "state"
    with pytest.raises(SocketPathError, match=r"is \d+ bytes long; the limit is 107 bytes"):
        ServerRuntime(ServerSettings(unix_socket=long_path, no_tcp=True, state_path=state))
    assert not state.exists()
