"""The one thread-safe entry point to the scheduling core: lock, clock, maintenance, ownership."""

from .facade import SchedulerService
from .ownership import Caller

__all__ = ["Caller", "SchedulerService"]
