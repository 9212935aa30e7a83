"""The fair pass of ``get_work``: Luigi's greedy reservation, walked in rank order but bounded.

Luigi decides whether a runnable task may start by walking every PENDING and RUNNING task in
rank order. A RUNNING task met on the way counts its resources as taken and uses up one slot of
its worker; a runnable task met on the way is reserved for the first of its live workers with a
slot left, and its resources count as taken too (whoever asks: the asking worker's own waiting
task reserves like any other). The candidate may start only if its resources still fit after
everything ranked above it. Tasks ranked below it, running or not, hold nothing back.

xrsched walks the same order, but only over the tasks that need one of the candidate's
resources: the RUNNING ones holding it (few: they are bounded by its capacity) and the best
``fair_lookahead`` ready ones per resource. A worker's slots at a point of the walk are its
processes, less its RUNNING tasks ranked above that point, less what the walk reserved for it.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from .heaps import iter_in_order
from .model import Task
from .ready import Entry, Sig
from .states import RUNNING

if TYPE_CHECKING:
    from .state import SchedulerState

Rank = tuple[float, float, int]


def rank_of(entry: Entry) -> Rank:
    """The rank part of a ready-heap entry: smaller ranks first."""
    return entry[0], entry[1], entry[2]


def task_rank(task: Task) -> Rank:
    """A task's rank: higher priority first, then the oldest, then the first created."""
    return -task.priority, task.time, task.seq


class FairPass:
    """One ``get_work``'s fair pass: walks and per-worker counts built on first use, then reused
    for every candidate the call considers."""

    def __init__(self, state: SchedulerState, now: float, assistant: str | None) -> None:
        self.state = state
        self.cutoff = now - state.config.worker_disconnect_delay
        #: The asking worker's id when it is an assistant: Luigi lets it take any reserved task.
        self.assistant = assistant
        self._ready: dict[str, _ReadyHeapWalk] = {}
        self._running: dict[str, list[Entry]] = {}
        self._held: dict[str, tuple[list[Rank], list[int]]] = {}
        self._live: dict[str, bool] = {}
        self._ranks_running: dict[str, list[Rank]] = {}

    def allows(self, entry: Entry, sig: Sig) -> bool:
        """Whether the task of ``entry``, needing ``sig``, still fits once everything ranked
        above it has taken or reserved its share of those resources."""
        key = rank_of(entry)
        me = entry[4]
        walked = {name for name, _ in sig}
        taken: dict[str, int] = {}
        reserved_for: dict[str, int] = {}
        met: set[str] = set()
        for other in heapq.merge(*self._streams(sig, key), key=rank_of):
            task = other[4]
            if task is me or task.id in met:
                continue
            met.add(task.id)
            if task.status == RUNNING:
                self._meet_running(task, walked, taken)
            else:
                self._meet_ready(task, rank_of(other), walked, taken, reserved_for)
        capacity = self.state.resources
        return all(taken.get(name, 0) + need <= capacity.get(name, 1) for name, need in sig)

    # ----------------------------------------------------------------- the walk

    def _streams(self, sig: Sig, key: Rank) -> list[Iterator[Entry]]:
        """For each resource of ``sig``: the RUNNING tasks holding it and the ready tasks
        needing it, ranked strictly above ``key``."""
        streams: list[Iterator[Entry]] = []
        for name, _ in sig:
            streams.append(self._ready_walk(name).ahead_of(key))
            streams.append(_ahead(self._running_holding(name), key))
        return streams

    def _meet_running(self, task: Task, walked: set[str], taken: dict[str, int]) -> None:
        """A RUNNING task counts what it holds of the walked resources as taken, if its runner
        is a live worker. (What it holds of others is counted by :meth:`_held_above`.)"""
        if task.worker_running is None or not self._is_live(task.worker_running):
            return
        for name, amount in (task.resources_running or {}).items():
            if name in walked:
                taken[name] = taken.get(name, 0) + amount

    def _meet_ready(
        self, task: Task, rank: Rank, walked: set[str], taken: dict[str, int], reserved_for: dict[str, int]
    ) -> None:
        """A ready task that would fit is reserved for its first live worker with a slot left."""
        capacity = self.state.resources
        for name, amount in task.resources.items():
            held = taken.get(name, 0) if name in walked else taken.get(name, 0) + self._held_above(name, rank)
            if held + amount > capacity.get(name, 1):
                return
        candidates: tuple[str, ...] = task.workers
        if self.assistant is not None:
            candidates = (*candidates, self.assistant)
        for worker_id in candidates:
            if self._slots(worker_id, rank) - reserved_for.get(worker_id, 0) > 0:
                reserved_for[worker_id] = reserved_for.get(worker_id, 0) + 1
                for name, amount in task.resources.items():
                    taken[name] = taken.get(name, 0) + amount
                return

    # ----------------------------------------------------- built once per get_work

    def _ready_walk(self, resource: str) -> _ReadyHeapWalk:
        """The ready tasks needing ``resource`` in rank order, walked lazily.

        Stale entries are dropped from the top of the heap (handed-out tasks were the best ranked,
        so that is where they gather); further down the walk skips them, looks at no more than
        twice ``fair_lookahead`` entries, and the periodic compaction of all heaps sweeps them.
        """
        walk = self._ready.get(resource)
        if walk is None:
            state = self.state
            heap = state.ready_by_resource.get(resource)
            live = state._entry_live
            limit = state.config.fair_lookahead
            while heap and not live(heap[0]):
                heapq.heappop(heap)
            source = iter_in_order(heap, 2 * limit) if heap else iter(())
            walk = self._ready[resource] = _ReadyHeapWalk(source, live, limit)
        return walk

    def _running_holding(self, resource: str) -> list[Entry]:
        """The RUNNING tasks holding ``resource``, in rank order."""
        entries = self._running.get(resource)
        if entries is None:
            tasks = self.state.tasks
            entries = []
            for task_id in self.state.running_by_resource.get(resource, ()):
                task = tasks[task_id]
                entries.append((-task.priority, task.time, task.seq, task.gen, task))
            entries.sort(key=rank_of)
            self._running[resource] = entries
        return entries

    def _held_above(self, resource: str, rank: Rank) -> int:
        """How much of ``resource`` the RUNNING tasks of live workers ranked above ``rank`` hold."""
        table = self._held.get(resource)
        if table is None:
            ranks: list[Rank] = []
            totals = [0]
            for entry in self._running_holding(resource):
                task = entry[4]
                amount = (task.resources_running or {}).get(resource, 0)
                if task.worker_running is not None and self._is_live(task.worker_running):
                    ranks.append(rank_of(entry))
                    totals.append(totals[-1] + amount)
            table = self._held[resource] = (ranks, totals)
        ranks, totals = table
        return totals[bisect.bisect_left(ranks, rank)]

    def _is_live(self, worker_id: str) -> bool:
        """Whether the worker asked for work within ``worker_disconnect_delay`` and is enabled."""
        live = self._live.get(worker_id)
        if live is None:
            record = self.state.workers.get(worker_id)
            live = (
                record is not None
                and not record.disabled
                and record.last_get_work is not None
                and record.last_get_work > self.cutoff
            )
            self._live[worker_id] = live
        return live

    def _slots(self, worker_id: str, rank: Rank) -> int:
        """A live worker's processes less its RUNNING tasks ranked above ``rank``; 0 if not live."""
        if not self._is_live(worker_id):
            return 0
        ranks = self._ranks_running.get(worker_id)
        if ranks is None:
            tasks = self.state.tasks
            mine = (tasks[task_id] for task_id in self.state.running_by_worker.get(worker_id, ()))
            ranks = sorted(task_rank(task) for task in mine if task.status == RUNNING)
            self._ranks_running[worker_id] = ranks
        return self.state.workers[worker_id].processes() - bisect.bisect_left(ranks, rank)


def _ahead(entries: list[Entry], key: Rank) -> Iterator[Entry]:
    """The entries of a rank-ordered list ranked strictly above ``key``."""
    for entry in entries:
        if rank_of(entry) >= key:
            return
        yield entry


class _ReadyHeapWalk:
    """Live entries of one ready heap in rank order, produced on demand and kept for reuse."""

    __slots__ = ("_done", "_limit", "_live", "_source", "seen")

    def __init__(self, source: Iterator[Entry], live: Callable[[Entry], bool], limit: int) -> None:
        self._source = source
        self._live = live
        self._limit = limit
        self._done = False
        self.seen: list[Entry] = []

    def ahead_of(self, key: Rank) -> Iterator[Entry]:
        """Live entries ranked strictly better than ``key``."""
        for entry in self.seen:
            if rank_of(entry) >= key:
                return
            yield entry
        while not self._done:
            entry = next(self._source, None)
            if entry is None:
                self._done = True
                return
            if not self._live(entry):
                continue
            self.seen.append(entry)
            if len(self.seen) >= self._limit:
                self._done = True
            if rank_of(entry) >= key:
                return
            yield entry
