"""The scheduler's records and the incremental indexes derived from them.

Every change to a task goes through :meth:`SchedulerState.edit` (or the create/delete
helpers): the task's contributions to the indexes are withdrawn, the record changes, and
the contributions are added back. That one discipline keeps these derived structures
exact without ever scanning all tasks:

* ``by_status``: task ids per status (counts and listings by status);
* per-worker counters behind ``get_work``'s reply and ``worker_list``;
* ready heaps: PENDING tasks whose dependencies are all DONE, ordered by rank
  (priority, then age), one heap per worker and resource signature, plus global heaps
  for assistants and per-resource heaps for the fair pass;
* ``unmet``/``blocked`` counts on each task, pushed to dependents through the reverse
  dependency index when a task enters or leaves DONE or the "disabled upstream" state;
* resource usage of RUNNING tasks, the RUNNING tasks of each worker, batch membership;
* once a dashboard has asked: counts per family and status, tasks by recency (``listing``).

Heaps are invalidated lazily: an entry carries the task's ``gen`` and is skipped when the
task has moved on; they are compacted when stale entries pile up.

The parts with a life of their own are mixins in their own modules: the ready heaps
(:mod:`.ready`), the reverse dependency index (:mod:`.edges`), the worker records with their
counters and lost runs (:mod:`.worker_records`) and the recording of changes for the store
(:mod:`.changes`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from .changes import ChangeRecording, ChangeSet, Snapshot
from .coldtasks import TaskTable
from .config import RetryPolicy, SchedulerConfig
from .edges import ReverseIndex
from .errors import UnknownTask
from .heaps import DeadlineQueue
from .listing import Listings
from .model import Task, Worker
from .ready import MIN_COMPACT_INTERVAL, Entry, ReadyHeaps, Sig
from .states import BATCH_RUNNING, DONE, PENDING, RUNNING, TASK_STATUSES
from .validate import identifier
from .worker_records import WorkerRecords

#: (-priority, first-seen time, resource signature, runnable by assistants)
ReadyKey = tuple[float, float, Sig, bool]


def signature(resources: dict[str, int]) -> Sig:
    """The resource signature of a task: its non-zero needs, sorted. Hashable."""
    if not resources:
        return ()
    return tuple(sorted((name, amount) for name, amount in resources.items() if amount))


class SchedulerState(ReadyHeaps, ReverseIndex, WorkerRecords, ChangeRecording):
    """Tasks, workers and their indexes. The scheduler's public methods build on this."""

    def __init__(self, config: SchedulerConfig | None = None, resources: dict[str, int] | None = None) -> None:
        self.config = config or SchedulerConfig()
        #: Configured resource capacities; a resource not listed has capacity 1.
        self.resources: dict[str, int] = dict(resources or {})
        self.tasks: dict[str, Task] = {}
        self.workers: dict[str, Worker] = {}
        self.by_status: dict[str, set[str]] = {status: set() for status in TASK_STATUSES}
        #: dependency id -> the id (or set of ids) of the tasks that depend on it; the
        #: dependency may name no task yet. A lone dependent is stored as a bare string.
        self.rdeps: dict[str, str | tuple[str, ...] | set[str]] = {}
        #: worker id -> ids of the RUNNING or BATCH_RUNNING tasks it runs.
        self.running_by_worker: dict[str, set[str]] = {}
        self.lost_runs: dict[str, set[str]] = {}
        #: batch id -> ids of its BATCH_RUNNING members.
        self.batches: dict[str, set[str]] = {}
        #: resource -> amount held by RUNNING tasks.
        self.used: dict[str, int] = {}
        #: resource -> ids of the RUNNING tasks holding some of it (the fair pass meets them in rank order).
        self.running_by_resource: dict[str, set[str]] = {}
        self.global_buckets: dict[Sig, list[Entry]] = {}
        self.workers_needing: dict[str, set[str]] = {}
        self.n_ready = 0
        self.deadlines = DeadlineQueue()
        #: worker id -> task family -> (batched parameter names, max batch size)
        self.batchers: dict[str, dict[str, tuple[tuple[str, ...], float]]] = {}
        self.paused = False
        self.now = 0.0
        self._seq = 0
        self._open: dict[str, Snapshot] = {}
        self._propagation: deque[tuple[str, int, int]] = deque()
        self._draining = False
        self._derived_only = False
        self._pushes = 0
        self._compact_at = MIN_COMPACT_INTERVAL
        self._heap_entries = 0
        self._removed_since_sweep = 0
        self._policies: dict[RetryPolicy, RetryPolicy] = {}
        self.tracking = False
        self._transitions_only = False
        self.changes = ChangeSet.discarding()
        self._solo: dict[str, tuple[str]] = {}
        #: The dashboard's counts and orderings, built on first use (see :meth:`listings`).
        self.listing: Listings | None = None

    # ----------------------------------------------------------------- ranking

    @staticmethod
    def ready_key(task: Task) -> ReadyKey | None:
        """The task's rank and signature if it is ready to run, else None."""
        if task.status == PENDING and task.unmet == 0:
            return (-task.priority, task.time, signature(task.resources), task.runnable)
        return None

    def listings(self) -> Listings:
        """The dashboard's indexes; the first call builds them from the records (O(n log n)),
        later edits keep them exact."""
        if self.listing is None:
            self.listing = Listings(self.tasks.values())
        return self.listing

    def cold_tasks_left(self) -> int:
        """How many DONE tasks restored unbuilt (see :mod:`.coldtasks`) are still not built."""
        tasks = self.tasks
        return tasks.cold_count if isinstance(tasks, TaskTable) else 0

    def build_cold_tasks(self, most: int) -> int:
        """Build up to ``most`` (at least 1) of the tasks :meth:`cold_tasks_left` counts, each
        as a lookup would build it now; returns how many are left. Changes no record or index."""
        tasks = self.tasks
        return tasks.thaw_some(most) if isinstance(tasks, TaskTable) else 0

    def is_done(self, task_id: str) -> bool:
        """Whether the task exists and is DONE."""
        task = self.tasks.get(task_id)
        return task is not None and task.status == DONE

    def known_task(self, task_id: Any) -> Task:
        """The task record for an id a caller names, or UnknownTask (404)."""
        record = self.tasks.get(identifier("task_id", task_id))
        if record is None:
            raise UnknownTask(task_id)
        return record

    def shared_policy(self, policy: RetryPolicy) -> RetryPolicy:
        """One shared instance per distinct policy, so a million tasks hold a handful."""
        return self._policies.setdefault(policy, policy)

    # ----------------------------------------------------------------- editing

    def edit(self, task: Task) -> _Edit:
        """Change ``task`` inside this block; the indexes follow when it ends. Re-entrant."""
        return _Edit(self, task)

    def note_worker_added(self, task: Task, worker_id: str) -> None:
        """Tell an open edit that ``worker_id`` joined ``task.workers`` (its ready entry is pushed)."""
        snap = self._open.get(task.id)
        if snap is not None:
            snap.added.append(worker_id)

    def create_task(self, task: Task) -> None:
        """Insert a new task record and index it."""
        self._seq += 1
        task.seq = self._seq
        self.tasks[task.id] = task
        for dep in task.deps:
            self._link(dep, task.id)
        self._recount_deps(task)
        self._reindex(task, Snapshot(False, False, None), fresh=True)

    def next_seq(self) -> int:
        """The creation number the next task will get."""
        return self._seq + 1

    def delete_task(self, task: Task) -> None:
        """Remove a task record and everything derived from it."""
        snap = self._unindex(task)
        if self.listing is not None:
            self.listing.removed(task)
        del self.tasks[task.id]
        self.forget_lost_run(task)
        self.changes.tasks.discard(task.id)
        self.changes.removed_tasks.add(task.id)
        for dep in task.deps:
            self._unlink(dep, task.id)
        for worker_id in {*task.stakeholders, *task.workers}:
            worker = self.workers.get(worker_id)
            if worker is not None:
                worker.related.discard(task.id)
        self._queue_propagation(task.id, -1 if snap.done else 0, -1 if snap.flag else 0)
        self.note_task_removed()

    def set_deps(self, task: Task, deps: Iterable[str], *, replace: bool) -> None:
        """Replace (or extend) the dependencies of an open task, keeping the reverse index."""
        old = set(task.deps)
        new = set(deps)
        if replace:
            for dep in old - new:
                self._unlink(dep, task.id)
            added = new - old
            if new == old:
                return
            task.deps = tuple(sorted(new))
        else:
            added = new - old
            if not added:
                return
            task.deps = tuple(sorted(old | added))
        for dep in added:
            self._link(dep, task.id)
        self._recount_deps(task)

    def _recount_deps(self, task: Task) -> None:
        tasks = self.tasks
        unmet = blocked = 0
        for dep in task.deps:
            dep_task = tasks.get(dep)
            if dep_task is None:
                unmet += 1
                continue
            if dep_task.status != DONE:
                unmet += 1
            if dep_task.upstream_disabled_flag:
                blocked += 1
        task.unmet = unmet
        task.blocked = blocked

    # ---------------------------------------------------------------- indexing

    def _unindex(self, task: Task) -> Snapshot:
        status = task.status
        self.by_status[status].discard(task.id)
        self._count(task, -1)
        if status == RUNNING and task.resources_running:
            used, holders = self.used, self.running_by_resource
            for name, amount in task.resources_running.items():
                used[name] = used.get(name, 0) - amount
                held = holders.get(name)
                if held is not None:
                    held.discard(task.id)
                    if not held:
                        del holders[name]
        if (status in (RUNNING, BATCH_RUNNING)) and task.worker_running is not None:
            running = self.running_by_worker.get(task.worker_running)
            if running is not None:
                running.discard(task.id)
                if not running:
                    del self.running_by_worker[task.worker_running]
        if status == BATCH_RUNNING and task.batch_id is not None:
            members = self.batches.get(task.batch_id)
            if members is not None:
                members.discard(task.id)
                if not members:
                    del self.batches[task.batch_id]
        key = self.ready_key(task)
        if key is not None:
            self.n_ready -= 1
        listed = (
            (status, task.family, task.updated, task.params, task.param_visibilities)
            if self.listing is not None
            else None  # nothing to keep up to date: no tuple on the hot path
        )
        return Snapshot(status == DONE, task.upstream_disabled_flag, key, listed)

    def _reindex(self, task: Task, snap: Snapshot, *, fresh: bool = False) -> None:
        status = task.status
        if not self._derived_only:
            self.changes.tasks.add(task.id)
        self.by_status[status].add(task.id)
        self._count(task, 1)
        if status == RUNNING and task.resources_running:
            used, holders = self.used, self.running_by_resource
            for name, amount in task.resources_running.items():
                used[name] = used.get(name, 0) + amount
                holders.setdefault(name, set()).add(task.id)
        if (status in (RUNNING, BATCH_RUNNING)) and task.worker_running is not None:
            self.running_by_worker.setdefault(task.worker_running, set()).add(task.id)
        if status == BATCH_RUNNING and task.batch_id is not None:
            self.batches.setdefault(task.batch_id, set()).add(task.id)
        key = self.ready_key(task)
        if key is not None:
            self.n_ready += 1
            if key != snap.ready_key:
                task.gen += 1
                self._push_ready(task, key[2], task.workers, everywhere=True)
            elif snap.added:
                self._push_ready(task, key[2], snap.added, everywhere=False)
        if not fresh and not task.stakeholders and task.remove is None and status != RUNNING:
            task.remove = self.now + self.config.remove_delay
            self.deadlines.push(task.remove, "remove", task.id)
        listing = self.listing
        if listing is not None:
            if snap.listed is None:
                listing.added(task)
            else:
                listing.changed(task, *snap.listed)
        done = status == DONE
        flag = task.upstream_disabled_flag
        if done != snap.done or flag != snap.flag:
            self._queue_propagation(
                task.id,
                (1 if done else -1) if done != snap.done else 0,
                (1 if flag else -1) if flag != snap.flag else 0,
            )

    # ------------------------------------------------------------- propagation

    def _queue_propagation(self, task_id: str, done_delta: int, flag_delta: int) -> None:
        if not done_delta and not flag_delta:
            return
        self._propagation.append((task_id, done_delta, flag_delta))
        if self._draining:
            return
        self._draining = True
        try:
            queue = self._propagation
            while queue:
                dep_id, d_done, d_flag = queue.popleft()
                for dependent_id in self.dependents(dep_id):
                    # Built tasks only: a cold one (see .coldtasks) counts afresh when it is built.
                    dependent = dict.get(self.tasks, dependent_id)
                    if dependent is None:
                        continue
                    # Only derived counts change here: nothing the store keeps.
                    self._derived_only = True
                    try:
                        with self.edit(dependent):
                            dependent.unmet -= d_done
                            dependent.blocked += d_flag
                    finally:
                        self._derived_only = False
        finally:
            self._draining = False


class _Edit:
    """The block of :meth:`SchedulerState.edit`. A class rather than ``@contextmanager``: every call
    edits a task a few times, and a generator-based block costs about twice as much."""

    __slots__ = ("_outer", "_state", "_task")

    def __init__(self, state: SchedulerState, task: Task) -> None:
        self._state = state
        self._task = task
        self._outer = False

    def __enter__(self) -> Task:
        task = self._task
        opened = self._state._open
        if task.id not in opened:  # the outermost block of this task unindexes and reindexes it
            opened[task.id] = self._state._unindex(task)
            self._outer = True
        return task

    def __exit__(self, *exc_info: object) -> None:
        if self._outer:
            task = self._task
            self._state._reindex(task, self._state._open.pop(task.id))
