"""The fair pass of ``get_work``: Luigi's greedy reservation, walked in rank order but bounded.

Luigi decides whether a runnable task may start by walking every PENDING and RUNNING task in
rank order. A RUNNING task met on the way counts its resources as taken and uses up one slot of
its worker; a runnable task met on the way is reserved for the first of its live workers with a
slot left, and its resources count as taken too (whoever asks: the asking worker's own waiting
task reserves like any other). The candidate may start only if its resources still fit after
everything ranked above it. Tasks ranked below it, running or not, hold nothing back.

xrsched walks the same order without meeting every task. A ready task matters only if one of
its workers still has a slot, so the walk merges, by rank, the ready heaps of the live workers
waiting on one of the candidates' resources (``workers_needing``), and drops a worker's heaps as
soon as it has no slot left. RUNNING tasks are counted from a per-resource prefix sum by rank
(their number is bounded by the capacities). A worker's slots at a point of the walk are its
processes, less its RUNNING tasks ranked above that point, less what the walk reserved for it.
The walk meets at most ``fair_lookahead`` ready tasks per resource involved.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Iterator
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
    """One ``get_work``'s fair pass: a single walk in rank order over the ready tasks needing
    any of the candidates' resources, advanced candidate by candidate (best first), as
    Luigi's one walk meets its candidates. RUNNING tasks are counted through
    :meth:`_held_above` rather than met one by one."""

    def __init__(self, state: SchedulerState, now: float, assistant: str | None, sigs: list[Sig]) -> None:
        self.state = state
        self.cutoff = now - state.config.worker_disconnect_delay
        #: The asking worker's id when it is an assistant: Luigi lets it take any reserved task.
        self.assistant = assistant
        self._live: dict[str, bool] = {}
        self._ranks_running: dict[str, list[Rank]] = {}
        self._held: dict[str, tuple[list[Rank], list[int]]] = {}
        #: What the walk so far reserved: per resource, and per worker (slots used).
        self._reserved: dict[str, int] = {}
        self._reserved_for: dict[str, int] = {}
        #: Workers with no slot left at the walk's point (slots only shrink further on).
        self._exhausted: set[str] = set()
        self._met: set[str] = set()
        walked = {name for sig in sigs for name, _ in sig}
        #: How many more ready tasks the walk may meet (``fair_lookahead`` per resource).
        self._budget = state.config.fair_lookahead * max(1, len(walked))
        self._order = itertools.count()
        #: One stream per (live worker, resource signature it waits on), merged by rank:
        #: (rank of its next entry, tie-breaker, that entry, the stream).
        self._streams: list[tuple[Rank, int, Entry, _Stream]] = []
        for worker_id in sorted(set().union(*(state.workers_needing.get(name, ()) for name in walked))):
            self._open_streams(worker_id, walked)
        if assistant is not None:
            self._open_assistant_streams(assistant, walked)
        heapq.heapify(self._streams)

    def allows(self, entry: Entry, sig: Sig) -> bool:
        """Whether the task of ``entry``, needing ``sig``, still fits once everything ranked
        above it has taken or reserved its share of those resources. Candidates must be asked
        about in rank order."""
        key = rank_of(entry)
        capacity = self.state.resources
        room = [(name, capacity.get(name, 1) - need) for name, need in sig]
        streams = self._streams
        while streams and streams[0][0] < key and self._budget > 0:
            point, _, entry, stream = streams[0]
            # Taking only grows along the walk: once the candidate cannot fit, stop here (a
            # later candidate resumes the walk from this point).
            if any(self._taken(name, point) > left for name, left in room):
                return False
            self._budget -= 1
            self._meet_ready(entry[4], point)
            following = None if stream.worker_id in self._exhausted else stream.following(entry)
            if following is None:
                heapq.heappop(streams)
            else:
                heapq.heapreplace(streams, (rank_of(following), next(self._order), following, stream))
        return all(self._taken(name, key) <= left for name, left in room)

    # ----------------------------------------------------------------- the walk

    def _taken(self, resource: str, point: Rank) -> int:
        """How much of ``resource`` is taken at ``point``: held by RUNNING tasks of live workers
        ranked above it, plus what the walk reserved so far."""
        return self._held_above(resource, point) + self._reserved.get(resource, 0)

    def _meet_ready(self, task: Task, point: Rank) -> None:
        """A ready task that would fit is reserved for its first live worker with a slot left."""
        if task.id in self._met:
            return
        self._met.add(task.id)
        candidates: tuple[str, ...] = task.workers
        if self.assistant is not None:
            candidates = (*candidates, self.assistant)
        exhausted = self._exhausted
        if all(worker_id in exhausted for worker_id in candidates):
            return
        capacity = self.state.resources
        if any(self._taken(name, point) + amount > capacity.get(name, 1) for name, amount in task.resources.items()):
            return
        for worker_id in candidates:
            if worker_id in exhausted:
                continue
            if self._slots(worker_id, point) - self._reserved_for.get(worker_id, 0) > 0:
                self._reserved_for[worker_id] = self._reserved_for.get(worker_id, 0) + 1
                for name, amount in task.resources.items():
                    self._reserved[name] = self._reserved.get(name, 0) + amount
                return
            exhausted.add(worker_id)

    # ----------------------------------------------------- built once per get_work

    def _open_streams(self, worker_id: str, walked: set[str]) -> None:
        """Streams of a live worker's ready tasks needing a walked resource; forgets (in
        ``workers_needing``) the resources it turns out to have no ready task for."""
        state = self.state
        record = state.workers.get(worker_id)
        if record is None or not self._is_live(worker_id):
            if record is None:
                for name in walked:
                    state.workers_needing.get(name, set()).discard(worker_id)
            return
        found: set[str] = set()
        for sig in tuple(record.buckets):
            names = {name for name, _ in sig}
            if names.isdisjoint(walked):
                continue
            heap = record.buckets[sig]
            top = state.top_valid(heap, worker_id)
            if top is None:
                del record.buckets[sig]
                continue
            found |= names
            self._add_stream(worker_id, heap, worker_id, top)
        for name in walked - found:
            state.workers_needing.get(name, set()).discard(worker_id)

    def _open_assistant_streams(self, assistant: str, walked: set[str]) -> None:
        """An assistant may take any runnable task: it walks the global ready heaps."""
        state = self.state
        for sig, heap in state.global_buckets.items():
            if {name for name, _ in sig}.isdisjoint(walked):
                continue
            top = state.top_valid(heap, None)
            if top is not None:
                self._add_stream(assistant, heap, None, top)

    def _add_stream(self, worker_id: str, heap: list[Entry], owner: str | None, top: Entry) -> None:
        """Walk ``heap`` (whose valid top is ``top``) for ``worker_id`` unless it has no slot
        there: slots only shrink along the walk, so it would never reserve anything."""
        point = rank_of(top)
        if self._slots(worker_id, point) > 0:
            stream = _Stream(self.state, worker_id, heap, owner, 2 * self._budget)
            self._streams.append((point, next(self._order), top, stream))

    def _held_above(self, resource: str, point: Rank) -> int:
        """How much of ``resource`` the RUNNING tasks of live workers ranked above ``point`` hold."""
        table = self._held.get(resource)
        if table is None:
            tasks = self.state.tasks
            holders = []
            for task_id in self.state.running_by_resource.get(resource, ()):
                task = tasks[task_id]
                if task.worker_running is not None and self._is_live(task.worker_running):
                    holders.append((task_rank(task), (task.resources_running or {}).get(resource, 0)))
            holders.sort()
            ranks = [rank for rank, _ in holders]
            totals = list(itertools.accumulate((amount for _, amount in holders), initial=0))
            table = self._held[resource] = (ranks, totals)
        ranks, totals = table
        if not ranks:
            return 0
        return totals[bisect.bisect_left(ranks, point)]

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

    def _slots(self, worker_id: str, point: Rank) -> int:
        """A live worker's processes less its RUNNING tasks ranked above ``point``; 0 if not live."""
        if not self._is_live(worker_id):
            return 0
        ranks = self._ranks_running.get(worker_id)
        if ranks is None:
            tasks = self.state.tasks
            mine = (tasks[task_id] for task_id in self.state.running_by_worker.get(worker_id, ()))
            ranks = sorted(task_rank(task) for task in mine if task.status == RUNNING)
            self._ranks_running[worker_id] = ranks
        return self.state.workers[worker_id].processes() - bisect.bisect_left(ranks, point)


class _Stream:
    """One ready heap, read in rank order after its top only if the walk gets that far."""

    __slots__ = ("_heap", "_limit", "_owner", "_rest", "_state", "worker_id")

    def __init__(self, state: SchedulerState, worker_id: str, heap: list[Entry], owner: str | None, limit: int) -> None:
        self._state = state
        self.worker_id = worker_id
        self._heap = heap
        self._owner = owner
        self._limit = limit
        self._rest: Iterator[Entry] | None = None

    def following(self, current: Entry) -> Entry | None:
        """The next valid entry after ``current`` (the last one this stream gave)."""
        if self._rest is None:
            state, owner = self._state, self._owner
            self._rest = (e for e in iter_in_order(self._heap, self._limit) if state.entry_valid(e, owner))
            first = next(self._rest, None)
            if first is not current:
                return first
        return next(self._rest, None)
