"""Task classes the worker tests run; importable by child processes as ``tests.worker.tasks``.

Every run appends one line ``<event> <task id> <time> <pid>`` to ``runs.log`` under the task's
``root`` directory, so tests count runs across processes without talking to the scheduler.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import xrsched.task as xt


def note(root: str, event: str, task_id: str) -> None:
    """Append one line to ``root/runs.log`` (O_APPEND keeps lines from many processes whole)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    line = f"{event} {task_id} {time.time():.6f} {os.getpid()}\n".encode()
    fd = os.open(Path(root) / "runs.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def runs(root: Path, event: str = "run") -> list[tuple[str, float, int]]:
    """``(task id, time, pid)`` of each logged ``event``."""
    path = Path(root) / "runs.log"
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        kind, task_id, stamp, pid = line.split()
        if kind == event:
            found.append((task_id, float(stamp), int(pid)))
    return found


class Recorded(xt.Task):
    """A task whose output is a file under ``root`` and whose run is logged."""

    root = xt.StrParameter()

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "out" / f"{self.task_id}.txt"))

    def finish(self) -> None:
        with self.output().open("w") as handle:
            handle.write("ok\n")


class Node(Recorded):
    """Node ``i`` of a DAG of ``size`` nodes: depends on ``i // 2`` ... a binary-heap-shaped graph
    reversed, plus ``i - 1`` when ``i`` is odd, so nodes share dependencies."""

    i = xt.IntParameter()
    size = xt.IntParameter()

    def requires(self):
        kids = [2 * self.i + 1, 2 * self.i + 2]
        deps = [Node(root=self.root, i=k, size=self.size) for k in kids if k < self.size]
        if self.i % 7 == 3 and self.i + 3 < self.size:
            deps.append(Node(root=self.root, i=self.i + 3, size=self.size))
        return deps

    def run(self):
        note(self.root, "run", self.task_id)
        self.finish()


class Sleeper(Recorded):
    """Logs ``start``, sleeps ``seconds`` or until ``root/release`` exists, logs ``run``, writes its output."""

    name = xt.StrParameter(default="slow")
    seconds = xt.FloatParameter(default=1.0)

    def run(self):
        note(self.root, "start", self.task_id)
        deadline = time.time() + self.seconds
        release = Path(self.root) / "release"
        while time.time() < deadline and not release.exists():
            time.sleep(0.02)
        note(self.root, "run", self.task_id)
        self.finish()


class AfterSleeper(Recorded):
    """Runs after a Sleeper."""

    seconds = xt.FloatParameter(default=1.0)

    def requires(self):
        return Sleeper(root=self.root, seconds=self.seconds)

    def run(self):
        note(self.root, "run", self.task_id)
        self.finish()


class Boom(Recorded):
    """Always fails, with a recognisable message; retried up to ``retry_count`` times."""

    retry_count = 2

    def run(self):
        note(self.root, "run", self.task_id)
        raise ValueError("boom: the disk is made of cheese")


class NeedsBoom(Recorded):
    """Never runs: its dependency fails."""

    def requires(self):
        return Boom(root=self.root)

    def run(self):
        note(self.root, "run", self.task_id)
        self.finish()


class Input(xt.ExternalTask):
    """A file someone else makes."""

    root = xt.StrParameter()

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "input.txt"))


class UsesInput(Recorded):
    def requires(self):
        return Input(root=self.root)

    def run(self):
        note(self.root, "run", self.task_id)
        self.finish()


class Slow(Recorded):
    """Chain members that take a little time: ``Slow(lane, n)`` needs ``Slow(lane, n - 1)``."""

    lane = xt.IntParameter(default=0)
    n = xt.IntParameter()
    seconds = xt.FloatParameter(default=0.1)

    def requires(self):
        return [Slow(root=self.root, lane=self.lane, n=self.n - 1, seconds=self.seconds)] if self.n > 0 else []

    def run(self):
        time.sleep(self.seconds)
        note(self.root, "run", self.task_id)
        self.finish()


class Wide(xt.WrapperTask):
    """``count`` independent Slow chains of length ``length``."""

    root = xt.StrParameter()
    count = xt.IntParameter(default=4)
    length = xt.IntParameter(default=10)
    seconds = xt.FloatParameter(default=0.1)

    def requires(self):
        return [Slow(root=self.root, lane=k, n=self.length - 1, seconds=self.seconds) for k in range(self.count)]


class Part(Recorded):
    n = xt.IntParameter()

    def run(self):
        note(self.root, "run", self.task_id)
        self.set_status_message(f"part {self.n}")
        self.set_progress_percentage(100)
        self.finish()


class Gather(Recorded):
    """Dynamic dependencies: one Part per number found at run time."""

    parts = xt.IntParameter(default=3)

    def run(self):
        note(self.root, "attempt", self.task_id)
        done = yield [Part(root=self.root, n=n) for n in range(self.parts)]
        note(self.root, "run", self.task_id)
        with self.output().open("w") as handle:
            handle.write(str(len(done)))


class Listener(Recorded):
    """Waits for a scheduler message and answers it."""

    accepts_messages = True

    def run(self):
        note(self.root, "start", self.task_id)
        self.set_status_message("waiting for a message")
        message = self.scheduler_messages.get(timeout=30)
        message.respond(f"got {message.content}")
        note(self.root, "run", self.task_id)
        self.finish()


class Dies(Recorded):
    """Its child process dies mid-run (``os._exit``). ``retry_count = 1``: one failure disables it;
    ``resources`` show whether the failure report carried the task's own fields."""

    retry_count = 1
    resources = {"lab": 1}

    def run(self):
        note(self.root, "start", self.task_id)
        os._exit(3)


class DiesUnreadable(Dies):
    """Dies like :class:`Dies`, and its fields cannot be read again in the process whose id is in
    ``unreadable_in`` (the test's, once registered): a bug-like error where the worker rebuilds
    the report of a lost child. The child, another process, reads them fine."""

    unreadable_in: int | None = None

    def process_resources(self):
        if os.getpid() == DiesUnreadable.unreadable_in:
            raise RuntimeError("process_resources is broken here")
        return super().process_resources()


class Hangs(Recorded):
    """Never finishes by itself; its own ``worker_timeout`` gets it killed."""

    retry_count = 1
    resources = {"lab": 1}
    worker_timeout = 0.5

    def run(self):
        note(self.root, "start", self.task_id)
        time.sleep(60)


class Quick(Recorded):
    """Runs at once, before the others of the same rank (higher priority)."""

    priority = 10

    def run(self):
        note(self.root, "run", self.task_id)
        self.finish()


class QuickThenSleepers(xt.WrapperTask):
    """A Quick task, then two Sleepers (``a`` and ``b``): with one process and prefetching, ``a``
    runs while ``b`` waits in the worker, handed out ahead."""

    root = xt.StrParameter()

    def requires(self):
        return [Quick(root=self.root)] + [Sleeper(root=self.root, name=n, seconds=60) for n in ("a", "b")]
