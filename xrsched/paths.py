"""Default locations of the server's files, shared by the server and the ``xrsched`` commands.

The defaults follow the XDG base directory convention so that an operator without root
can start the server on its embedded defaults; every path can be overridden by a flag,
the TOML config or an ``XRSCHED_*`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

#: How every command's help names the default state directory (what default_state_dir does).
DEFAULT_STATE_DIR_HELP = "$XRSCHED_STATE_PATH, else $XDG_STATE_HOME/xrsched, else ~/.local/state/xrsched"


def default_state_dir() -> Path:
    """Directory for state, tokens, audit log and generated certificates (:data:`DEFAULT_STATE_DIR_HELP`)."""
    explicit = os.environ.get("XRSCHED_STATE_PATH")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "xrsched"


def default_tokens_path() -> Path:
    """Tokens file used by ``xrsched-server`` and ``xrsched token`` unless ``--tokens`` is given."""
    explicit = os.environ.get("XRSCHED_TOKENS")
    if explicit:
        return Path(explicit)
    return default_state_dir() / "tokens.toml"
