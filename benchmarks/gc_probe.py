"""``xrsched-server`` with a timer on the garbage collector's passes: how many collections of
each generation the server made and how long they took (issue 19: full passes over the
long-lived records). The benchmarks start the server through this file with ``--gc-probe``.

Not a server to run for real: it lives in ``benchmarks/`` (never in the package) and refuses to
start without the environment variable ``XRSCHED_BENCH_GC_PROBE``, read only here: the JSON file
the counts go to, rewritten every :data:`EVERY` seconds and at exit (so a server stopped by a
signal still leaves its figures). The arguments are ``xrsched-server``'s, passed on unchanged.
The timer is ``gc.callbacks``: the CPU time (``time.thread_time``) from a collection's start to
its end, in whichever thread triggered it, so that a collection preempted on a loaded machine
does not count the time other processes ran; the wall-clock time is kept beside it.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ENV = "XRSCHED_BENCH_GC_PROBE"
#: Seconds between two writes of the counts.
EVERY = 0.5


class Probe:
    """Counts and times the collector's passes, per generation."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.wall = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self._began = (0.0, 0.0)
        #: At exit: the cyclic garbage found only once the frozen objects are unfrozen (what
        #: freezing kept from the collector: a leak while the process runs); None before.
        self.frozen_garbage: int | None = None

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = (time.thread_time(), time.perf_counter())
            return
        took, wall = time.thread_time() - self._began[0], time.perf_counter() - self._began[1]
        generation = info["generation"]
        self.count[generation] += 1
        self.seconds[generation] += took
        self.wall[generation] += wall
        self.longest[generation] = max(self.longest[generation], wall)

    def figures(self) -> dict[str, Any]:
        """The counts so far, with the number of objects frozen and the process's CPU seconds."""
        return {
            "count": list(self.count),
            "seconds": list(self.seconds),
            "wall": list(self.wall),
            "longest": list(self.longest),
            "frozen": gc.get_freeze_count(),
            "cpu": time.process_time(),
            "frozen_garbage": self.frozen_garbage,
        }

    def at_exit(self, path: Path) -> None:
        """Write the figures a last time, with :attr:`frozen_garbage` counted."""
        gc.callbacks.remove(self)
        figures = self.figures()
        gc.collect()
        gc.unfreeze()
        self.frozen_garbage = gc.collect()
        _dump(self, path, figures)


_writing = threading.Lock()


def _dump(probe: Probe, path: Path, figures: dict[str, Any] | None = None) -> None:
    figures = dict(figures or probe.figures(), frozen_garbage=probe.frozen_garbage)
    temporary = path.with_suffix(".tmp")
    with _writing:
        temporary.write_text(json.dumps(figures))
        os.replace(temporary, path)


def _keep_writing(probe: Probe, path: Path) -> None:
    while True:
        time.sleep(EVERY)
        _dump(probe, path)


def read(path: Path) -> dict[str, Any] | None:
    """The figures a probed server wrote to ``path`` (None if it wrote none)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def describe(figures: dict[str, Any] | None) -> str:
    """One line: the full (gen 2) collections, their CPU time, the longest (wall-clock), and the
    younger ones."""
    if figures is None:
        return "gc: no figures"
    count, seconds, longest = figures["count"], figures["seconds"], figures["longest"]
    share = seconds[2] / figures["cpu"] * 100 if figures["cpu"] else 0.0
    return (
        f"gc: {count[2]} full passes {seconds[2]:.2f} s CPU ({share:.1f} % of the server's "
        f"{figures['cpu']:.1f} s), longest {longest[2] * 1e3:.0f} ms wall; gen 0/1: {count[0]}/{count[1]} "
        f"in {seconds[0] + seconds[1]:.2f} s CPU; frozen {figures['frozen']:,}"
        + ("" if figures.get("frozen_garbage") is None else f", frozen garbage at exit {figures['frozen_garbage']:,}")
    )


def main() -> int:
    target = os.environ.get(ENV, "")
    if not target:
        print(f"{ENV} must name the file the counts go to: this server is for the benchmark only", file=sys.stderr)
        return 2
    path = Path(target)
    probe = Probe()
    gc.callbacks.append(probe)
    atexit.register(probe.at_exit, path)
    threading.Thread(target=_keep_writing, args=(probe, path), name="gc-probe", daemon=True).start()
    from xrsched.cli.server import main as server_main

    return server_main()


if __name__ == "__main__":
    sys.exit(main())
