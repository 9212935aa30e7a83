"""Rebuilding a scheduler from stored records (start-up recovery), in O(tasks + edges).

The store keeps only the primary fields of tasks and workers; everything derived (ready
heaps, counters, dependency counts, reverse index, resource usage, deadlines) is rebuilt
here in bulk rather than by replaying calls.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from .changes import ChangeSet
from .model import Task, Worker
from .state import SchedulerState, signature
from .states import BATCH_RUNNING, DISABLED, DONE, FAILED, PENDING, RUNNING


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
    known = state.workers
    # Worker tuples are mostly shared (one per worker): check each distinct tuple once.
    kept: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    link = state._link
    for task_id, task in records.items():
        if task.seq > top_seq:
            top_seq = task.seq
        deps = task.deps
        if deps:
            unmet = 0
            for dep in deps:
                link(dep, task_id)
                dep_task = records.get(dep)
                if dep_task is None or dep_task.status != DONE:
                    unmet += 1
            task.unmet = unmet
        task.stakeholders = _known(task.stakeholders, known, kept)
        task.workers = _known(task.workers, known, kept)
        for worker_id in task.stakeholders:
            known[worker_id].related.add(task_id)
        for worker_id in task.workers:
            known[worker_id].related.add(task_id)
    state._seq = top_seq
    # Only a DISABLED task can block others: without one, no walk is needed.
    if _any_disabled(records):
        flags = _upstream_disabled_flags(records)
        for task in records.values():
            task.blocked = sum(1 for d in task.deps if flags.get(d, False))
    else:
        for task in records.values():
            task.blocked = 0
    _index_all(state, records)
    timed: list[tuple[float, str, str]] = []
    for task in records.values():
        _schedule_deadlines(state, task, timed)
    state.deadlines.extend(timed)
    state.paused = paused
    state.resources = dict(resources)
    state.batchers = {w: dict(families) for w, families in batchers.items()}
    state.changes = ChangeSet() if state.tracking else ChangeSet.discarding()


def _known(
    members: tuple[str, ...], known: dict[str, Worker], kept: dict[int, tuple[tuple[str, ...], tuple[str, ...]]]
) -> tuple[str, ...]:
    """``members`` without workers the store no longer has (dropped workers hold nothing)."""
    if not members:
        return members
    cached = kept.get(id(members))
    if cached is not None and cached[0] is members:
        return cached[1]
    result = members if all(w in known for w in members) else tuple(w for w in members if w in known)
    kept[id(members)] = (members, result)
    return result


def _any_disabled(records: dict[str, Task]) -> bool:
    return any(task.status == DISABLED for task in records.values())


def _index_all(state: SchedulerState, records: dict[str, Task]) -> None:
    """The bulk equivalent of indexing each task: statuses, counters, usage, runs, ready heaps.

    Ready entries are collected and heapified once (O(n)) instead of pushed one by one.
    """
    by_status = state.by_status
    used = state.used
    running_by_worker = state.running_by_worker
    batches = state.batches
    pending_lists: dict[object, list[Any]] = {}
    count = state._count
    for task in records.values():
        status = task.status
        by_status[status].add(task.id)
        if status == DONE:
            continue
        if task.workers and status in (PENDING, FAILED, RUNNING):
            count(task, 1)
        if status == RUNNING and task.resources_running:
            for name, amount in task.resources_running.items():
                used[name] = used.get(name, 0) + amount
        if status in (RUNNING, BATCH_RUNNING) and task.worker_running is not None:
            running_by_worker.setdefault(task.worker_running, set()).add(task.id)
        if status == BATCH_RUNNING and task.batch_id is not None:
            batches.setdefault(task.batch_id, set()).add(task.id)
        if status == PENDING and task.unmet == 0:
            state.n_ready += 1
            task.gen = 1
            entry = (-task.priority, task.time, task.seq, 1, task)
            sig = signature(task.resources)
            for worker_id in task.workers:
                worker = state.workers.get(worker_id)
                if worker is not None:
                    pending_lists.setdefault((worker_id, sig), []).append(entry)
            if task.runnable:
                pending_lists.setdefault((None, sig), []).append(entry)
            for name, _ in sig:
                pending_lists.setdefault(name, []).append(entry)
    for key, entries in pending_lists.items():
        heapq.heapify(entries)
        if isinstance(key, str):
            state.ready_by_resource[key] = entries
        else:
            worker_id, sig = key  # type: ignore[misc]
            if worker_id is None:
                state.global_buckets[sig] = entries
            else:
                state.workers[worker_id].buckets[sig] = entries


def _schedule_deadlines(state: SchedulerState, task: Task, timed: list[tuple[float, str, str]]) -> None:
    config = state.config
    status = task.status
    if status == FAILED and task.retry is not None and config.retry_delay >= 0:
        timed.append((task.retry, "retry", task.id))
    elif status == DISABLED and task.scheduler_disable_time is not None:
        timed.append((task.scheduler_disable_time + config.disable_persist, "reenable", task.id))
    if task.remove is None and not task.stakeholders and status != RUNNING:
        task.remove = state.now + config.remove_delay
    if task.remove is not None:
        timed.append((task.remove, "remove", task.id))


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
