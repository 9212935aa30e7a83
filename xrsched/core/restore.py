"""Rebuilding a scheduler from stored records (start-up recovery), in O(tasks + edges).

The store keeps only the primary fields of tasks and workers; everything derived (ready
heaps, counters, dependency counts, reverse index, resource usage, deadlines) is rebuilt
here in bulk rather than by replaying calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .changes import ChangeSet, Snapshot
from .model import Task, Worker
from .state import SchedulerState
from .states import DISABLED, DONE, FAILED, PENDING, RUNNING


def restore(
    state: SchedulerState,
    tasks: Iterable[Task],
    workers: Iterable[Worker],
    *,
    paused: bool,
    resources: dict[str, int],
    batchers: dict[str, dict[str, tuple[tuple[str, ...], float]]],
    now: float,
) -> None:
    """Fill an empty ``state`` with recovered records.

    Workers count as active from ``now``: the time the server was down is not held against
    them, and those that do not come back are dropped ``worker_disconnect_delay`` later,
    failing their RUNNING tasks, exactly as for any silent worker.
    """
    if state.tasks or state.workers:
        raise ValueError("restore() needs an empty scheduler")
    state.now = now
    config = state.config
    for worker in workers:
        worker.last_active = now
        state.workers[worker.id] = worker
        state.deadlines.push(now + config.worker_disconnect_delay, "worker", worker.id)
    records = state.tasks
    for task in tasks:
        records[task.id] = task
    top_seq = 0
    for task in records.values():
        top_seq = max(top_seq, task.seq)
        for dep in task.deps:
            state._link(dep, task.id)
        known = state.workers
        # A worker id the store no longer has (it was dropped) cannot hold the task.
        if any(w not in known for w in task.stakeholders):
            task.stakeholders = tuple(w for w in task.stakeholders if w in known)
        if any(w not in known for w in task.workers):
            task.workers = tuple(w for w in task.workers if w in known)
        for worker_id in {*task.stakeholders, *task.workers}:
            known[worker_id].related.add(task.id)
    state._seq = top_seq
    flags = _upstream_disabled_flags(records)
    for task in records.values():
        task.unmet = sum(1 for d in task.deps if d not in records or records[d].status != DONE)
        task.blocked = sum(1 for d in task.deps if flags.get(d, False))
    for task in records.values():
        state._reindex(task, Snapshot(task.status == DONE, task.upstream_disabled_flag, None), fresh=True)
        _schedule_deadlines(state, task)
    state.paused = paused
    state.resources = dict(resources)
    state.batchers = {w: dict(families) for w, families in batchers.items()}
    state.changes = ChangeSet() if state.tracking else ChangeSet.discarding()


def _schedule_deadlines(state: SchedulerState, task: Task) -> None:
    config = state.config
    if task.status == FAILED and task.retry is not None and config.retry_delay >= 0:
        state.deadlines.push(task.retry, "retry", task.id)
    if task.status == DISABLED and task.scheduler_disable_time is not None:
        state.deadlines.push(task.scheduler_disable_time + config.disable_persist, "reenable", task.id)
    if task.remove is None and not task.stakeholders and task.status != RUNNING:
        task.remove = state.now + config.remove_delay
    if task.remove is not None:
        state.deadlines.push(task.remove, "remove", task.id)


def _upstream_disabled_flags(records: dict[str, Task]) -> dict[str, bool]:
    """DISABLED, or PENDING with a flagged dependency; iterative, cycles count as unflagged."""
    flags: dict[str, bool] = {}
    for root in records:
        if root in flags:
            continue
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            task_id, expanded = stack.pop()
            task = records[task_id]
            if task.status != PENDING:
                flags[task_id] = task.status == DISABLED
                continue
            if expanded:
                flags[task_id] = any(flags.get(d, False) for d in task.deps if d in records)
                continue
            if task_id in flags:
                continue
            flags[task_id] = False  # provisional, breaks cycles
            stack.append((task_id, True))
            stack.extend((d, False) for d in task.deps if d in records and d not in flags)
    return flags


def meta_of(state: SchedulerState) -> dict[str, Any]:
    """The scheduler-wide settings the store keeps: pause, capacities, batchers."""
    return {
        "paused": state.paused,
        "resources": dict(state.resources),
        "batchers": {
            worker: {
                family: [list(names), None if size == float("inf") else size] for family, (names, size) in fams.items()
            }
            for worker, fams in state.batchers.items()
        },
    }
