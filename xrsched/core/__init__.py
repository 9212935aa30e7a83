"""Pure scheduling model: statuses, tasks, workers, policy and Luigi's scheduler methods.

Names are imported on first use (PEP 562), so that importing ``xrsched.core.errors`` (as the
client does, through the fault codes) does not load the whole scheduler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xrsched.lazyexports import lazy_exports

if TYPE_CHECKING:
    from .config import RetryPolicy, SchedulerConfig
    from .errors import BadValue, Conflict, Forbidden, NotFound, SchedulerError, UnknownTask, UnknownWorker
    from .scheduler import PUBLIC_METHODS, READ_ONLY_METHODS, Scheduler

#: Exported name -> the module that defines it.
_SOURCES = {
    **dict.fromkeys(("RetryPolicy", "SchedulerConfig"), "config"),
    **dict.fromkeys(
        ("BadValue", "Conflict", "Forbidden", "NotFound", "SchedulerError", "UnknownTask", "UnknownWorker"), "errors"
    ),
    **dict.fromkeys(("PUBLIC_METHODS", "READ_ONLY_METHODS", "Scheduler"), "scheduler"),
}


__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)

__all__ = [
    "PUBLIC_METHODS",
    "READ_ONLY_METHODS",
    "BadValue",
    "Conflict",
    "Forbidden",
    "NotFound",
    "RetryPolicy",
    "Scheduler",
    "SchedulerConfig",
    "SchedulerError",
    "UnknownTask",
    "UnknownWorker",
]
