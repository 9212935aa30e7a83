"""Luigi's twins of ``e2e_tasks.py`` (same shapes, same work), run by ``luigi`` against ``luigid``."""

from __future__ import annotations

import time
from pathlib import Path

import luigi
from e2e_tasks import record


class Trivial(luigi.Task):
    root = luigi.Parameter()

    def output(self):
        return luigi.LocalTarget(str(Path(self.root) / "out" / f"{self.task_id}.txt"))

    def run(self):
        started = time.time()
        with self.output().open("w") as handle:
            handle.write("x")
        record(self.root, started)


class Chain(Trivial):
    i = luigi.IntParameter()

    def requires(self):
        return [Chain(root=self.root, i=self.i - 1)] if self.i > 0 else []


class Leaf(Trivial):
    i = luigi.IntParameter()


class FanIn(Trivial):
    leaves = luigi.IntParameter()

    def requires(self):
        return [Leaf(root=self.root, i=i) for i in range(self.leaves)]
