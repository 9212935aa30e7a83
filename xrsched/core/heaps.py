"""Heap helpers: in-order traversal without popping, and a lazily validated deadline queue."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any


def iter_in_order(heap: list[Any], limit: int) -> Iterator[Any]:
    """Yield up to ``limit`` entries of a binary heap in ascending order, leaving it untouched.

    Costs O(k log k) for k yielded entries: a frontier of heap positions is kept in a
    small auxiliary heap.
    """
    if not heap or limit <= 0:
        return
    frontier: list[tuple[Any, int]] = [(heap[0], 0)]
    size = len(heap)
    yielded = 0
    while frontier and yielded < limit:
        entry, pos = heapq.heappop(frontier)
        yield entry
        yielded += 1
        child = 2 * pos + 1
        if child < size:
            heapq.heappush(frontier, (heap[child], child))
            if child + 1 < size:
                heapq.heappush(frontier, (heap[child + 1], child + 1))


class DeadlineQueue:
    """Timed events (retry, removal, re-enable, worker timeout) in one heap.

    Entries are hints, not promises: the owner re-checks the record when an entry falls
    due, and may push it again with the record's real deadline. So a deadline can be moved
    without finding and deleting its old entry.
    """

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, when: float, kind: str, key: str) -> None:
        """Ask to be woken for ``(kind, key)`` once ``now`` is past ``when``. O(log n)."""
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, kind, key))

    def extend(self, entries: list[tuple[float, str, str]]) -> None:
        """Add many ``(when, kind, key)`` entries at once: O(n) instead of n pushes."""
        heap = self._heap
        for when, kind, key in entries:
            self._seq += 1
            heap.append((when, self._seq, kind, key))
        heapq.heapify(heap)

    def pop_due(self, now: float) -> tuple[float, str, str] | None:
        """The earliest entry whose time is strictly before ``now``, removed; None if none is due."""
        heap = self._heap
        if heap and heap[0][0] < now:
            when, _, kind, key = heapq.heappop(heap)
            return when, kind, key
        return None

    def clear(self) -> None:
        """Drop every entry."""
        self._heap.clear()
