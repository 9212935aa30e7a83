"""Bounded label values: a client must not be able to grow the number of series at will.

Every label whose value comes from outside (a method name, a task family, a refusal reason)
goes through a :class:`BoundedLabel`: values from a fixed allow-list pass as they are, other
values pass until ``limit`` distinct ones have been seen, and everything after that is
reported under one overflow value.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

#: The label value that stands for every value past the bound.
OTHER = "(other)"
#: Longest label value kept; longer ones are cut (a family name can be long).
MAX_VALUE_LENGTH = 120


class BoundedLabel:
    """Maps raw values to at most ``len(known) + limit + 1`` label values.

    ``known`` values always pass; up to ``limit`` others pass in the order first seen;
    the rest become :data:`OTHER`. Thread-safe; the common case (a value seen before) is one
    dict lookup.
    """

    def __init__(self, known: Iterable[str] = (), *, limit: int = 0) -> None:
        self._seen: dict[str, str] = {value: value for value in known}
        self._extra = 0
        self._limit = limit
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        label = self._seen.get(value)
        if label is not None:
            return label
        with self._lock:
            label = self._seen.get(value)
            if label is not None:
                return label
            if self._extra >= self._limit:
                return OTHER
            self._extra += 1
            label = self._seen[value] = value[:MAX_VALUE_LENGTH]
            return label

    @property
    def admitted(self) -> int:
        """How many values outside ``known`` got a label of their own."""
        return self._extra
