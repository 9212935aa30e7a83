"""Batches: declaring batchable families to the scheduler, and turning a batch it hands out into
one task to run.

A task class with parameters that have a ``batch_method`` is *batchable*. The worker declares
each such family once (``add_task_batcher``: the batched parameter names and the class's
``max_batch_size``), before the first registration of a task of that family. The scheduler then
hands out up to ``max_batch_size`` runnable tasks of the family that agree on every other
parameter in one ``get_work`` reply: no ``task_id``, but a ``batch_id``, the members'
ids (``batch_task_ids``) and ``task_params`` whose batched parameters are lists of the members'
values.

As in Luigi, the worker builds the *combined task* from those params (each batched
parameter's ``batch_method`` folds its list into one value; its id follows from the result as
any task's does, so with ``max`` it is often one of the members), tells the scheduler it runs
that task for the batch (``add_task`` RUNNING with the ``batch_id``) and runs it like any
other task. The scheduler ends every member's run with the combined task's outcome (DONE or
FAILED, with its explanation, so ``fetch_error`` on a member shows the traceback).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .link import Call
from .runner import load_task, report_fields


@dataclass(frozen=True)
class OpenedBatch:
    """A batch reply made runnable: the reply as for a single task, and the call that tells the
    scheduler which task runs the batch."""

    reply: dict[str, Any]
    running: Call
    members: list[str]


def open_batch(reply: Mapping[str, Any], worker_id: str) -> OpenedBatch:
    """Build the combined task of a ``get_work`` batch reply; raises what building it raises.

    The reply's ``task_id`` becomes the combined task's, so the rest of the worker runs it as
    any task. The RUNNING registration carries the task's scheduler fields but ``batchable``:
    left out, a combined task that is one of the members stays batchable, and one that is not
    stays unbatchable (the scheduler drops it after a failure, the members are retried).
    """
    module, family = reply.get("task_module"), reply.get("task_family") or ""
    params = dict(reply.get("task_params") or {})
    task = load_task(module, family, params)
    fields = combined_fields(report_fields(task))
    running = {**fields, "task_id": task.task_id, "worker": worker_id, "status": "RUNNING",
               "batch_id": reply["batch_id"]}  # fmt: skip
    members = [str(member) for member in reply.get("batch_task_ids") or []]
    return OpenedBatch({**reply, "task_id": task.task_id}, ("add_task", running), members)


def combined_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A combined task's report fields: without ``batchable`` (see :func:`open_batch`)."""
    return {key: value for key, value in fields.items() if key != "batchable"}


def unopened_batch_reports(reply: Mapping[str, Any], worker_id: str, exc: BaseException) -> list[Call]:
    """FAILED reports for every member of a batch whose combined task could not be built, with
    the reason (Luigi fails the members the same way)."""
    family, module = reply.get("task_family") or "", reply.get("task_module")
    expl = f"cannot build the batch task {family} from module {module}:\n" + "".join(traceback.format_exception(exc))
    members: Iterable[Any] = reply.get("batch_task_ids") or []
    return [("add_task", {"task_id": str(member), "worker": worker_id, "status": "FAILED", "expl": expl})
            for member in members]  # fmt: skip
