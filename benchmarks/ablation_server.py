"""``xrsched-server`` with one part of the durable commit path taken out: the durability
benchmark's ablation rows (issue 19: the floor of a durable call), and nothing else.

Not a server to run for real: each mode gives up durability on purpose, so this file refuses to
start without one, and it lives in ``benchmarks/`` (never in the package). The mode comes from
the environment variable ``XRSCHED_BENCH_ABLATION``, read only here; the arguments are
``xrsched-server``'s, passed on unchanged. Run with the SQLite store (the default):

* ``encode``: the service records and encodes each call's changes under its lock, as a durable
  server does, then drops them: no committer queue, no wait, nothing written.
* ``handoff``: the committer runs as in a durable server (submit, the waiting rounds, the
  writer's merge of the pending batches, the wake-ups), but the store's write does nothing.
* ``nosync``: SQLite writes every transaction with ``PRAGMA synchronous=OFF``: SQLite's own
  work and the WAL's pwrite, never an fsync (``--sync normal`` still syncs at checkpoints).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

ENV = "XRSCHED_BENCH_ABLATION"


def _drop_encoded_changes() -> None:
    from xrsched.store import GroupCommitter

    def submit(self: Any, batch: Any) -> int:
        return 0  # ticket 0: nothing to wait for

    GroupCommitter.submit = submit  # type: ignore[method-assign]


def _write_nothing() -> None:
    from xrsched.store import SQLiteStore

    def write(self: Any, batch: Any) -> None:
        self.verify()  # as the real write: nothing before the structure check's verdict

    SQLiteStore.write = write  # type: ignore[method-assign]


def _never_sync() -> None:
    from xrsched.store import SQLiteStore

    opened = SQLiteStore.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        if not self.read_only:
            self.db.execute("PRAGMA synchronous=OFF")

    SQLiteStore.__init__ = __init__  # type: ignore[method-assign]


MODES: dict[str, tuple[Callable[[], None], str]] = {
    "encode": (_drop_encoded_changes, "changes encoded under the lock, then dropped (no committer, no write)"),
    "handoff": (_write_nothing, "the committer hands batches over and wakes callers; the store writes nothing"),
    "nosync": (_never_sync, "SQLite writes with synchronous=OFF (no fsync)"),
}


def main() -> int:
    mode = os.environ.get(ENV, "")
    if mode not in MODES:
        print(f"{ENV} must be one of {', '.join(MODES)} (got {mode!r}): this server is for the benchmark only",
              file=sys.stderr)  # fmt: skip
        return 2
    patch, what = MODES[mode]
    patch()
    print(f"ablation {mode}: {what}", flush=True)
    from xrsched.cli.server import main as server_main

    return server_main()


if __name__ == "__main__":
    sys.exit(main())
