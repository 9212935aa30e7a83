"""Luigi's task metrics (``luigi_task_*{family}``), counted from the core's status transitions.

luigid's Prometheus collector counts, per task family: a task handed out by ``get_work``
(started), and every change of status into DONE, FAILED or DISABLED; a failure that disables
the task counts as disabled only. Its ``luigi_task_execution_time_seconds`` gauge holds the
last run's length (status change time minus the time the run started). Same names, labels and
counting here, so dashboards and alerts written for luigid keep working; one difference on
purpose: the gauge is set only when a run ends (RUNNING or BATCH_RUNNING to DONE, FAILED or
DISABLED). luigid also sets it when a task that never ran here is reported DONE or is
re-enabled, from whatever start time the task last had.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from xrsched.core.states import BATCH_RUNNING, DISABLED, DONE, FAILED, RUNNING

from .labels import BoundedLabel

#: Distinct task families that get series of their own; later ones share ``family="(other)"``.
MAX_FAMILIES = 1000
#: The family label of a task gone from the scheduler before its transition was counted.
REMOVED = "(removed)"
#: (task id, old status or None, new status, time, worker): :class:`xrsched.core.changes.ChangeSet`.
Transition = tuple[str, "str | None", str, float, "str | None"]
_RUN_STATUSES = (RUNNING, BATCH_RUNNING)


class TaskView(Protocol):
    """What is read of a task: its family and when its current or last run started."""

    family: str
    time_running: float | None


class LuigiTaskMetrics:
    """``luigi_task_{started,done,failed,disabled}_total`` and ``luigi_task_execution_time_seconds``."""

    def __init__(self, registry: CollectorRegistry, *, max_families: int = MAX_FAMILIES) -> None:
        self.family = BoundedLabel(limit=max_families)
        self.started = Counter(
            "luigi_task_started_total", "Tasks handed out to a worker by get_work.", ["family"], registry=registry
        )
        self.done = Counter("luigi_task_done_total", "Tasks that became DONE.", ["family"], registry=registry)
        self.failed = Counter(
            "luigi_task_failed_total",
            "Tasks that became FAILED (not counting failures that disabled them).",
            ["family"],
            registry=registry,
        )
        self.disabled = Counter(
            "luigi_task_disabled_total", "Tasks that became DISABLED.", ["family"], registry=registry
        )
        self.execution_time = Gauge(
            "luigi_task_execution_time_seconds",
            "Length of the last run of a task of this family that ended.",
            ["family"],
            registry=registry,
        )
        self._ended = {DONE: self.done, FAILED: self.failed, DISABLED: self.disabled}
        #: Each metric's series by family, as ``labels()`` made them (``labels()`` validates and
        #: locks on every call: four times per report and ask). Bounded as the families are.
        self._series: dict[tuple[int, str], Any] = {}

    def observe(self, method: str, transitions: Iterable[Transition], tasks: Mapping[str, TaskView]) -> None:
        """Count one call's transitions; ``method`` is the scheduler method that made them
        (only ``get_work`` starts tasks, as in luigid: a worker reporting RUNNING does not)."""
        for task_id, old, new, when, _worker in transitions:
            if new == RUNNING:
                if method == "get_work":
                    family = self._family_of(tasks.get(task_id))
                    self._series_of(self.started, family).inc()
                    self._series_of(self.execution_time, family)  # the series exists from the first start, as in luigid
                continue
            counter = self._ended.get(new)
            if counter is None:
                continue
            task = tasks.get(task_id)
            family = self._family_of(task)
            self._series_of(counter, family).inc()
            if old in _RUN_STATUSES and task is not None and task.time_running is not None:
                self._series_of(self.execution_time, family).set(max(when - task.time_running, 0.0))

    def _series_of(self, metric: Counter | Gauge, family: str) -> Any:
        """``metric.labels(family)``, made once per family."""
        key = (id(metric), family)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metric.labels(family)
        return series

    def _family_of(self, task: TaskView | None) -> str:
        if task is None:
            return REMOVED
        return self.family(task.family or "(none)")
