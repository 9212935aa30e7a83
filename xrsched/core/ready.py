"""Ready heaps: the runnable tasks of each worker (and of all workers), per resource
signature, ordered by rank, invalidated lazily and compacted when stale entries pile up.

Two things start a sweep (:meth:`ReadyHeaps.compact`), each paid for by the work that earned
it: pushes (at least :data:`MIN_COMPACT_INTERVAL`, else twice the live entries of the last
sweep), and removed tasks. A removed task's entries name a record the scheduler no longer
knows; left until the next push-driven sweep, they would keep it in memory for as long as
no task is registered. So once the tasks removed since the last sweep outnumber half the
entries still held (plus the workers, whose heaps a sweep visits, and
:data:`REMOVAL_SWEEP_FLOOR`), the removals sweep: a sweep costs what those removals paid, and
the removed tasks the heaps still hold are at most half the live entries and a few more."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .model import Task
from .states import PENDING

if TYPE_CHECKING:
    from .model import Worker

Sig = tuple[tuple[str, int], ...]
#: A ready-heap entry: (-priority, first-seen time, creation seq, gen, task).
Entry = tuple[float, float, int, int, Task]
#: How many heap pushes may happen before stale entries are swept (at least).
MIN_COMPACT_INTERVAL = 100_000
#: Removals that count as this much more sweep work than there is: a sweep has a fixed cost
#: (a call, a walk of the heap dicts) that a handful of removals must pay for between sweeps.
REMOVAL_SWEEP_FLOOR = 32


class ReadyHeaps:
    """Mixin of :class:`~xrsched.core.state.SchedulerState` that owns the ready heaps."""

    tasks: dict[str, Task]
    workers: dict[str, Worker]
    global_buckets: dict[Sig, list[Entry]]
    #: resource -> workers that may have ready tasks needing it (a superset: the fair pass
    #: drops the ids it finds with none).
    workers_needing: dict[str, set[str]]
    _pushes: int
    _compact_at: int
    #: How many entries the ready heaps hold, live or stale (exact after a sweep; kept by
    #: every push and pop; only the sweep triggers read it).
    _heap_entries: int
    #: Tasks removed since the last sweep.
    _removed_since_sweep: int
    _open: dict[str, Any]

    def _push_ready(self, task: Task, sig: Sig, worker_ids: Iterable[str], *, everywhere: bool) -> None:
        entry: Entry = (-task.priority, task.time, task.seq, task.gen, task)
        pushes = 0
        lookup = self.workers.get
        for worker_id in worker_ids:
            worker = lookup(worker_id)
            if worker is not None:
                heapq.heappush(worker.buckets.setdefault(sig, []), entry)
                pushes += 1
                for name, _ in sig:
                    self.workers_needing.setdefault(name, set()).add(worker_id)
        if everywhere and task.runnable:
            heapq.heappush(self.global_buckets.setdefault(sig, []), entry)
            pushes += 1
        self._pushes += pushes
        self._heap_entries += pushes
        # Not while another task's edit is open: a sweep judges entries by the task's fields as
        # they are, and an open edit's task may be between two states; its entry, dropped then,
        # would not be pushed again if the edit ends with the task as ready as before.
        if self._pushes > self._compact_at and not self._open:
            self.compact()

    def entry_valid(self, entry: Entry, worker_id: str | None) -> bool:
        """Whether a heap entry still names a ready task (that ``worker_id`` may run, if given)."""
        task = entry[4]
        if task.gen != entry[3] or task.status != PENDING or task.unmet != 0:
            return False
        if self.tasks.get(task.id) is not task:
            return False
        if worker_id is None:
            return task.runnable
        return worker_id in task.workers

    def top_valid(self, heap: list[Entry], worker_id: str | None) -> Entry | None:
        """The best valid entry of a ready heap, dropping stale ones from its top. O(log n) amortized."""
        while heap:
            entry = heap[0]
            if self.entry_valid(entry, worker_id):
                return entry
            heapq.heappop(heap)
            self._heap_entries -= 1
        return None

    def note_task_removed(self) -> None:
        """Count a removed task towards the sweep that drops its stale entries. Amortized O(1):
        the sweep runs once the removals since the last one reach half of what it visits."""
        self._removed_since_sweep += 1
        work = self._heap_entries + len(self.workers) + REMOVAL_SWEEP_FLOOR
        if 2 * self._removed_since_sweep > work and not self._open:
            self.compact()

    def drop_worker_heaps(self, worker: Worker) -> None:
        """Empty a worker's ready heaps (it is leaving, or takes no task any more)."""
        self._heap_entries -= sum(len(heap) for heap in worker.buckets.values())
        worker.buckets.clear()

    def compact(self) -> None:
        """Drop stale entries from every ready heap. O(total heap size), amortized O(1) per push."""
        total = 0
        for worker in self.workers.values():
            total += self._compact_buckets(worker.buckets, worker.id)
        total += self._compact_buckets(self.global_buckets, None)
        self._heap_entries = total
        self._removed_since_sweep = 0
        self._pushes = 0
        self._compact_at = max(MIN_COMPACT_INTERVAL, 2 * total)

    def _compact_buckets(self, buckets: dict[Sig, list[Entry]], worker_id: str | None) -> int:
        total = 0
        for sig in list(buckets):
            heap = [e for e in buckets[sig] if self.entry_valid(e, worker_id)]
            if heap:
                heapq.heapify(heap)
                buckets[sig] = heap
                total += len(heap)
            else:
                del buckets[sig]
        return total
