"""How the worker reaches its scheduler: one interface over the remote client and the in-process core.

The worker only needs two things: call one method, and send many calls at once with one outcome
(a value or an exception) per call. :class:`~xrsched.client.RemoteScheduler` does both over
XML-RPC (``send_many`` packs them into ``system.multicall`` requests); :class:`LocalLink` does
both against an in-process :class:`~xrsched.service.SchedulerService` (``--local-scheduler``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from xrsched.client.wire import restore

#: One call for :meth:`SchedulerLink.send_many`: a method name and its keyword arguments.
Call = tuple[str, Mapping[str, Any]]


class SchedulerLink(Protocol):
    """What the worker needs from a scheduler."""

    def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call one scheduler method; raise its error."""

    def send_many(self, calls: Iterable[Call], max_entries: int = 500) -> list[Any]:
        """Call each in order; the result or the exception instance of each."""


class LocalLink:
    """A :class:`SchedulerLink` over an in-process SchedulerService (no network, no auth).

    Replies get the same None-restoring treatment as the remote client's, so the worker reads
    both alike.
    """

    def __init__(self, service: Any) -> None:
        self.service = service

    def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` on the service, leaving out None keyword arguments as the wire would."""
        clean = {name: value for name, value in kwargs.items() if value is not None}
        return restore(method, self.service.call(method, *args, **clean))

    def send_many(self, calls: Iterable[Call], max_entries: int = 500) -> list[Any]:
        """Call each in turn; an exception takes its call's place in the results."""
        results: list[Any] = []
        for method, kwargs in calls:
            try:
                results.append(self.call(method, **kwargs))
            except Exception as exc:  # as a multicall fault entry would be
                results.append(exc)
        return results

    def close(self) -> None:
        """Nothing to close; the service is stopped by whoever started it."""


def as_link(scheduler: Any) -> SchedulerLink:
    """``scheduler`` as a SchedulerLink: a RemoteScheduler (or anything with ``send_many``) as is,
    a SchedulerService wrapped in a :class:`LocalLink`."""
    if hasattr(scheduler, "send_many") and hasattr(scheduler, "call"):
        return scheduler
    if hasattr(scheduler, "methods") and hasattr(scheduler, "call"):
        return LocalLink(scheduler)
    raise TypeError(f"not a scheduler: {type(scheduler).__name__} (give a RemoteScheduler or a SchedulerService)")
