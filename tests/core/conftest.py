"""Fixtures and small helpers for the scheduling-core unit tests.

Every core method takes ``now``; the tests start the clock at ``T0`` and move it explicitly.
Helpers are plain functions (importable as ``tests.core.conftest``) so a test reads like the
sequence of calls a worker would make.
"""

from __future__ import annotations

from typing import Any

import pytest

from xrsched.core import Scheduler, SchedulerConfig

#: An arbitrary start time (seconds since the epoch) for every test.
T0 = 1_000_000.0

#: The keys of Luigi's get_work reply that are always present.
GET_WORK_KEYS = {
    "n_pending_tasks",
    "n_unique_pending",
    "n_pending_last_scheduled",
    "worker_state",
    "running_tasks",
    "task_id",
}

#: The keys Luigi's ``_serialize_task`` always produces (``deps`` only with include_deps).
SERIALIZED_KEYS = {
    "display_name",
    "status",
    "workers",
    "worker_running",
    "time_running",
    "start_time",
    "last_updated",
    "params",
    "name",
    "priority",
    "resources",
    "resources_running",
    "tracking_url",
    "status_message",
    "progress_percentage",
}


def make(resources: dict[str, int] | None = None, **settings: Any) -> Scheduler:
    """A scheduler with the given ``[scheduler]`` settings and resource capacities."""
    return Scheduler(SchedulerConfig(**settings), resources)


@pytest.fixture
def sched() -> Scheduler:
    """A scheduler with Luigi's default policy and no configured resources."""
    return Scheduler()


def add(s: Scheduler, task_id: str, worker: str = "w1", now: float = T0, **kwargs: Any) -> None:
    """Register ``task_id`` for ``worker`` (PENDING and runnable unless told otherwise)."""
    kwargs.setdefault("family", task_id.split("(")[0].split("_")[0])
    s.add_task(task_id=task_id, worker=worker, now=now, **kwargs)


def work(s: Scheduler, worker: str = "w1", now: float = T0, **kwargs: Any) -> dict[str, Any]:
    """Ask for work as ``worker``."""
    return s.get_work(worker=worker, now=now, **kwargs)


def run(s: Scheduler, worker: str = "w1", now: float = T0) -> str | None:
    """Ask for work and return the id handed out (None if nothing)."""
    return work(s, worker, now)["task_id"]


def finish(s: Scheduler, task_id: str, worker: str = "w1", now: float = T0, status: str = "DONE") -> None:
    """Report a run's outcome as the worker that ran it."""
    s.add_task(task_id=task_id, worker=worker, status=status, now=now)


def status_of(s: Scheduler, task_id: str) -> str | None:
    """The task's status without triggering any maintenance (None if the task is gone)."""
    task = s.tasks.get(task_id)
    return None if task is None else task.status


def listed(s: Scheduler, now: float = T0, **kwargs: Any) -> dict[str, Any]:
    """``task_list`` with an explicit clock."""
    return s.task_list(now=now, **kwargs)


def workers_of(s: Scheduler, task_id: str) -> list[str]:
    """The workers that may run the task, in registration order."""
    return list(s.tasks[task_id].workers)


def stakeholders_of(s: Scheduler, task_id: str) -> set[str]:
    """The workers that keep the task alive."""
    return set(s.tasks[task_id].stakeholders)


def deps_of(s: Scheduler, task_id: str) -> set[str]:
    """The task's dependency ids."""
    return set(s.tasks[task_id].deps)
