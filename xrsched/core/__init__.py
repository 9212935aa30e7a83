"""Pure scheduling model: statuses, tasks, workers, policy and Luigi's scheduler methods."""

from .config import RetryPolicy, SchedulerConfig
from .errors import BadValue, Conflict, Forbidden, NotFound, SchedulerError, UnknownTask, UnknownWorker
from .scheduler import PUBLIC_METHODS, READ_ONLY_METHODS, Scheduler

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
