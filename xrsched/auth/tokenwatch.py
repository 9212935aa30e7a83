"""Follow a client's ``--token-file``: a rotated secret reaches running clients without a restart.

The client looks at the file (one ``stat``) at most once a second on its request path, and at
once after a 401; when device, inode, size or modification time changed it reads the file
again. A file that is briefly missing, empty or unreadable (an editor or a deployment tool in
the middle of replacing it) keeps the secret in use, with one warning. The server's tokens
file is followed the same way (:class:`~xrsched.auth.credentials.TokenStore`), by the same
:func:`file_signature`. Imports nothing of xrsched: the client loads it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("xrsched.client")
#: Seconds between two looks at the file on the request path.
CHECK_INTERVAL = 1.0

#: What identifies one version of a file: device, inode, size and modification time (an atomic
#: rewrite changes the inode, an edit in place the size or the time). None: no file.
FileSignature = tuple[int, int, int, int] | None


def file_signature(path: Path) -> FileSignature:
    """The :data:`FileSignature` of ``path`` now (None when it cannot be looked at)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class TokenFileWatcher:
    """The secret in a token file, re-read when the file changes.

    ``read(path)`` returns the secret or raises ``ValueError`` (e.g. the client's
    ``TokenError``) for a file it cannot use.
    """

    def __init__(self, path: Path, secret: str, read: Callable[[Path], str]) -> None:
        self.path = Path(path)
        #: Seconds between two looks on the request path (a 401 always looks at once).
        self.interval = CHECK_INTERVAL
        self.secret = secret
        self._read = read
        self._seen = file_signature(self.path)
        self._checked = time.monotonic()
        self._complained = False

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "secret": self.secret, "read": self._read}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["secret"], state["read"])  # type: ignore[misc]

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read the file if it changed (looking at most once a second unless ``force``);
        True when the secret is now a different one."""
        now = time.monotonic()
        if not force and now - self._checked < self.interval:
            return False
        self._checked = now
        signature = file_signature(self.path)
        if signature == self._seen or signature is None:
            return False
        try:
            secret = self._read(self.path)
        except ValueError as exc:
            if not self._complained:
                log.warning("token file changed but cannot be used, keeping the current token: %s", exc)
                self._complained = True
            return False
        self._seen = signature
        self._complained = False
        if secret == self.secret:
            return False
        self.secret = secret
        log.info("token file %s changed: using the new token from now on", self.path)
        return True
