"""Taking back the tasks a scheduler stopped holding for this worker.

A scheduler drops a worker that stays silent past its ``worker_disconnect_delay`` (a network
outage, a paused process, a scheduler restart that kept no record of it). The dropped worker's
pending tasks stay registered but are held for nobody: ``get_work`` hands them to no one, the
scheduler counts none of them as this worker's (``n_pending_tasks``), and a run would end with them
left pending. Luigi's worker ends that way.

An ``xrsched`` worker that is about to stop for lack of work first compares what it registered
with what the scheduler holds: tasks it has neither finished nor failed, that the scheduler shows
PENDING without this worker among their workers (or no longer knows), were lost in a drop. It walks
its graph again (their ``complete()`` is checked anew, as a fresh run would) and registers those
tasks again, once per drop: it tries again only after the scheduler has counted pending tasks of
its own since. Tasks met only as dynamic dependencies are not found by the walk and stay lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .link import Call


def lost_tasks(unfinished: Iterable[str], graph: Mapping[str, Mapping[str, Any]], worker_id: str) -> set[str]:
    """Of ``unfinished`` (registered here, not run to an end here), those the scheduler's
    ``graph`` (``dep_graph`` answers: id -> task info) shows PENDING without ``worker_id`` among
    its workers, or does not hold at all."""
    lost = set()
    for task_id in unfinished:
        info = graph.get(task_id)
        if info is None or (info.get("status") == "PENDING" and worker_id not in (info.get("workers") or ())):
            lost.add(task_id)
    return lost


def calls_for(calls: Iterable[Call], lost: set[str]) -> list[Call]:
    """The registration ``calls`` that concern ``lost`` tasks (batcher declarations are kept: a
    scheduler that restarted may have lost those too)."""
    return [(method, kwargs) for method, kwargs in calls if method != "add_task" or kwargs["task_id"] in lost]
