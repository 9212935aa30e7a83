"""Task and worker status names, and the upstream-status vocabulary used by listings.

The strings are Luigi's, so existing clients and dashboards read them unchanged.
"""

from __future__ import annotations

PENDING = "PENDING"
RUNNING = "RUNNING"
DONE = "DONE"
FAILED = "FAILED"
DISABLED = "DISABLED"
UNKNOWN = "UNKNOWN"
BATCH_RUNNING = "BATCH_RUNNING"
SUSPENDED = "SUSPENDED"  # sent by old clients; means PENDING

#: Every status a task can be in inside the scheduler.
TASK_STATUSES: tuple[str, ...] = (PENDING, RUNNING, DONE, FAILED, DISABLED, UNKNOWN, BATCH_RUNNING)
#: Statuses a client may report through ``add_task``.
REPORTABLE_STATUSES: frozenset[str] = frozenset((*TASK_STATUSES, SUSPENDED))
#: Statuses in which a worker holds the task.
ACTIVE_RUN_STATUSES: frozenset[str] = frozenset((RUNNING, BATCH_RUNNING))

UPSTREAM_RUNNING = "UPSTREAM_RUNNING"
UPSTREAM_MISSING_INPUT = "UPSTREAM_MISSING_INPUT"
UPSTREAM_FAILED = "UPSTREAM_FAILED"
UPSTREAM_DISABLED = "UPSTREAM_DISABLED"

#: Least to most severe; a task's upstream status is the most severe among its dependencies.
UPSTREAM_SEVERITY: tuple[str, ...] = (
    "",
    UPSTREAM_RUNNING,
    UPSTREAM_MISSING_INPUT,
    UPSTREAM_FAILED,
    UPSTREAM_DISABLED,
)
UPSTREAM_RANK: dict[str, int] = {name: rank for rank, name in enumerate(UPSTREAM_SEVERITY)}

#: What a dependency in a given status means for the tasks that need it.
STATUS_TO_UPSTREAM: dict[str, str] = {
    FAILED: UPSTREAM_FAILED,
    RUNNING: UPSTREAM_RUNNING,
    BATCH_RUNNING: UPSTREAM_RUNNING,
    PENDING: UPSTREAM_MISSING_INPUT,
    DISABLED: UPSTREAM_DISABLED,
}

WORKER_ACTIVE = "active"
WORKER_DISABLED = "disabled"
