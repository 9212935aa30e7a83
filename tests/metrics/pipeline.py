"""A pipeline whose tasks finish, fail and get disabled; run by ``xrsched run`` in the metrics tests.

``Report`` needs three ``Load`` tasks (they finish), one ``Flaky`` (fails once; its retry policy
allows five failures, so it stays FAILED) and one ``Doomed`` (fails; one failure disables it).
``Report`` itself never runs: two of its dependencies did not finish.
"""

from __future__ import annotations

from pathlib import Path

import xrsched.task as xt


class Load(xt.Task):
    """Writes its output file."""

    root = xt.StrParameter()
    i = xt.IntParameter()

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / f"load-{self.i}.txt"))

    def run(self):
        with self.output().open("w") as handle:
            handle.write("ok\n")


class Flaky(xt.Task):
    """Fails; the scheduler retries it later (its policy allows five failures)."""

    root = xt.StrParameter()
    retry_count = 5

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "flaky.txt"))

    def run(self):
        raise RuntimeError("flaky: upstream not ready")


class Doomed(xt.Task):
    """Fails; its policy disables it at the first failure."""

    root = xt.StrParameter()
    retry_count = 1

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "doomed.txt"))

    def run(self):
        raise RuntimeError("doomed: bad input")


class Report(xt.Task):
    """Needs all of the above."""

    root = xt.StrParameter()

    def requires(self):
        return [*(Load(root=self.root, i=i) for i in range(3)), Flaky(root=self.root), Doomed(root=self.root)]

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "report.txt"))

    def run(self):
        with self.output().open("w") as handle:
            handle.write("report\n")
