"""Who may act as which worker and change which task (DESIGN §3, worker role).

A worker id belongs to the token that first used it; one token may run many worker ids
(workers pick a fresh id per process, as Luigi's do) and any other token using that id is
refused. A worker-role caller changes only tasks one of its worker ids registered or runs, and
acts on a batch (whose members the core changes together) only if one of its worker ids runs it.
Operators and admins act for anyone. A caller without write permission (a viewer) never claims
a worker id: read methods that name a worker only read, for every role.

The two method sets below are the one source of truth for these rules; they name only methods
whose minimum role is ``worker`` (a test checks that against the role table).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from xrsched.core.errors import Forbidden
from xrsched.core.model import Task
from xrsched.core.scheduler import READ_ONLY_METHODS
from xrsched.core.states import ACTIVE_RUN_STATUSES, DONE, FAILED, PENDING, RUNNING

#: Methods whose ``worker`` argument must be one of the caller's own worker ids (the first such
#: call claims the id for the caller). Write methods only: ``count_pending`` names a worker but
#: only reads, so it claims nothing.
WORKER_ARGUMENT_METHODS: frozenset[str] = frozenset(
    {
        "add_task",
        "add_worker",
        "add_task_batcher",
        "announce_scheduling_failure",
        "get_work",
        "ping",
    }
)
#: Methods that change a task named by ``task_id``: the caller must own it.
TASK_CHANGING_METHODS: frozenset[str] = frozenset(
    {
        "set_task_status_message",
        "set_task_progress_percentage",
        "decrease_running_task_resources",
        "add_scheduler_message_response",
        "report_task_statistics",
    }
)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated identity behind a call, as the service needs it."""

    identity: str
    #: Whether ownership rules apply (viewer and worker roles); operators and admins are unrestricted.
    restricted: bool
    #: Whether the caller may only read (the viewer role): it never claims a worker id.
    read_only: bool = False


class WorkerBindings:
    """worker id → the identity that first used it. Not thread-safe: used under the service lock."""

    def __init__(self) -> None:
        self._owner: dict[str, str] = {}
        self._ids: dict[str, set[str]] = {}

    def claim(self, caller: Caller, worker_id: str) -> None:
        """Bind ``worker_id`` to the caller on first use; 403 if another identity holds it."""
        owner = self._owner.get(worker_id)
        if owner is None:
            self._owner[worker_id] = caller.identity
            self._ids.setdefault(caller.identity, set()).add(worker_id)
        elif owner != caller.identity:
            raise Forbidden(f"worker: the worker id {worker_id!r} belongs to another token")

    def ids_of(self, identity: str) -> set[str]:
        """The worker ids bound to an identity."""
        return self._ids.get(identity, set())

    def forget(self, worker_ids: Iterable[str]) -> None:
        """Drop bindings of workers the scheduler no longer knows (they may be reused)."""
        for worker_id in worker_ids:
            owner = self._owner.pop(worker_id, None)
            if owner is not None:
                ids = self._ids.get(owner)
                if ids is not None:
                    ids.discard(worker_id)
                    if not ids:
                        del self._ids[owner]

    def release_all_but(self, keep: Collection[str]) -> list[str]:
        """Drop every binding held by an identity not in ``keep`` (a revoked token's claims go
        with it); return the worker ids released."""
        released = [w for w, owner in self._owner.items() if owner not in keep]
        self.forget(released)
        return released

    def known(self) -> list[str]:
        """Every bound worker id."""
        return list(self._owner)

    def owners(self) -> dict[str, str]:
        """A copy of worker id → owning identity."""
        return dict(self._owner)


def owns(task: Task, worker_ids: set[str]) -> bool:
    """Whether one of ``worker_ids`` registered (stakeholder or may run) or runs ``task``, or
    ran it until it was dropped and nobody runs it now (its late report is still news)."""
    runner = task.worker_running
    if runner in worker_ids:
        return True
    if runner is None and task.last_runner in worker_ids:
        return True
    return any(w in worker_ids for w in task.stakeholders) or any(w in worker_ids for w in task.workers)


def check_call(
    caller: Caller,
    method: str,
    arguments: dict[str, Any],
    bindings: WorkerBindings,
    tasks: dict[str, Task],
    batches: dict[str, set[str]],
) -> None:
    """Refuse (403) a worker-role call that acts as a foreign worker id or changes a foreign task.

    ``arguments`` are the call's bound arguments by name; ``batches`` is the core's batch id →
    BATCH_RUNNING member ids. Registering a task (PENDING) is open to every worker, since
    pipelines share upstream tasks; reporting DONE/FAILED/DISABLED for a task that exists needs
    the task to be one of the caller's. A change that reaches a batch's members (``add_task``
    naming a ``batch_id``, a report's text or an annotation for a task in a batch) needs the
    batch to be run by one of the caller's worker ids.
    """
    if not caller.restricted:
        return
    if caller.read_only:
        if method not in READ_ONLY_METHODS:
            raise Forbidden(f"{method}: this token may only read")
        return
    if method in WORKER_ARGUMENT_METHODS:
        worker_id = arguments.get("worker")
        if isinstance(worker_id, str) and worker_id:
            bindings.claim(caller, worker_id)
    mine = bindings.ids_of(caller.identity)
    if method == "add_task":
        _check_report(arguments, mine, tasks, batches)
    elif method in TASK_CHANGING_METHODS:
        _check_task_change(arguments, mine, tasks, batches)


def _check_report(
    arguments: dict[str, Any], mine: set[str], tasks: dict[str, Task], batches: dict[str, set[str]]
) -> None:
    """``add_task``: a status other than PENDING needs the task (RUNNING: see
    :func:`_check_run_start`); a ``batch_id``, or an explanation or tracking URL for a task in a
    batch, needs the batch."""
    status = arguments.get("status", PENDING)
    task = _named_task(arguments, tasks)
    batch_id = arguments.get("batch_id")
    # Whatever the status: the core records the batch id on the task, spreads the report's
    # explanation to the members, and ends them all when the task's run ends. Batch ids are
    # predictable, so one nobody runs yet is refused too.
    if isinstance(batch_id, str) and batch_id and not runs_batch(batch_id, mine, tasks, batches):
        raise Forbidden(f"batch_id: batch {batch_id!r} is not run by any worker of this token")
    if status == RUNNING:
        _check_run_start(arguments, task, mine, tasks, batches)
    elif task is not None and status != PENDING and status != "SUSPENDED" and not owns(task, mine):
        verb = {DONE: "finish", FAILED: "fail"}.get(status, "change")
        raise Forbidden(f"task_id: this token may not {verb} task {task.id!r}: none of its workers holds it")
    if task is not None and (arguments.get("expl") is not None or arguments.get("tracking_url") is not None):
        _check_batch_of(task, mine, tasks, batches)  # the core copies both to the batch's members


def _check_run_start(
    arguments: dict[str, Any], task: Task | None, mine: set[str], tasks: dict[str, Task], batches: dict[str, set[str]]
) -> None:
    """``add_task`` RUNNING: the caller runs the task already (a tracking URL, say), or starts
    a run of one of its own tasks, or of the combined task of a batch it runs (Luigi's worker
    reports that one RUNNING with the ``batch_id``; its id is predictable, so whoever
    registered it first, it is the batch runner's to start, if it is of the batch's family).
    Starting a task nobody of this token holds, or one another token's worker runs, is refused:
    its end would otherwise be the end of a batch its runner never ran."""
    if task is not None and task.status in ACTIVE_RUN_STATUSES:
        if task.worker_running in mine:
            return
        raise Forbidden(f"task_id: this token may not start task {task.id!r}: a worker of another token runs it")
    if task is not None and owns(task, mine):
        return
    batch_id = arguments.get("batch_id")
    if isinstance(batch_id, str) and batch_id:  # one the caller runs (checked before)
        family = tasks[next(iter(batches[batch_id]))].family
        if task is None or not task.family or task.family == family:
            return
    task_id = task.id if task is not None else arguments.get("task_id")
    raise Forbidden(
        f"task_id: this token may not start task {task_id!r}: it is not one of its tasks, nor the combined "
        "task of a batch it runs"
    )


def _check_task_change(
    arguments: dict[str, Any], mine: set[str], tasks: dict[str, Task], batches: dict[str, set[str]]
) -> None:
    """A task-changing method needs the task; on a task in a batch, the batch too (the core
    applies the runner's annotations to every member)."""
    task = _named_task(arguments, tasks)
    if task is None:
        return
    if not owns(task, mine):
        raise Forbidden(f"task_id: task {task.id!r} is not held by any worker of this token")
    _check_batch_of(task, mine, tasks, batches)


def _check_batch_of(task: Task, mine: set[str], tasks: dict[str, Task], batches: dict[str, set[str]]) -> None:
    """If ``task`` belongs to a live batch (it runs it, or is a member), one of ``mine`` must run
    that batch: the core copies a report's text and annotations to every member."""
    batch_id = task.batch_id
    if batch_id and batches.get(batch_id) and not runs_batch(batch_id, mine, tasks, batches):
        raise Forbidden(f"batch_id: task {task.id!r} is in batch {batch_id!r}, run by a worker of another token")


def runs_batch(batch_id: str, worker_ids: set[str], tasks: dict[str, Task], batches: dict[str, set[str]]) -> bool:
    """Whether the batch has members and one of ``worker_ids`` runs each of them (the worker
    ``get_work`` handed the batch to). O(batch size)."""
    members = batches.get(batch_id)
    return bool(members) and all(tasks[m].worker_running in worker_ids for m in members)


def _named_task(arguments: dict[str, Any], tasks: dict[str, Task]) -> Task | None:
    task_id = arguments.get("task_id")
    return tasks.get(task_id) if isinstance(task_id, str) else None
