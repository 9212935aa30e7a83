"""One server per state directory: an exclusive lock held for the server's lifetime."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from xrsched.store.base import StoreError

LOCK_NAME = "server.lock"


def hold_state_lock(state_dir: Path) -> IO[str]:
    """Take the state directory's lock (kept until the process exits) or refuse clearly."""
    path = state_dir / LOCK_NAME
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise StoreError(
            f"{state_dir} is in use by another xrsched server (pid {holder}); stop it or choose another --state-path"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def state_dir_in_use(state_dir: Path) -> bool:
    """Whether a server holds the directory's lock right now."""
    path = state_dir / LOCK_NAME
    if not path.exists():
        return False
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False
