"""For ``e2e.py``: a run's rate by tenths of its tasks, and the file system its task outputs are on.

Two runs of different sizes compare fairly only if each task costs the same in both. The tenths
show where a run's time goes (its first tenth shares the machine with the registration of the
rest of the graph); the file system matters because the tasks create one file each, and on this
project's benchmark machine (ext4 without a journal) creating a file right after many were
deleted costs the kernel up to ten times more, for the first few thousand files of a run (see
benchmarks/README.md, "Flat with graph size: why").
"""

from __future__ import annotations

import os
from pathlib import Path


def tenth_rates(starts: list[float], ends: list[float]) -> list[float]:
    """Tasks/s over each tenth of a run's tasks, in the order they ended: the first tenth from the
    first task's start to the end of the last task of that tenth, each next tenth from there.
    Empty below 10 tasks; the tasks left over by a size not divisible by 10 fall in no tenth."""
    step = len(ends) // 10
    if not starts or step == 0:
        return []
    ordered = sorted(ends)
    rates, since = [], min(starts)
    for k in range(1, 11):
        until = ordered[k * step - 1]
        rates.append(step / (until - since) if until > since else float("nan"))
        since = until
    return rates


def filesystem(path: Path, mounts: str = "/proc/mounts") -> str:
    """``path``'s file system as "TYPE at MOUNT POINT" (the longest mount point above it), or
    "unknown" where the mount table cannot be read."""
    target = os.path.realpath(path)
    best, kind = "", "unknown"
    try:
        with open(mounts) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return f"{kind} at {best}" if best else "unknown"
