"""Batchable task classes the batch tests run; importable by child processes as
``tests.worker.batch_tasks``.

``Numbered(root, key)`` members batch over ``key`` (joined, sorted): the combined task of keys
``a`` and ``b`` has key ``"a,b"``. Every run writes one file under ``root/runs`` holding the
keys it ran for, so tests count runs (and their sizes) across processes.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import xrsched.task as xt
from tests.worker.tasks import Part

#: The largest batch ``Numbered`` allows.
MAX_BATCH = 7


def joined(keys) -> str:
    """The batch method of ``Numbered.key``: the members' keys, sorted, comma-separated."""
    return ",".join(sorted(keys))


class Numbered(xt.Task):
    """One keyed piece of work; its output is ``root/out/<key>.txt``. A batch run writes the
    combined task's output and every member's; a combined output covers its members too."""

    max_batch_size = MAX_BATCH
    root = xt.StrParameter()
    key = xt.StrParameter(batch_method=joined)
    fail = xt.BoolParameter(default=False)
    #: Keys of a combined output that a dependency (``Premade``) makes before the batch runs.
    premade = xt.StrParameter(default="")

    def requires(self):
        return [Premade(root=self.root, keys=self.premade)] if self.premade else []

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "out" / f"{self.key}.txt"))

    def complete(self):
        folder = Path(self.root) / "out"
        if not folder.exists():
            return False
        return any(set(self.key.split(",")) <= set(path.stem.split(",")) for path in folder.glob("*.txt"))

    def run(self):
        runs = Path(self.root) / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        (runs / f"{os.getpid()}-{uuid.uuid4().hex}.txt").write_text(self.key)
        if self.fail:
            raise ValueError(f"batch {self.key} fails on purpose")
        for key in {self.key, *self.key.split(",")}:
            with xt.LocalTarget(str(Path(self.root) / "out" / f"{key}.txt"), durable=False).open("w") as handle:
                handle.write("ok\n")


class Premade(xt.Task):
    """Writes the combined output ``root/out/<keys>.txt`` (as another worker's batch would)."""

    root = xt.StrParameter()
    keys = xt.StrParameter()

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "premade" / f"{self.keys}.txt"))

    def run(self):
        for folder in ("out", "premade"):
            with xt.LocalTarget(str(Path(self.root) / folder / f"{self.keys}.txt")).open("w") as handle:
                handle.write("made by another run\n")


def refuse(keys) -> str:
    """A batch method that cannot combine more than one value."""
    keys = list(keys)
    if len(keys) > 1:
        raise ValueError(f"cannot combine {len(keys)} keys")
    return keys[0]


class Uncombinable(xt.Task):
    """Batchable, but its batch method refuses every real batch."""

    root = xt.StrParameter()
    key = xt.StrParameter(batch_method=refuse)

    def run(self):
        raise AssertionError("never runs: its batches cannot be built")


class ManyUncombinable(xt.WrapperTask):
    root = xt.StrParameter()

    def requires(self):
        return [Uncombinable(root=self.root, key=f"u{i}") for i in range(3)]


class ManyNumbered(xt.WrapperTask):
    """``count`` Numbered tasks (keys ``k00``, ``k01`` ...) and ``parts`` non-batchable Parts."""

    root = xt.StrParameter()
    count = xt.IntParameter(default=20)
    parts = xt.IntParameter(default=0)
    fail = xt.BoolParameter(default=False)
    premade = xt.StrParameter(default="")

    def requires(self):
        numbered = [Numbered(root=self.root, key=f"k{i:02d}", fail=self.fail, premade=self.premade)
                    for i in range(self.count)]  # fmt: skip
        return numbered + [Part(root=self.root, n=n) for n in range(self.parts)]


class PartsThenNumbered(xt.WrapperTask):
    """``parts`` Parts first, then ``count`` Numbered tasks: a pipelined walk sends its first
    leaves (Parts) before it meets the batchable family."""

    root = xt.StrParameter()
    parts = xt.IntParameter(default=100)
    count = xt.IntParameter(default=20)

    def requires(self):
        parts = [Part(root=self.root, n=n) for n in range(self.parts)]
        return parts + [Numbered(root=self.root, key=f"k{i:02d}") for i in range(self.count)]


class GathersNumbered(xt.Task):
    """Needs ``count`` Numbered tasks it finds at run time (dynamic dependencies)."""

    root = xt.StrParameter()
    count = xt.IntParameter(default=10)

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "gathered.txt"))

    def run(self):
        found = yield [Numbered(root=self.root, key=f"d{i:02d}") for i in range(self.count)]
        with self.output().open("w") as handle:
            handle.write(f"{len(found)}\n")


class UpToHour(xt.Task):
    """Luigi's classic batch: ``hour`` combines by ``max``, so the combined task is the latest
    member, and its run makes every hour up to it."""

    root = xt.StrParameter()
    hour = xt.IntParameter(batch_method=max)

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / "out" / f"{self.hour:02d}.txt"))

    def run(self):
        runs = Path(self.root) / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        (runs / f"{os.getpid()}-{uuid.uuid4().hex}.txt").write_text(str(self.hour))
        for hour in range(self.hour + 1):
            with xt.LocalTarget(str(Path(self.root) / "out" / f"{hour:02d}.txt"), durable=False).open("w") as handle:
                handle.write("ok\n")


class Day(xt.WrapperTask):
    root = xt.StrParameter()

    def requires(self):
        return [UpToHour(root=self.root, hour=hour) for hour in range(24)]


def batch_runs(root: Path) -> list[list[str]]:
    """The keys of each run of a Numbered task under ``root``."""
    folder = Path(root) / "runs"
    if not folder.exists():
        return []
    return [path.read_text().split(",") for path in sorted(folder.iterdir())]
