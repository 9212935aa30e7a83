"""Plain Luigi tasks, run by Luigi's own worker against xrsched through XrschedFactory.

``python -m tests.worker.luigi_tasks ROOT URL CA WORKERS`` builds the graph (token from
``XRSCHED_TOKEN``) and exits 0 when Luigi reports success, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import luigi

from tests.worker.tasks import note
from xrsched.contrib.luigi import XrschedFactory


class Leaf(luigi.Task):
    root = luigi.Parameter()
    n = luigi.IntParameter()

    def output(self):
        return luigi.LocalTarget(str(Path(self.root) / "luigi" / f"leaf-{self.n}.txt"))

    def run(self):
        note(self.root, "run", self.task_id)
        self.set_status_message(f"leaf {self.n}")
        with self.output().open("w") as handle:
            handle.write(str(self.n))


class Sum(luigi.Task):
    root = luigi.Parameter()
    width = luigi.IntParameter(default=6)

    def requires(self):
        return [Leaf(root=self.root, n=n) for n in range(self.width)]

    def output(self):
        return luigi.LocalTarget(str(Path(self.root) / "luigi" / "sum.txt"))

    def run(self):
        note(self.root, "run", self.task_id)
        total = sum(int(target.open().read()) for target in self.input())
        with self.output().open("w") as handle:
            handle.write(str(total))


class Broken(luigi.Task):
    root = luigi.Parameter()

    def output(self):
        return luigi.LocalTarget(str(Path(self.root) / "luigi" / "broken.txt"))

    def run(self):
        note(self.root, "run", self.task_id)
        raise RuntimeError("luigi task broke on purpose")


def main(argv: list[str]) -> int:
    root, url, ca, workers = argv[0], argv[1], argv[2], int(argv[3])
    factory = XrschedFactory(url, token=os.environ["XRSCHED_TOKEN"], ca=ca, backoff=0.1)
    tasks = [Sum(root=root)] + ([Broken(root=root)] if len(argv) > 4 else [])
    ok = luigi.build(tasks, worker_scheduler_factory=factory, workers=workers, log_level="WARNING")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
