"""Start-up checks that run before the server creates anything.

A start that fails half-way must not leave a tokens file (and a printed admin secret that is
now useless), a certificate or a migrated database behind. So every check that needs no
side effect runs first: the address resolves and the port can be bound, the given TLS files
load, an existing tokens file parses, and each path the server will create can be created.
Every message names the address, port or path concerned.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path


class StartupError(Exception):
    """The server cannot start; the message says what, naming the address or path."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def probe_address(host: str, port: int) -> socket.socket:
    """Bind (without listening) a socket to ``host:port`` as the real listener will.

    Returns the bound socket: the caller keeps it while it builds the rest of the server and
    closes it just before the real bind, so the port stays reserved meanwhile.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    address: tuple[str, int] | tuple[str, int, int, int] = (host, port)  # "" means every interface
    if host:
        try:
            address = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0][4]
        except socket.gaierror as exc:
            reason = f"the address {host!r} does not resolve ({exc.strerror})"
            raise StartupError(f"cannot listen on {where}: {reason}") from None
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
    except OSError as exc:
        probe.close()
        raise StartupError(f"cannot listen on {where}: {_bind_reason(exc)}") from None
    return probe


def _bind_reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "the port is already in use (another server? choose another --port)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "no network interface of this machine has that address (--address)"
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    return exc.strerror or str(exc)


def check_directory(path: Path, what: str) -> None:
    """``path`` is a directory the server can write, or one it can create."""
    if path.exists():
        if not path.is_dir():
            raise StartupError(f"{what} {path} exists and is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise StartupError(f"{what} {path} is not writable")
        return
    _check_creatable(path, what)


def check_file(path: Path, what: str) -> None:
    """``path`` is a regular file the server can write, or one it can create."""
    if path.is_dir():
        raise StartupError(f"{what} {path} is a directory, not a file")
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise StartupError(f"{what} {path} cannot be read and written by this user")
        return
    _check_creatable(path, what)


def _check_creatable(path: Path, what: str) -> None:
    """The nearest existing ancestor of ``path`` is a writable directory."""
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise StartupError(f"cannot create {what} {path}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise StartupError(f"cannot create {what} {path}: {ancestor} is not writable")


def make_directory(path: Path, what: str) -> None:
    """``mkdir -p`` with mode 0700, failing with a message that names ``path``."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StartupError(f"cannot create {what} {path}: {exc.strerror or exc}") from None
