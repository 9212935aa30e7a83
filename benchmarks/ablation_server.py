"""``xrsched-server`` with one part of the durable commit path taken out: the durability
benchmark's ablation rows (issue 19: the floor of a durable call), and nothing else.

Not a server to run for real: each mode gives up durability on purpose, so this file refuses to
start without one, and it lives in ``benchmarks/`` (never in the package). The mode comes from
the environment variable ``XRSCHED_BENCH_ABLATION``, read only here; the arguments are
``xrsched-server``'s, passed on unchanged. Run with the SQLite store (the default):

* ``encode``: the service records and encodes each call's changes under its lock, as a durable
  server does, then drops them: no committer queue, no wait, nothing written.
* ``handoff``: the committer runs as in a durable server (submit, the waiting rounds, the
  writer's merge of the pending batches, the wake-ups) and hands each batch to the writer
  process over its pipe, which answers at once: it writes nothing.
* ``nosync``: SQLite writes every transaction with ``PRAGMA synchronous=OFF``: SQLite's own
  work and the WAL's pwrite, never an fsync (``--sync normal`` still syncs at checkpoints).

The server's writer process (``xrsched.store.writer_process``) runs through this file as well
(``--writer-child``), so the mode applies to the writes it makes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = "XRSCHED_BENCH_ABLATION"


def _drop_encoded_changes() -> None:
    from xrsched.store import GroupCommitter

    def submit(self: Any, batch: Any) -> int:
        return 0  # ticket 0: nothing to wait for

    GroupCommitter.submit = submit  # type: ignore[method-assign]


def _write_nothing() -> None:
    from xrsched.store import SQLiteStore

    def write(self: Any, batch: Any, **_: Any) -> None:
        self.verify()  # as the real write: nothing before the structure check's verdict

    SQLiteStore.write = write  # type: ignore[method-assign]


def _nothing() -> None:
    pass


def _writer_through_this_file() -> None:
    """In the server: its writer process runs this file with ``--writer-child``."""
    from xrsched.store.writer_process import ProcessWriter

    def start(self: Any) -> None:
        if self._command[1:3] == ["-m", "xrsched.store.writer_child"]:
            self._command[1:3] = [str(Path(__file__).resolve()), WRITER_CHILD]
        started(self)

    started = ProcessWriter._start
    ProcessWriter._start = start  # type: ignore[method-assign]


def _never_sync() -> None:
    from xrsched.store import SQLiteStore

    opened = SQLiteStore.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        if not self.read_only:
            self.db.execute("PRAGMA synchronous=OFF")

    SQLiteStore.__init__ = __init__  # type: ignore[method-assign]


#: Mode: (patch in the server, patch in its writer process, what it measures).
MODES: dict[str, tuple[Callable[[], None], Callable[[], None], str]] = {
    "encode": (_drop_encoded_changes, _nothing, "changes encoded under the lock, then dropped (no committer)"),
    "handoff": (_nothing, _write_nothing, "the committer hands batches to the writer process, which writes nothing"),
    "nosync": (_nothing, _never_sync, "SQLite writes with synchronous=OFF (no fsync)"),
}
WRITER_CHILD = "--writer-child"


def main() -> int:
    mode = os.environ.get(ENV, "")
    if mode not in MODES:
        print(f"{ENV} must be one of {', '.join(MODES)} (got {mode!r}): this server is for the benchmark only",
              file=sys.stderr)  # fmt: skip
        return 2
    server_patch, writer_patch, what = MODES[mode]
    if sys.argv[1:2] == [WRITER_CHILD]:
        writer_patch()
        from xrsched.store.writer_child import main as writer_main

        code = writer_main(sys.argv[2:])
        sys.stderr.flush()
        os._exit(code)
    server_patch()
    _writer_through_this_file()
    print(f"ablation {mode}: {what}", flush=True)
    from xrsched.cli.server import main as server_main

    return server_main()


if __name__ == "__main__":
    sys.exit(main())
