"""The end-to-end benchmark's trivial tasks, for xrsched (``e2e_luigi_tasks.py`` has Luigi's twins).

Each run writes its (tiny) output file and appends ``<start> <end>`` to ``runs.log`` in the
output directory, so the benchmark knows when the first task started and the last one ended.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import xrsched.task as xt


def record(root: str, started: float) -> None:
    """Append this run's start and end times to ``root/runs.log``."""
    fd = os.open(Path(root) / "runs.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{started:.6f} {time.time():.6f}\n".encode())
    finally:
        os.close(fd)


class Trivial(xt.Task):
    root = xt.StrParameter()

    def output(self):
        # Not durable: Luigi's LocalTarget (the twin's) renames without fsync, so both systems
        # do the same work per task; two fsyncs here would cost more than the whole scheduling.
        return xt.LocalTarget(str(Path(self.root) / "out" / f"{self.task_id}.txt"), durable=False)

    def run(self):
        started = time.time()
        with self.output().open("w") as handle:
            handle.write("x")
        record(self.root, started)


class Chain(Trivial):
    """Link ``i`` of a chain: needs link ``i - 1``."""

    i = xt.IntParameter()

    def requires(self):
        return [Chain(root=self.root, i=self.i - 1)] if self.i > 0 else []


class Leaf(Trivial):
    i = xt.IntParameter()


class FanIn(Trivial):
    """One task needing ``leaves`` independent leaves."""

    leaves = xt.IntParameter()

    def requires(self):
        return [Leaf(root=self.root, i=i) for i in range(self.leaves)]
