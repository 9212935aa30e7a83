"""The Unix-socket listener: file mode, stale and live sockets, path limits, and the same
hardening (limits, deadlines, pool, graceful stop) as the TCP listener."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rpc.http_support import RESPONSE, TOKEN, EchoApp, read_head, read_until_close
from tests.unixhttp import UnixHTTPConnection, call, raw_unix
from xrsched.rpc.limits import HttpSettings
from xrsched.rpc.unix_server import RpcUnixServer
from xrsched.unixpath import MAX_SOCKET_PATH_BYTES, SocketPathError

AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/xml"}


@contextlib.contextmanager
def unix_server(path: Path, app: EchoApp | None = None, **limits: object) -> Iterator[RpcUnixServer]:
    server = RpcUnixServer(path, app or EchoApp(), settings=HttpSettings(**limits))
    server.start()
    try:
        yield server
    finally:
        server.shutdown(grace_seconds=1.0)


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def leave_stale_socket(path: Path) -> None:
    """What a SIGKILLed server leaves: a bound socket file nobody listens on any more."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()


# -- the socket file ------------------------------------------------------------------------


def test_the_socket_file_is_0600_even_under_a_permissive_umask(sock_dir: Path):
    path = sock_dir / "s.sock"
    with umask(0), unix_server(path):
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600


def test_the_process_umask_is_restored_after_binding(sock_dir: Path):
    with umask(0o027):
        with unix_server(sock_dir / "s.sock"):
            pass
        assert os.umask(0o027) == 0o027


def test_the_socket_file_is_removed_on_clean_stop(sock_dir: Path):
    path = sock_dir / "s.sock"
    with unix_server(path):
        assert path.exists()
    assert not path.exists()


def test_a_stale_socket_file_is_replaced(sock_dir: Path):
    path = sock_dir / "s.sock"
    leave_stale_socket(path)
    with unix_server(path) as server:
        status, _, body = call(path, "POST", "/RPC2", b"<methodCall/>", **AUTH)
        assert (status, body) == (200, RESPONSE)
        assert server.path == str(path)


def test_a_socket_with_a_live_server_behind_it_is_not_stolen(sock_dir: Path):
    path = sock_dir / "s.sock"
    with unix_server(path):
        with pytest.raises(SocketPathError) as info:
            RpcUnixServer(path, EchoApp())
        assert str(info.value) == (
            f"another server is listening on {path}; stop it or choose another --unix-socket path"
        )
        # the first server still owns the file and answers on it
        assert call(path, "GET", "/health")[0] == 200
    assert not path.exists()


@pytest.mark.parametrize("kind", ["file", "directory", "symlink"])
def test_something_that_is_not_a_socket_is_refused_and_kept(sock_dir: Path, kind: str):
    path = sock_dir / "s.sock"
    if kind == "file":
        path.write_text("user data\n")
    elif kind == "directory":
        path.mkdir()
    else:
        (sock_dir / "target").write_text("user data\n")
        path.symlink_to(sock_dir / "target")
    with pytest.raises(SocketPathError) as info:
        RpcUnixServer(path, EchoApp())
    assert str(info.value).startswith(f"{path} exists and is not a socket; refusing to replace it")
    assert path.is_dir() if kind == "directory" else path.read_text() == "user data\n"


def test_a_path_too_long_for_the_kernel_is_refused_before_anything_is_made(sock_dir: Path):
    deep = sock_dir / ("d" * 60) / ("e" * 60)
    path = deep / "s.sock"
    with pytest.raises(SocketPathError) as info:
        RpcUnixServer(path, EchoApp())
    size = len(os.fsencode(str(path)))
    assert str(info.value) == (
        f"Unix socket path {path} is {size} bytes long; the limit is {MAX_SOCKET_PATH_BYTES} bytes "
        "(sun_path): choose a shorter path"
    )
    assert list(sock_dir.iterdir()) == []


def test_a_missing_directory_is_named(sock_dir: Path):
    path = sock_dir / "absent" / "s.sock"
    with pytest.raises(SocketPathError) as info:
        RpcUnixServer(path, EchoApp())
    assert str(info.value) == f"cannot create Unix socket {path}: {path.parent} is not a directory"


def test_the_longest_allowed_path_binds(sock_dir: Path):
    prefix = f"{sock_dir}/"
    path = Path(prefix + "x" * (MAX_SOCKET_PATH_BYTES - len(prefix)))
    assert len(os.fsencode(str(path))) == MAX_SOCKET_PATH_BYTES
    with unix_server(path):
        assert call(path, "GET", "/health")[0] == 200


# -- same protocol, same rules --------------------------------------------------------------


def test_rpc_needs_a_token_over_the_socket_too(sock_dir: Path):
    path = sock_dir / "s.sock"
    app = EchoApp()
    with unix_server(path, app):
        status, headers, _ = call(path, "POST", "/RPC2", b"<methodCall/>", Content_Type="text/xml")
        assert status == 401
        assert headers["WWW-Authenticate"] == 'Basic realm="xrsched"'
        status, _, body = call(path, "POST", "/RPC2", b"<methodCall/>", **AUTH)
        assert (status, body) == (200, RESPONSE)
    ((refused, code),) = app.refused
    assert (refused.path, code) == ("/RPC2", 401)


def test_health_over_the_socket(sock_dir: Path):
    path = sock_dir / "s.sock"
    with unix_server(path):
        status, headers, body = call(path, "GET", "/health")
    assert status == 200
    assert headers["Content-Type"].startswith("application/xml")
    assert b'<health status="ok"' in body


def test_the_peer_is_the_socket_path_with_the_callers_pid_and_uid(sock_dir: Path):
    path = sock_dir / "s.sock"
    app = EchoApp()
    with unix_server(path, app):
        call(path, "POST", "/RPC2", b"<methodCall/>", **AUTH)
    ((_, info),) = app.calls
    assert info.peer == f"unix:{path} pid={os.getpid()} uid={os.getuid()}"
    assert info.tls is False


def test_keep_alive_serves_several_calls_on_one_connection(sock_dir: Path):
    path = sock_dir / "s.sock"
    app = EchoApp()
    with unix_server(path, app):
        conn = UnixHTTPConnection(path)
        for _ in range(3):
            conn.request("POST", "/RPC2", body=b"<methodCall/>", headers=AUTH)
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, RESPONSE)
        conn.close()
    assert len(app.calls) == 3


def test_an_oversize_body_gets_413_before_it_is_read(sock_dir: Path):
    path = sock_dir / "s.sock"
    with unix_server(path, max_request_bytes=1024):
        sock = raw_unix(path)
        sock.sendall(
            b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + TOKEN.encode()
            + b"\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n"
        )
        assert read_head(sock).startswith(b"HTTP/1.1 413 ")
        sock.close()


def test_a_slowloris_on_the_socket_is_cut_off_at_the_read_deadline(sock_dir: Path):
    path = sock_dir / "s.sock"
    with unix_server(path, read_timeout=0.5):
        sock = raw_unix(path)
        started = time.monotonic()
        sock.sendall(b"POST /RPC2 HTTP/1.1\r\n")
        with contextlib.suppress(OSError):
            for _ in range(20):
                sock.sendall(b"X-Drip: 1\r\n")
                time.sleep(0.1)
        answer = read_until_close(sock)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - started < 2.5
        sock.close()


def test_silent_connections_do_not_starve_a_caller(sock_dir: Path):
    path = sock_dir / "s.sock"
    with unix_server(path, max_connections=4, overflow_connections=4):
        silent = [raw_unix(path) for _ in range(12)]
        time.sleep(0.6)  # they become evictable
        started = time.monotonic()
        status, _, body = call(path, "POST", "/RPC2", b"<methodCall/>", **AUTH)
        assert (status, body) == (200, RESPONSE)
        assert time.monotonic() - started < 2.0
        for sock in silent:
            sock.close()


def test_graceful_stop_lets_an_in_flight_call_finish_and_removes_the_file(sock_dir: Path):
    path = sock_dir / "s.sock"
    app = EchoApp(slow_seconds=0.8)
    outcome: dict[str, object] = {}
    server = RpcUnixServer(path, app)
    server.start()

    def slow_call() -> None:
        outcome["answer"] = call(path, "POST", "/RPC2", b"<methodCall><slow/></methodCall>", **AUTH)

    caller = threading.Thread(target=slow_call)
    caller.start()
    deadline = time.monotonic() + 5
    while not app.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.shutdown(grace_seconds=5.0) is True
    caller.join(5)
    status, headers, body = outcome["answer"]  # type: ignore[misc]
    assert (status, body, headers["Connection"]) == (200, RESPONSE, "close")
    assert not path.exists()
    with pytest.raises(OSError):
        raw_unix(path, timeout=1)


def test_a_file_replaced_by_another_server_is_not_removed_on_stop(sock_dir: Path):
    path = sock_dir / "s.sock"
    first = RpcUnixServer(path, EchoApp())
    os.unlink(path)  # an operator moved it away and another server took the path
    with unix_server(path):
        first.shutdown(grace_seconds=0.0)
        assert path.exists()
        assert call(path, "GET", "/health")[0] == 200
