"""A sorted multiset of keys in bounded buckets: O(log n + bucket) insert and remove.

A plain sorted list pays an O(n) memmove per insert; at 100,000 tasks that would tax every
status change. Buckets of a few hundred keys keep inserts and removals cheap while a walk
from any position stays a walk over short lists.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from typing import Any

#: Keys per bucket before it is split in two.
BUCKET = 512


class SortedKeys:
    """Keys kept in ascending order; equal keys may repeat. Keys must be mutually comparable."""

    __slots__ = ("_buckets", "_len", "_load", "_maxes")

    def __init__(self, keys: Iterable[Any] = (), *, bucket: int = BUCKET) -> None:
        ordered = sorted(keys)
        self._load = bucket
        self._buckets: list[list[Any]] = [ordered[i : i + bucket] for i in range(0, len(ordered), bucket)]
        self._maxes: list[Any] = [bucket[-1] for bucket in self._buckets]
        self._len = len(ordered)

    def __len__(self) -> int:
        return self._len

    def add(self, key: Any) -> None:
        """Insert ``key`` in order."""
        maxes = self._maxes
        self._len += 1
        if not maxes:
            self._buckets.append([key])
            maxes.append(key)
            return
        index = bisect_right(maxes, key)
        if index == len(maxes):
            index -= 1
            bucket = self._buckets[index]
            bucket.append(key)
            maxes[index] = key
        else:
            bucket = self._buckets[index]
            insort(bucket, key)
        load = self._load
        if len(bucket) > 2 * load:
            self._buckets[index : index + 1] = [bucket[:load], bucket[load:]]
            maxes[index : index + 1] = [bucket[load - 1], bucket[-1]]

    def remove(self, key: Any) -> None:
        """Remove one occurrence of ``key``; KeyError if there is none."""
        maxes = self._maxes
        index = bisect_left(maxes, key)
        if index == len(maxes):
            raise KeyError(key)
        bucket = self._buckets[index]
        position = bisect_left(bucket, key)
        if position == len(bucket) or bucket[position] != key:
            raise KeyError(key)
        del bucket[position]
        self._len -= 1
        if bucket:
            maxes[index] = bucket[-1]
        else:
            del self._buckets[index]
            del maxes[index]

    def __iter__(self) -> Iterator[Any]:
        for bucket in self._buckets:
            yield from bucket

    def iter_from(self, start: int) -> Iterator[Any]:
        """The keys from position ``start`` (0-based) on, skipping whole buckets to get there."""
        buckets = self._buckets
        index = 0
        while index < len(buckets) and start >= len(buckets[index]):
            start -= len(buckets[index])
            index += 1
        if index < len(buckets):
            yield from buckets[index][start:]
            for bucket in buckets[index + 1 :]:
                yield from bucket
