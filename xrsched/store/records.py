"""Task and worker records as stored: tasks in columns, workers as JSON arrays.

Tasks are columns, not a JSON document, because start-up decodes every one of them: a million
``json.loads`` calls alone would take longer than the whole recovery may. Fields that are
almost always at their default (an error text, message responses, failure times...) travel
together in one JSON ``cold`` column that is NULL for most tasks. Only primary fields are
stored; derived ones (dependency counts, heap generations) are rebuilt on load. The column list
is part of the schema: changing it needs a schema migration.
"""

from __future__ import annotations

import base64
import json
import math
from sys import intern
from typing import Any

from xrsched.core.config import RetryPolicy
from xrsched.core.model import NO_RESOURCES, Task, Worker

#: Separator of ids inside the deps/stakeholders/workers columns (ids never hold control characters).
SEP = "\x1f"
#: Stored task columns, in order (schema version 1); ``id`` first.
TASK_COLUMNS: tuple[str, ...] = (
    "id",
    "status",
    "deps",
    "stakeholders",
    "workers",
    "priority",
    "time",
    "updated",
    "seq",
    "family",
    "module",
    "params",
    "resources",
    "worker_running",
    "time_running",
    "retry",
    "remove",
    "scheduler_disable_time",
    "runnable",
    "batch_id",
    "cold",
)
#: Fields kept in the ``cold`` column when they differ from their default.
COLD_DEFAULTS: dict[str, Any] = {
    "resources_running": None,
    "param_visibilities": None,
    "expl": None,
    "accepts_messages": False,
    "tracking_url": None,
    "status_message": None,
    "progress_percentage": None,
    "message_responses": None,
    "batchable": False,
    "failures": None,
    "first_failure_time": None,
}
#: Stored worker fields, in order (schema version 1).
WORKER_FIELDS: tuple[str, ...] = ("started", "info", "disabled", "rpc_messages", "reference")

TaskRow = tuple[Any, ...]
_BYTES_TAG = "$xrsched-bytes"


class RecordError(ValueError):
    """A stored record cannot be decoded."""


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {_BYTES_TAG: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot store a {type(value).__name__}")


def _revive(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _BYTES_TAG in obj:
        return base64.b64decode(obj[_BYTES_TAG])
    return obj


def dumps(value: Any) -> str:
    """Compact JSON that keeps bytes (tagged base64) and refuses nan/inf."""
    return json.dumps(value, default=_default, separators=(",", ":"), allow_nan=False)


def loads(text: str) -> Any:
    """The inverse of :func:`dumps`."""
    if _BYTES_TAG in text:
        return json.loads(text, object_hook=_revive)
    return json.loads(text)


def encode_task(task: Task, default_policy: RetryPolicy) -> TaskRow:
    """One task as the values of :data:`TASK_COLUMNS`.

    A task whose retry policy is the configured default stores none, and gets the configured
    default again on load (so a changed ``[scheduler]`` policy applies to it after a restart).
    """
    cold = {name: getattr(task, name) for name, default in COLD_DEFAULTS.items() if getattr(task, name) != default}
    policy = task.retry_policy
    if policy != default_policy:
        cold["retry_policy"] = [policy.retry_count, policy.disable_hard_timeout, policy.disable_window]
    return (
        task.id,
        task.status,
        SEP.join(task.deps),
        SEP.join(task.stakeholders),
        SEP.join(task.workers),
        task.priority,
        task.time,
        task.updated,
        task.seq,
        task.family,
        task.module,
        dumps(task.params) if task.params else None,
        dumps(task.resources) if task.resources else None,
        task.worker_running,
        task.time_running,
        task.retry,
        task.remove,
        task.scheduler_disable_time,
        1 if task.runnable else 0,
        task.batch_id,
        dumps(cold) if cold else None,
    )


class TaskDecoder:
    """Builds Task objects from rows, sharing what repeats (names, one-worker tuples, policies)."""

    def __init__(self, default_policy: RetryPolicy) -> None:
        self.policies: dict[tuple[Any, ...], RetryPolicy] = {}
        self.solos: dict[str, tuple[str, ...]] = {}
        self._default_policy = default_policy

    def _ids(self, text: str) -> tuple[str, ...]:
        if not text:
            return ()
        if SEP not in text:
            solo = self.solos.get(text)
            if solo is None:
                solo = self.solos[text] = (intern(text),)
            return solo
        return tuple(map(intern, text.split(SEP)))

    def decode(self, row: TaskRow) -> Task:
        """A Task from its stored row (RecordError if it is not one)."""
        try:
            (task_id, status, deps, stakeholders, workers, priority, created, updated, seq, family, module,
             params, resources, worker_running, time_running, retry, remove, disabled_at, runnable, batch_id,
             cold) = row  # fmt: skip
            task = Task.__new__(Task)
            task.id = intern(task_id)
            task.status = intern(status)
            task.deps = tuple(map(intern, deps.split(SEP))) if deps else ()
            task.stakeholders = self._ids(stakeholders)
            task.workers = self._ids(workers)
            task.priority = float(priority)
            task.time = created
            task.updated = updated
            task.seq = seq
            task.family = intern(family)
            task.module = intern(module) if module else module
            task.params = loads(params) if params else {}
            task.resources = loads(resources) if resources else NO_RESOURCES
            task.worker_running = worker_running
            task.time_running = time_running
            task.retry = retry
            task.remove = remove
            task.scheduler_disable_time = disabled_at
            task.runnable = bool(runnable)
            task.batch_id = batch_id
            task.unmet = task.blocked = task.gen = 0
            # The cold fields' defaults (COLD_DEFAULTS), assigned directly: this runs a million times.
            task.resources_running = task.param_visibilities = task.expl = task.tracking_url = None
            task.status_message = task.progress_percentage = task.message_responses = None
            task.failures = task.first_failure_time = None
            task.accepts_messages = task.batchable = False
            task.retry_policy = self._default_policy
            if cold:
                self._apply_cold(task, loads(cold))
            return task
        except RecordError:
            raise
        except (ValueError, TypeError, AttributeError) as exc:
            name = row[0] if row and isinstance(row[0], str) else "?"
            raise RecordError(f"task {name!r}: unreadable record ({exc.__class__.__name__})") from None

    def _apply_cold(self, task: Task, cold: dict[str, Any]) -> None:
        for name, value in cold.items():
            if name == "retry_policy":
                key = tuple(value)
                policy = self.policies.get(key)
                if policy is None:
                    policy = self.policies[key] = RetryPolicy(int(value[0]), float(value[1]), float(value[2]))
                task.retry_policy = policy
            elif name in COLD_DEFAULTS:
                setattr(task, name, value)
            else:
                raise RecordError(f"task {task.id!r}: unknown stored field {name!r}")


def encode_worker(worker: Worker) -> str:
    """One worker as a JSON array of :data:`WORKER_FIELDS`."""
    return dumps([getattr(worker, name) for name in WORKER_FIELDS])


def decode_worker(worker_id: str, text: str, now: float) -> Worker:
    """A Worker from its stored row, active from ``now``."""
    try:
        row = loads(text)
        if not isinstance(row, list) or len(row) != len(WORKER_FIELDS):
            raise RecordError(f"worker {worker_id!r}: expected {len(WORKER_FIELDS)} fields")
        worker = Worker(intern(worker_id), now)
        for name, value in zip(WORKER_FIELDS, row, strict=True):
            setattr(worker, name, value)
        return worker
    except RecordError:
        raise
    except (ValueError, TypeError) as exc:
        raise RecordError(f"worker {worker_id!r}: unreadable record ({exc.__class__.__name__})") from None


def encode_meta(meta: dict[str, Any]) -> str:
    """Pause, capacities and batchers (see :func:`xrsched.core.restore.meta_of`)."""
    return dumps(meta)


def decode_meta(text: str | None) -> dict[str, Any]:
    """The scheduler-wide settings, with batchers' sizes back as numbers (None means no limit)."""
    meta = loads(text) if text else {}
    batchers: dict[str, dict[str, tuple[tuple[str, ...], float]]] = {}
    for worker, families in (meta.get("batchers") or {}).items():
        batchers[worker] = {
            family: (tuple(names), math.inf if size is None else float(size))
            for family, (names, size) in families.items()
        }
    return {
        "paused": bool(meta.get("paused", False)),
        "resources": {str(k): int(v) for k, v in (meta.get("resources") or {}).items()},
        "batchers": batchers,
    }
