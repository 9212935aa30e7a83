"""Scheduler policy settings with Luigi's key names and defaults (``[scheduler]`` in the TOML config)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from .errors import BadValue

#: Effectively "never": Luigi's default for retry_count and disable_hard_timeout.
NEVER = 999_999_999


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When repeated failures disable a task: more than ``retry_count`` failures within
    ``disable_window`` seconds, or still failing ``disable_hard_timeout`` seconds after the first."""

    retry_count: int = NEVER
    disable_hard_timeout: float = NEVER
    disable_window: float = 3600

    def __post_init__(self) -> None:
        # One representation per value, so equal policies compare, hash and store alike.
        object.__setattr__(self, "retry_count", int(self.retry_count))
        object.__setattr__(self, "disable_hard_timeout", float(self.disable_hard_timeout))
        object.__setattr__(self, "disable_window", float(self.disable_window))

    def merged(self, overrides: dict[str, Any] | None) -> RetryPolicy:
        """This policy with the non-None members of a task's ``retry_policy_dict`` applied."""
        if not overrides:
            return self
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in overrides.items():
            if key not in values:
                allowed = ", ".join(sorted(values))
                raise BadValue(f"retry_policy_dict: unknown key {key!r} (allowed: {allowed})")
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise BadValue(f"retry_policy_dict: {key} must be a finite number, got {value!r}")
            if value < 0:
                raise BadValue(f"retry_policy_dict: {key} must not be negative, got {value!r}")
            values[key] = int(value) if key == "retry_count" else value
        return RetryPolicy(**values)


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """Policy of the scheduling core. All times are seconds.

    Defaults are Luigi's (``luigi.scheduler.scheduler``), so a ``[scheduler]`` section copied
    from a ``luigi.cfg`` means the same thing here.
    """

    retry_delay: float = 900.0
    remove_delay: float = 600.0
    worker_disconnect_delay: float = 60.0
    disable_window: float = 3600
    retry_count: int = NEVER
    disable_hard_timeout: float = NEVER
    disable_persist: float = 86400
    max_shown_tasks: int = 100_000
    max_graph_nodes: int = 100_000
    record_task_history: bool = False
    prune_on_get_work: bool = False
    pause_enabled: bool = True
    send_messages: bool = True
    stable_done_cooldown_secs: float = 10
    #: How many higher-ranked ready tasks the fair pass of ``get_work`` meets at most, per
    #: resource the asking worker's candidates need.
    fair_lookahead: int = 256
    #: How many ready tasks ``get_work`` examines when it assembles a batch.
    batch_lookahead: int = 4096

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool":
                if not isinstance(value, bool):
                    raise BadValue(f"scheduler.{f.name} must be true or false, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise BadValue(f"scheduler.{f.name} must be a finite number, got {value!r}")
            if f.name != "retry_delay" and value < 0:
                raise BadValue(f"scheduler.{f.name} must not be negative, got {value!r}")
        for name in ("max_shown_tasks", "max_graph_nodes", "fair_lookahead", "batch_lookahead"):
            if getattr(self, name) < 1:
                raise BadValue(f"scheduler.{name} must be at least 1")

    @property
    def retry_policy(self) -> RetryPolicy:
        """The default retry policy for tasks that bring none of their own."""
        return RetryPolicy(self.retry_count, self.disable_hard_timeout, self.disable_window)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> SchedulerConfig:
        """Build from a ``[scheduler]`` table, refusing unknown keys with a clear message.

        Luigi keys that do not apply here (``state_path``, ``batch_emails``, metrics, ...)
        are accepted and ignored so a ``luigi.cfg`` section can be copied as it is.
        """
        known = {f.name for f in fields(cls)}
        ignored = {"state_path", "batch_emails", "metrics_collector", "metrics_custom_import"}
        unknown = set(values) - known - ignored
        if unknown:
            raise BadValue(f"[scheduler]: unknown setting(s): {', '.join(sorted(unknown))}")
        kwargs = {k: v for k, v in values.items() if k in known}
        for f in fields(cls):
            if f.name in kwargs and f.type == "int" and isinstance(kwargs[f.name], float):
                if not kwargs[f.name].is_integer():
                    raise BadValue(f"scheduler.{f.name} must be a whole number")
                kwargs[f.name] = int(kwargs[f.name])
        return cls(**kwargs)
