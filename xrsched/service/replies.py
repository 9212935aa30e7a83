"""Answers to recent client request ids, so a retried call gets its first answer (DESIGN §4b).

A client that lost a reply retries the same call with the same ``__request_id``; the service
answers from here instead of running the call again. That is what keeps a retried
``get_work`` from handing out a second task and makes a retried ``add_task(DONE)`` harmless.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from xrsched.core.errors import Conflict

#: How many answers are kept (least recently used go first). Retries come within seconds.
DEFAULT_CAPACITY = 65_536


class ReplyCache:
    """(caller, request id) → (method, answer), bounded, least recently used evicted."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], tuple[str, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, caller: str, request_id: str, method: str) -> tuple[bool, Any]:
        """``(True, answer)`` for a repeat, ``(False, None)`` for a new id; 409 if the id was
        used for another method."""
        key = (caller, request_id)
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if entry[0] != method:
            raise Conflict(f"__request_id: {request_id!r} was already used for {entry[0]}, not {method}")
        self._entries.move_to_end(key)
        return True, entry[1]

    def remember(self, caller: str, request_id: str, method: str, answer: Any) -> None:
        """Keep the answer to a call that changed state."""
        self._entries[(caller, request_id)] = (method, answer)
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
