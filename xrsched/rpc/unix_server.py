"""The Unix-socket listener: the same server, handler, pool and limits on a socket file.

``xrsched-server --unix-socket PATH`` serves the API and ``/health`` to local processes. There
is no TLS on it: only processes that may open the file can connect, and the file is created
with mode 0600 (owner only), so the kernel's file permissions do what certificates do on
TCP. Tokens are still required. The audit log names such a caller ``unix:PATH`` with the
process id and user id the kernel reports for the other end (``SO_PEERCRED``, Linux).

Starting over a socket file left by a killed server replaces it; a file with a live server
behind it, or anything that is not a socket, is refused with a clear error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import struct
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from xrsched.rpc.app import Application
from xrsched.rpc.http_server import RpcHttpServer
from xrsched.rpc.limits import HttpSettings
from xrsched.unixpath import SocketPathError, check_socket_path

if TYPE_CHECKING:
    from xrsched.dashboard.site import DashboardSite

log = logging.getLogger("xrsched.server")
_PROBE_TIMEOUT = 1.0
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_umask_lock = threading.Lock()


class RpcUnixServer(RpcHttpServer):
    """:class:`RpcHttpServer` on an ``AF_UNIX`` socket file created with mode 0600, never TLS."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        app: Application,
        *,
        settings: HttpSettings | None = None,
        dashboard: DashboardSite | None = None,
    ) -> None:
        self.path = check_socket_path(path)  # before anything exists: a too-long path changes nothing
        self._bound: tuple[int, int] | None = None  # (st_dev, st_ino) of the file we created
        super().__init__(self.path, app, tls_context=None, settings=settings, dashboard=dashboard)

    def _family_for(self, address: object) -> socket.AddressFamily:
        """Always ``AF_UNIX``."""
        return socket.AF_UNIX

    def describe(self) -> str:
        """``unix:PATH`` for log lines."""
        return f"unix:{self.path}"

    def server_bind(self) -> None:
        """Replace a stale socket file, then bind with mode 0600 from the first instant (the
        stdlib binds with the process umask and, on close, leaves the file behind)."""
        if check_unix_socket(self.path):
            log.info("replacing stale socket file %s (nobody listens on it)", self.path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        with _owner_only_umask():
            self.socket.bind(self.path)
        info = os.stat(self.path)
        self._bound = (info.st_dev, info.st_ino)
        self.server_address = self.path  # type: ignore[assignment]

    def server_close(self) -> None:
        """Close the socket and remove its file, unless another server has replaced it since."""
        super().server_close()
        bound, self._bound = self._bound, None
        if bound is None:
            return
        with contextlib.suppress(OSError):
            info = os.lstat(self.path)
            if (info.st_dev, info.st_ino) == bound:
                os.unlink(self.path)

    def replace_tls_context(self, context: object) -> None:  # type: ignore[override]
        """Nothing to do: the Unix socket never speaks TLS (file permissions protect it)."""

    def get_request(self) -> tuple[socket.socket, str]:  # type: ignore[override]
        """Accept, naming the peer ``unix:PATH pid=N uid=N`` (the stdlib's address is empty)."""
        sock, _ = self.socket.accept()
        return sock, peer_label(sock, self.path)


def peer_label(sock: socket.socket, path: str) -> str:
    """``unix:PATH`` plus the peer's pid and uid when the kernel tells them (SO_PEERCRED)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return f"unix:{path}"
    try:
        pid, uid, _gid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _PEERCRED.size))
    except (OSError, struct.error):
        return f"unix:{path}"
    return f"unix:{path} pid={pid} uid={uid}"


def check_unix_socket(path: str) -> bool:
    """Whether ``path`` can be bound: True if a stale socket file must be replaced first, False
    if nothing is there; SocketPathError for a live socket, a non-socket or a missing directory.
    Changes nothing (the server runs it before creating anything)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise SocketPathError(f"cannot create Unix socket {path}: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise SocketPathError(f"cannot create Unix socket {path}: {directory} is not writable")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(info.st_mode):
        raise SocketPathError(
            f"{path} exists and is not a socket; refusing to replace it (move it away or choose "
            "another --unix-socket path)"
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(_PROBE_TIMEOUT)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        return True  # a socket file with nobody behind it: left by a server that was killed
    except FileNotFoundError:
        return False
    except OSError as exc:
        reason = exc.strerror or exc
        raise SocketPathError(f"cannot tell whether {path} is in use ({reason}); not replacing it") from None
    finally:
        probe.close()
    raise SocketPathError(f"another server is listening on {path}; stop it or choose another --unix-socket path")


@contextlib.contextmanager
def _owner_only_umask() -> Iterator[None]:
    """Create files as 0600 meanwhile. The umask is process-wide: concurrent file creation
    in other threads can only come out stricter, never looser, for this short moment."""
    with _umask_lock:
        previous = os.umask(0o177)
        try:
            yield
        finally:
            os.umask(previous)
