"""Tasks the browser tests run through a real worker (importable by its child processes).

``Step`` waits until the file ``root/go`` exists, so a test sees it RUNNING on screen before it
lets it finish. ``Broken`` fails once and is disabled (``retry_count = 1``); its error text and
its parameter carry HTML, which the page must show as text.
"""

from __future__ import annotations

import time
from pathlib import Path

import xrsched.task as xt

XSS = "<img src=x onerror=\"document.title='pwned'\">"


class Step(xt.Task):
    """Reports progress, then waits for ``root/go`` (at most a minute), then writes its output."""

    root = xt.StrParameter()
    name = xt.StrParameter()

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "out" / f"{self.name}.txt"))

    def run(self):
        self.set_status_message(f"step {self.name} waiting for go")
        self.set_progress_percentage(50)
        self.set_tracking_url("https://ci.example.invalid/job/1")
        deadline = time.monotonic() + 60
        while not (Path(self.root) / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with self.output().open("w") as handle:
            handle.write("ok\n")


class Broken(xt.Task):
    """Fails with a traceback whose text is HTML; disabled after that one failure."""

    root = xt.StrParameter()
    label = xt.StrParameter(default=XSS)
    retry_count = 1

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "out" / "broken.txt"))

    def run(self):
        raise ValueError(f"<script>document.title='pwned'</script> cannot load {self.label}")


class Report(xt.Task):
    """Needs two steps and the broken task: stays PENDING."""

    root = xt.StrParameter()

    def requires(self):
        return [Step(root=self.root, name="a"), Step(root=self.root, name="b"), Broken(root=self.root)]

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "out" / "report.txt"))

    def run(self):
        with self.output().open("w") as handle:
            handle.write("report\n")
