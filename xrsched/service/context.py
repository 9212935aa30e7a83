"""The caller of the call being served, set by the RPC glue for the duration of one request."""

from __future__ import annotations

from contextvars import ContextVar

from .ownership import Caller

#: None means an in-process caller (tests, the local scheduler): no ownership rules apply.
CURRENT_CALLER: ContextVar[Caller | None] = ContextVar("xrsched_caller", default=None)

#: When set (by the RPC glue, for one request), calls append the tickets of their changes here
#: instead of each waiting for its own commit: the request waits once, before its reply leaves.
DEFERRED_DURABILITY: ContextVar[list[int] | None] = ContextVar("xrsched_deferred_durability", default=None)
