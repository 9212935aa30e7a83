"""Unix-socket paths: the ``sun_path`` length limit and the ``unix:PATH`` scheduler-URL form.

Shared by the server (``--unix-socket``) and the client (``unix:`` URLs), so that both give
the same clear error for a path the kernel would refuse, before anything is created.
"""

from __future__ import annotations

import os

#: ``sizeof(sun_path)`` is 108 on Linux (104 on the BSDs and macOS), one byte of it the NUL.
MAX_SOCKET_PATH_BYTES = 107
UNIX_SCHEME = "unix:"


class SocketPathError(ValueError):
    """A Unix-socket path that cannot be used; the message names the path and the reason."""


def check_socket_path(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute, or SocketPathError when it is empty or longer than the kernel takes.

    Absolute, because a server that detaches changes its directory to ``/`` and must still
    find the file it bound in order to remove it.
    """
    text = os.fspath(path)
    if not text:
        raise SocketPathError("the Unix socket path is empty")
    if "\0" in text:
        raise SocketPathError(f"Unix socket path {text!r} contains a NUL byte")
    absolute = os.path.abspath(text)
    size = len(os.fsencode(absolute))
    if size > MAX_SOCKET_PATH_BYTES:
        raise SocketPathError(
            f"Unix socket path {absolute} is {size} bytes long; the limit is {MAX_SOCKET_PATH_BYTES} "
            "bytes (sun_path): choose a shorter path"
        )
    return absolute


def is_unix_url(url: str) -> bool:
    """Whether a scheduler URL names a Unix socket (``unix:/run/xrsched.sock``)."""
    return url.startswith(UNIX_SCHEME)


def unix_url_path(url: str) -> str:
    """The checked socket path of a ``unix:PATH`` URL (``unix:///PATH`` is accepted too)."""
    if not is_unix_url(url):
        raise SocketPathError(f"{url!r} is not a unix: URL (expected unix:/path/to/socket)")
    rest = url[len(UNIX_SCHEME) :]
    if rest.startswith("//"):
        rest = rest[2:]
    return check_socket_path(rest)
