"""Task and worker records as compact JSON arrays (fields by position), and back.

Only primary fields are stored; derived ones (dependency counts, heap generations) are
rebuilt on load. Arrays instead of objects keep a million rows small and fast to decode.
The field lists are part of the schema: changing them needs a schema migration.
"""

from __future__ import annotations

import base64
import json
import math
from sys import intern
from typing import Any

from xrsched.core.config import RetryPolicy
from xrsched.core.model import NO_RESOURCES, Task, Worker

#: Stored task fields, in order (schema version 1).
TASK_FIELDS: tuple[str, ...] = (
    "status",
    "deps",
    "stakeholders",
    "workers",
    "resources",
    "resources_running",
    "priority",
    "family",
    "module",
    "params",
    "param_visibilities",
    "time",
    "updated",
    "retry",
    "remove",
    "worker_running",
    "time_running",
    "expl",
    "accepts_messages",
    "tracking_url",
    "status_message",
    "progress_percentage",
    "message_responses",
    "scheduler_disable_time",
    "runnable",
    "batchable",
    "batch_id",
    "retry_policy",
    "failures",
    "first_failure_time",
    "seq",
)
#: Stored worker fields, in order (schema version 1).
WORKER_FIELDS: tuple[str, ...] = ("started", "info", "disabled", "rpc_messages", "reference")

_TUPLE_FIELDS = frozenset({"deps", "stakeholders", "workers"})
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


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"), allow_nan=False)


def _loads(text: str) -> Any:
    if _BYTES_TAG in text:
        return json.loads(text, object_hook=_revive)
    return json.loads(text)


def encode_task(task: Task) -> str:
    """One task as a JSON array of :data:`TASK_FIELDS`."""
    policy = task.retry_policy
    row = [getattr(task, name) for name in TASK_FIELDS[:-4]]
    row.append([policy.retry_count, policy.disable_hard_timeout, policy.disable_window])
    row += [task.failures, task.first_failure_time, task.seq]
    return _dumps(row)


def decode_task(task_id: str, text: str, policies: dict[RetryPolicy, RetryPolicy]) -> Task:
    """A Task from its stored row; ``policies`` shares identical retry policies."""
    try:
        row = _loads(text)
        if not isinstance(row, list) or len(row) != len(TASK_FIELDS):
            raise RecordError(f"task {task_id!r}: expected {len(TASK_FIELDS)} fields")
        task = Task.__new__(Task)
        task.id = task_id
        for name, value in zip(TASK_FIELDS, row, strict=True):
            if name in _TUPLE_FIELDS:
                value = tuple(intern(item) for item in value)
            elif name in ("family", "module") and value:
                value = intern(value)
            elif name == "retry_policy":
                policy = RetryPolicy(int(value[0]), float(value[1]), float(value[2]))
                value = policies.setdefault(policy, policy)
            elif name == "resources" and not value:
                value = NO_RESOURCES
            setattr(task, name, value)
        task.unmet = task.blocked = task.gen = 0
        return task
    except RecordError:
        raise
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise RecordError(f"task {task_id!r}: unreadable record ({exc.__class__.__name__})") from None


def encode_worker(worker: Worker) -> str:
    """One worker as a JSON array of :data:`WORKER_FIELDS`."""
    return _dumps([getattr(worker, name) for name in WORKER_FIELDS])


def decode_worker(worker_id: str, text: str, now: float) -> Worker:
    """A Worker from its stored row, active from ``now``."""
    try:
        row = _loads(text)
        if not isinstance(row, list) or len(row) != len(WORKER_FIELDS):
            raise RecordError(f"worker {worker_id!r}: expected {len(WORKER_FIELDS)} fields")
        worker = Worker(worker_id, now)
        for name, value in zip(WORKER_FIELDS, row, strict=True):
            setattr(worker, name, value)
        return worker
    except RecordError:
        raise
    except (ValueError, TypeError) as exc:
        raise RecordError(f"worker {worker_id!r}: unreadable record ({exc.__class__.__name__})") from None


def encode_meta(meta: dict[str, Any]) -> str:
    """Pause, capacities and batchers (see :func:`xrsched.core.restore.meta_of`)."""
    return _dumps(meta)


def decode_meta(text: str | None) -> dict[str, Any]:
    """The scheduler-wide settings, with batchers' sizes back as numbers (None means no limit)."""
    meta = _loads(text) if text else {}
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
