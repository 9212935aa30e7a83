"""Rebuilding a scheduler from stored records (start-up recovery), in O(tasks + edges).

The store keeps only the primary fields of tasks and workers; everything derived (ready
heaps, counters, dependency counts, reverse index, resource usage, deadlines) is rebuilt
here in bulk rather than by replaying calls.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from .coldtasks import ColdTasks, TaskTable, hot_tasks, install
from .model import Task, Worker
from .state import SchedulerState, signature
from .states import BATCH_RUNNING, DISABLED, DONE, FAILED, PENDING, RUNNING

#: A worker tuple as restored (without unknown workers), and what relates a task to them.
_Members = tuple[tuple[str, ...], Callable[[str], None] | None]


def restore(
    state: SchedulerState,
    tasks: Iterable[Task],
    workers: Iterable[Worker],
    *,
    paused: bool,
    resources: dict[str, int],
    batchers: dict[str, dict[str, tuple[tuple[str, ...], float]]],
    now: float,
    cold: ColdTasks | None = None,
) -> None:
    """Fill an empty ``state`` with recovered records.

    ``tasks`` are as a store decodes them (distinct ids; ``unmet``, ``blocked`` and ``gen`` at
    0) and are read once, in order, so they may be decoded as they are consumed. If reading
    them fails, the state is left half filled: discard it.

    Workers count as active from ``now``: the time the server was down is not held against
    them, and those that do not come back are dropped ``worker_disconnect_delay`` later,
    failing their RUNNING tasks, exactly as for any silent worker. A runner of a RUNNING task
    without a worker record (an edited export, say) gets the same deadline.

    ``cold``: DONE tasks handed over in bulk, left unbuilt until first looked up (see
    :mod:`.coldtasks`); none of them may be among ``tasks``.
    """
    if state.tasks or state.workers:
        raise ValueError("restore() needs an empty scheduler")
    state.now = now
    state.listing = None  # built again from the restored records when first asked for
    config = state.config
    for worker in workers:
        worker.last_active = now
        state.workers[worker.id] = worker
        state.deadlines.push(now + config.worker_disconnect_delay, "worker", worker.id)
    if cold is not None:
        state.deadlines.extend(install(state, cold, now + config.remove_delay))
    with_deps, active = _add_all(state, tasks)
    if cold is not None:
        state._seq = max(state._seq, cold.top_seq)
    _link_deps(state, with_deps)
    if state.by_status[DISABLED]:
        _count_blocked(state.tasks)
    _index_active(state, active)
    _watch_unknown_runners(state)
    state.paused = paused
    state.resources = dict(resources)
    state.batchers = {w: dict(families) for w, families in batchers.items()}
    state.changes = state.fresh_changes()


def _add_all(state: SchedulerState, tasks: Iterable[Task]) -> tuple[list[Task], list[Task]]:
    """One pass over the tasks as they come: records, statuses, workers, deadlines.

    Everything here depends on the task alone, so each one is handled while it is fresh in the
    cache (the store decodes the next batch only when this loop asks for it). Returns the tasks
    with dependencies and the tasks not DONE: most tasks are DONE and need no more than this.
    """
    records = state.tasks
    known = state.workers
    add_to = {status: ids.add for status, ids in state.by_status.items()}
    # Member tuples are shared (mostly one per worker): each distinct one is looked at once.
    members: dict[tuple[str, ...], _Members] = {(): ((), None)}
    config = state.config
    timed: list[tuple[float, str, str]] = []
    remove_at = state.now + config.remove_delay
    with_deps: list[Task] = []
    active: list[Task] = []
    top_seq = 0
    for task in tasks:
        task_id = task.id
        records[task_id] = task
        status = task.status
        add_to[status](task_id)
        if task.seq > top_seq:
            top_seq = task.seq
        if task.deps:
            with_deps.append(task)
        holders = task.stakeholders
        kept, relate = members.get(holders) or _members(holders, known, members)
        task.stakeholders = kept
        if relate is not None:
            relate(task_id)
        runners = task.workers
        if runners is holders:
            task.workers = kept
        else:
            task.workers, relate = members.get(runners) or _members(runners, known, members)
            if relate is not None:
                relate(task_id)
        remove = task.remove
        if status != DONE:
            active.append(task)
            if status == FAILED:
                if task.retry is not None and config.retry_delay >= 0:
                    timed.append((task.retry, "retry", task_id))
            elif status == DISABLED and task.scheduler_disable_time is not None:
                timed.append((task.scheduler_disable_time + config.disable_persist, "reenable", task_id))
            if remove is None and not kept and status != RUNNING:
                remove = task.remove = remove_at
        elif remove is None and not kept:
            remove = task.remove = remove_at
        if remove is not None:
            timed.append((remove, "remove", task_id))
    state._seq = top_seq
    state.deadlines.extend(timed)
    return with_deps, active


def _link_deps(state: SchedulerState, with_deps: list[Task]) -> None:
    """The reverse index and ``unmet`` of every task with dependencies (all records are in)."""
    records = state.tasks
    built = records.hot if isinstance(records, TaskTable) else records.get
    link = state._link
    missing: dict[str, str] = {}
    for task in with_deps:
        task_id = task.id
        unmet = 0
        # Each dependency becomes the id its record holds: one string, not one per dependent.
        same: list[str] = []
        for dep in task.deps:
            dep_task = built(dep)
            if dep_task is None:
                if dep not in records:  # else a cold task: DONE
                    dep = missing.setdefault(dep, dep)
                    unmet += 1
            else:
                dep = dep_task.id
                if dep_task.status != DONE:
                    unmet += 1
            same.append(dep)
            link(dep, task_id)
        task.deps = tuple(same)
        task.unmet = unmet


def _members(ids: tuple[str, ...], known: dict[str, Worker], members: dict[tuple[str, ...], _Members]) -> _Members:
    """``ids`` without workers the store no longer has (dropped workers hold nothing), and what
    adds a task id to the ``related`` set of each worker that remains (None if there is none)."""
    kept = ids if all(w in known for w in ids) else tuple(w for w in ids if w in known)
    adds = [known[w].related.add for w in kept]
    if len(adds) <= 1:
        relate = adds[0] if adds else None
    else:

        def relate(task_id: str) -> None:
            for add in adds:
                add(task_id)

    entry = members[ids] = (kept, relate)
    return entry


def _count_blocked(records: dict[str, Task]) -> None:
    """``blocked`` of every task with dependencies (only needed when some task is DISABLED).
    Cold tasks are DONE: not flagged, and their own counts are made when they are built."""
    flags = _upstream_disabled_flags(records)
    for task in hot_tasks(records):
        if task.deps:
            task.blocked = sum(1 for d in task.deps if flags.get(d, False))


def _index_active(state: SchedulerState, active: list[Task]) -> None:
    """The bulk equivalent of indexing each task not DONE: counters, usage, runs, ready heaps."""
    waiting: list[Task] = []
    running: list[Task] = []
    lost_runs = state.lost_runs
    for task in active:
        status = task.status
        if status in (PENDING, FAILED):
            waiting.append(task)
        elif status in (RUNNING, BATCH_RUNNING):
            running.append(task)
        if task.more is not None and (last_runner := task.last_runner) is not None:
            lost_runs.setdefault(last_runner, set()).add(task.id)
    _count_waiting(state, waiting)
    _index_ready(state, waiting)
    _index_runs(state, running)


def _count_waiting(state: SchedulerState, waiting: list[Task]) -> None:
    """The worker counters of PENDING and FAILED tasks. They depend only on a task's workers,
    its status and whether it is blocked, so each such group is counted once, weighted by its size."""
    # (workers, status, unblocked) -> [a task of the group, how many]
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for task in waiting:
        if not task.workers:
            continue
        group = groups.get(group_key := (task.workers, task.status, task.blocked == 0))
        if group is None:
            groups[group_key] = [task, 1]
        else:
            group[1] += 1
    count = state._count
    for task, size in groups.values():
        count(task, size)


def _index_ready(state: SchedulerState, waiting: list[Task]) -> None:
    """The ready heaps: entries of every PENDING task with its dependencies met, collected per
    heap and heapified once (O(n)) instead of pushed one by one."""
    workers = state.workers
    # (workers, signature, runnable) -> the ready lists a task with them goes into.
    targets: dict[tuple[Any, ...], list[list[Any]]] = {}
    pending_lists: dict[object, list[Any]] = {}
    n_ready = 0
    for task in waiting:
        if task.status != PENDING or task.unmet:
            continue
        n_ready += 1
        task.gen = 1
        sig = signature(task.resources) if task.resources else ()
        key = (task.workers, sig, task.runnable)
        lists = targets.get(key)
        if lists is None:
            lists = targets[key] = _ready_lists(key, workers, pending_lists)
        entry = (-task.priority, task.time, task.seq, 1, task)
        for entries in lists:
            entries.append(entry)
    state.n_ready += n_ready
    state._heap_entries += sum(len(entries) for entries in pending_lists.values())
    for key, entries in pending_lists.items():
        heapq.heapify(entries)
        _install_heap(state, key, entries)


def _install_heap(state: SchedulerState, key: object, entries: list[Any]) -> None:
    """Put a ready heap where its key says: global (any runnable task) or per worker."""
    worker_id, sig = key  # type: ignore[misc]
    if worker_id is None:
        state.global_buckets[sig] = entries
    else:
        state.workers[worker_id].buckets[sig] = entries
        for name, _ in sig:
            state.workers_needing.setdefault(name, set()).add(worker_id)


def _index_runs(state: SchedulerState, running: list[Task]) -> None:
    """RUNNING and BATCH_RUNNING tasks: worker counters, resources in use, runs per worker, batches."""
    used = state.used
    count = state._count
    for task in running:
        if task.status == RUNNING:
            if task.workers:
                count(task, 1)
            for name, amount in (task.resources_running or {}).items():
                used[name] = used.get(name, 0) + amount
                state.running_by_resource.setdefault(name, set()).add(task.id)
        if task.worker_running is not None:
            state.running_by_worker.setdefault(task.worker_running, set()).add(task.id)
        if task.status == BATCH_RUNNING and task.batch_id is not None:
            state.batches.setdefault(task.batch_id, set()).add(task.id)


def _watch_unknown_runners(state: SchedulerState) -> None:
    """Give each runner the store has no record of the deadline a silent worker gets: if it
    does not come back within ``worker_disconnect_delay``, its RUNNING tasks fail (without
    this, nothing could ever change them again)."""
    due = state.now + state.config.worker_disconnect_delay
    for worker_id in state.running_by_worker:
        if worker_id not in state.workers:
            state.deadlines.push(due, "worker", worker_id)


def _ready_lists(
    key: tuple[Any, ...], workers: dict[str, Worker], pending_lists: dict[object, list[Any]]
) -> list[list[Any]]:
    """The ready lists (one per heap) of a task with these workers, signature and runnable flag."""
    worker_ids, sig, runnable = key
    heap_keys: list[object] = [(worker_id, sig) for worker_id in worker_ids if worker_id in workers]
    if runnable:
        heap_keys.append((None, sig))
    return [pending_lists.setdefault(heap_key, []) for heap_key in heap_keys]


def _upstream_disabled_flags(records: dict[str, Task]) -> dict[str, bool]:
    """DISABLED, or PENDING with a flagged dependency; iterative, cycles count as unflagged.
    Only built tasks are looked at: a cold one is DONE, so unflagged (absent from the result)."""
    built = {task.id: task for task in hot_tasks(records)}
    flags: dict[str, bool] = {}
    for root in built:
        if root in flags:
            continue
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            task_id, expanded = stack.pop()
            task = built[task_id]
            if task.status != PENDING:
                flags[task_id] = task.status == DISABLED
                continue
            if expanded:
                flags[task_id] = any(flags.get(d, False) for d in task.deps if d in built)
                continue
            if task_id in flags:
                continue
            flags[task_id] = False  # provisional, breaks cycles
            stack.append((task_id, True))
            stack.extend((d, False) for d in task.deps if d in built and d not in flags)
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
