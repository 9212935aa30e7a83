"""Tasks for the failover tests under load; importable by ``xrsched run`` children as ``tests.pg.hatasks``."""

from __future__ import annotations

import time

import xrsched.task as xt
from tests.worker.tasks import Node, note


class SlowNode(Node):
    """:class:`~tests.worker.tasks.Node` that takes ``seconds`` to run, so the run outlasts the kills."""

    seconds = xt.FloatParameter(default=0.05)

    def requires(self):
        return [SlowNode(root=dep.root, i=dep.i, size=dep.size, seconds=self.seconds) for dep in super().requires()]

    def run(self):
        time.sleep(self.seconds)
        note(self.root, "run", self.task_id)
        self.finish()
