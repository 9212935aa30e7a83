"""Put back the ``None`` members the wire left out, so replies look as Luigi's callers expect.

The server never sends ``<nil/>``: a struct member whose value is None is omitted (DESIGN §2).
Luigi's worker reads ``reply["task_id"]``, ``reply["batch_id"]`` and friends directly, so
the client restores the keys each method is known to return, as None, where they are
missing. The tables follow :mod:`xrsched.core`; unknown methods pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Keys of a task as listings show it (``serialize_task``) that are None when not applicable.
TASK_KEYS: tuple[str, ...] = (
    "worker_running",
    "time_running",
    "resources_running",
    "tracking_url",
    "status_message",
    "progress_percentage",
)

#: Method → keys its struct reply always carries in Luigi (None when there is nothing).
REPLY_KEYS: dict[str, tuple[str, ...]] = {
    "get_work": ("task_id", "task_family", "task_module", "task_params", "batch_id", "batch_task_ids"),
    "fetch_error": ("taskId", "error", "displayName", "taskParams", "taskModule", "taskFamily"),
    "get_task_status_message": ("taskId", "statusMessage"),
    "get_task_progress_percentage": ("taskId", "progressPercentage"),
    "get_running_task_resources": ("taskId", "resources"),
    "send_scheduler_message": ("message_id",),
    "get_scheduler_message_response": ("response",),
}


def _fill(struct: Any, keys: tuple[str, ...]) -> None:
    if isinstance(struct, dict):
        for key in keys:
            struct.setdefault(key, None)


def _task_map(tasks: Any) -> None:
    """``{task_id: task}``; other members (``num_tasks`` when a listing is too long) are left alone."""
    if isinstance(tasks, dict):
        for task in tasks.values():
            _fill(task, TASK_KEYS)


def _by_status(groups: Any) -> None:
    if isinstance(groups, dict):
        for tasks in groups.values():
            _task_map(tasks)


def _running_lists(entries: Any) -> None:
    """``worker_list`` and ``resource_list``: each entry's ``running`` is a task map."""
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict):
                _task_map(entry.get("running"))


def _history(entries: Any) -> None:
    """``task_history``: each recorded transition names its worker and host, or None."""
    if isinstance(entries, list):
        for entry in entries:
            _fill(entry, ("worker", "host"))


def _single_task(task: Any) -> None:
    if task:  # re_enable_task answers {} when the task was not disabled by the scheduler
        _fill(task, TASK_KEYS)


_SHAPES: dict[str, Callable[[Any], None]] = {
    "task_list": _task_map,
    "graph": _task_map,
    "dep_graph": _task_map,
    "inverse_dep_graph": _task_map,
    "task_search": _by_status,
    "worker_list": _running_lists,
    "resource_list": _running_lists,
    "re_enable_task": _single_task,
    "task_history": _history,
}


def restore(method: str, value: Any) -> Any:
    """``value`` (the reply of ``method``) with the expected-but-omitted members set to None."""
    keys = REPLY_KEYS.get(method)
    if keys is not None:
        _fill(value, keys)
    else:
        shape = _SHAPES.get(method)
        if shape is not None:
            shape(value)
    return value
