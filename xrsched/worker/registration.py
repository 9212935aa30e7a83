"""Walking a task graph and registering it with the scheduler in a few multicall requests.

The walk is breadth-first from the tasks asked for. Each task is checked once: complete
tasks are registered DONE (and their dependencies are not visited, as in Luigi), incomplete
external tasks PENDING with ``runnable=False``, other incomplete tasks PENDING with their
dependency ids. A task whose ``complete()`` or ``requires()`` raises is registered UNKNOWN
with the traceback and not run.

``complete()`` often asks a file system or a database; a level of the graph is checked inline
while the checks are fast and handed to a thread pool as soon as they turn out slow, so a graph
of cheap local targets pays no thread overhead and one of slow remote targets is checked in
parallel.

Registration calls go out deepest first (every task after its dependencies), so the first
request already makes the leaves runnable and no placeholder tasks are created. Families of
batchable tasks (parameters with a ``batch_method``) are declared with ``add_task_batcher``
before any of them is registered (see :mod:`.batches`).
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xrsched.task import Task, is_external

if TYPE_CHECKING:
    from .link import Call

#: A check slower than this on average (seconds) sends the rest of its level to the thread pool.
SLOW_CHECK = 0.0005

DONE = "DONE"
PENDING = "PENDING"
UNKNOWN = "UNKNOWN"


@dataclass
class GraphWalk:
    """What a walk found: the ``add_task`` calls to make and what each task turned out to be."""

    #: ``add_task`` keyword arguments (without ``worker``), dependencies before dependents.
    calls: list[dict[str, Any]] = field(default_factory=list)
    #: Every task met, by id.
    tasks: dict[str, Task] = field(default_factory=dict)
    #: Dependency ids of each incomplete runnable task.
    deps: dict[str, list[str]] = field(default_factory=dict)
    complete: set[str] = field(default_factory=set)
    missing_external: set[str] = field(default_factory=set)
    #: task id -> explanation, for tasks whose ``complete()`` or ``requires()`` raised.
    errors: dict[str, str] = field(default_factory=dict)
    #: family -> ``add_task_batcher`` arguments (without worker), for batchable runnable tasks.
    batchers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def runnable(self) -> set[str]:
        """Ids of the incomplete tasks this worker may run."""
        return set(self.deps)


class CompletenessChecker:
    """Calls ``complete()`` on many tasks: inline while cheap, in ``threads`` threads once slow."""

    def __init__(self, threads: int = 8) -> None:
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None

    def check_all(self, tasks: Sequence[Task]) -> list[bool | BaseException]:
        """Whether each task is complete, or the exception its check raised."""
        results: list[bool | BaseException] = []
        started = time.perf_counter()
        for task in tasks:
            results.append(check_complete(task))
            done = len(results)
            if self.threads > 1 and done < len(tasks) and (time.perf_counter() - started) / done > SLOW_CHECK:
                rest = tasks[done:]
                results.extend(self._executor().map(check_complete, rest))
                break
        return results

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="xrsched-complete")
        return self._pool

    def close(self) -> None:
        """Stop the threads, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def check_complete(task: Task) -> bool | BaseException:
    """``task.complete()``, insisting on a bool; the exception instead of raising it."""
    try:
        value = task.complete()
    except Exception as exc:  # a broken check must not stop the walk of the rest of the graph
        return exc
    if not isinstance(value, bool):
        return TypeError(f"{task!r}.complete() returned {type(value).__name__}, not a bool")
    return value


def _explain(what: str, task: Task, exc: BaseException) -> str:
    return f"{what} of {task!r} raised:\n" + "".join(traceback.format_exception(exc))


def walk(
    roots: Iterable[Task],
    checker: CompletenessChecker,
    *,
    skip: Callable[[str], bool] | None = None,
) -> GraphWalk:
    """Walk the graph below ``roots`` breadth-first; ``skip(task_id)`` prunes tasks already known."""
    return Walker(roots, checker, skip=skip).finish()


class Walker:
    """A breadth-first walk that can be taken a few tasks at a time (:meth:`advance`), so that a
    worker can register the first leaves of a big graph before it has seen the whole graph."""

    def __init__(
        self,
        roots: Iterable[Task],
        checker: CompletenessChecker,
        *,
        skip: Callable[[str], bool] | None = None,
    ) -> None:
        roots = list(roots)
        for task in roots:
            if not isinstance(task, Task):
                raise TypeError(f"expected a Task, got {type(task).__name__}: {task!r}")
        self.found = GraphWalk()
        self._checker = checker
        self._skip = skip
        #: ``add_task`` arguments in the order the walk met the tasks (shallowest first).
        self._order: list[dict[str, Any]] = []
        #: Tasks of the current level not visited yet, and those of the next level found so far.
        self._level = _admit(self.found, roots, skip)
        self._next: list[Task] = []

    @property
    def finished(self) -> bool:
        """Whether every task below the roots has been visited."""
        return not self._level and not self._next

    def advance(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Visit up to ``limit`` more tasks (all that are left with None); their calls, in walk
        order, without the tasks' descriptive fields (:func:`describe` adds them)."""
        start = len(self._order)
        while not self.finished:
            if not self._level:
                self._level, self._next = self._next, []
            room = len(self._level) if limit is None else limit - (len(self._order) - start)
            if room <= 0:
                break
            batch, self._level = self._level[:room], self._level[room:]
            for task, complete in zip(batch, self._checker.check_all(batch), strict=True):
                call, deps = _classify(self.found, task, complete)
                self._order.append(call)
                self._next.extend(_admit(self.found, deps, self._skip))
        return self._order[start:]

    def finish(self, *, described: bool = True) -> GraphWalk:
        """Visit the rest; the walk with its calls deepest first (every task after its dependencies).

        With ``described`` False the calls lack the tasks' descriptive fields, for a caller that
        sends the first ones before the rest is described (see :func:`describe`).
        """
        self.advance()
        self.found.calls = self._order[::-1]
        if described:
            self.found.calls = describe(self.found, self.found.calls)
        return self.found


def describe(found: GraphWalk, calls: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The walk's ``calls`` completed with each task's descriptive fields (``scheduler_fields()``:
    family, module, params, priority, resources...). The walk leaves them out, so that a chain
    walked to its bottom reads them for the few links sent first, not for all of it, before its
    first task can start."""
    tasks = found.tasks
    return [{**tasks[call["task_id"]].scheduler_fields(), **call} for call in calls]


def is_leaf_call(call: Mapping[str, Any]) -> bool:
    """Whether an ``add_task`` call of the walk can go out before the rest of the graph is known:
    it names no dependency (so it creates no placeholder) and is not part of a batchable family
    (whose members must be registered together to be batched together)."""
    return not call.get("deps") and not call.get("batchable")


def _admit(found: GraphWalk, tasks: Iterable[Task], skip: Callable[[str], bool] | None) -> list[Task]:
    """The tasks not seen yet and not skipped, now recorded in ``found``: the next ones to visit."""
    admitted = []
    for task in tasks:
        if task.task_id not in found.tasks and not (skip and skip(task.task_id)):
            found.tasks[task.task_id] = task
            admitted.append(task)
    return admitted


def _classify(found: GraphWalk, task: Task, complete: bool | BaseException) -> tuple[dict[str, Any], list[Task]]:
    """Record what ``task`` is (broken, complete, missing external, or pending with its
    dependencies) in ``found``; return its ``add_task`` call without the descriptive fields
    (see :func:`describe`) and the dependencies to visit."""
    task_id = task.task_id
    call: dict[str, Any] = {"task_id": task_id, "batchable": task.batchable}
    if isinstance(complete, BaseException):
        found.errors[task_id] = _explain("complete()", task, complete)
        return {**call, "status": UNKNOWN, "runnable": False, "expl": found.errors[task_id]}, []
    if complete:
        found.complete.add(task_id)
        return {**call, "status": DONE}, []
    if is_external(task):
        found.missing_external.add(task_id)
        return {**call, "status": PENDING, "runnable": False}, []
    try:
        deps = task.deps()
    except Exception as exc:  # requires() is user code; report it like Luigi does
        found.errors[task_id] = _explain("requires()", task, exc)
        return {**call, "status": UNKNOWN, "runnable": False, "expl": found.errors[task_id]}, []
    dep_ids = [dep.task_id for dep in deps]
    found.deps[task_id] = dep_ids
    batcher = batcher_of(task) if call["batchable"] and task.task_family not in found.batchers else None
    if batcher is not None:
        found.batchers[batcher[0]] = batcher[1]
    return {**call, "status": PENDING, "deps": dep_ids}, deps


def registration_calls(
    found: GraphWalk,
    worker_id: str,
    declared: set[str] | None = None,
    *,
    sent: Collection[str] = (),
) -> list[Call]:
    """The calls that register ``found`` for ``worker_id``: ``add_task_batcher`` for each
    batchable family not in ``declared`` yet (added to it), then the ``add_task`` calls of the
    tasks not in ``sent`` (ids registered already)."""
    batchers = batcher_calls(found.batchers, set() if declared is None else declared, worker_id)
    calls = (kwargs for kwargs in found.calls if kwargs["task_id"] not in sent) if sent else found.calls
    return [*batchers, *add_task_calls(calls, worker_id)]


def add_task_calls(registrations: Iterable[Mapping[str, Any]], worker_id: str) -> list[Call]:
    """The ``add_task`` calls that register ``registrations`` (a walk's calls) for ``worker_id``."""
    return [("add_task", {**kwargs, "worker": worker_id}) for kwargs in registrations]


def batcher_of(task: Task) -> tuple[str, dict[str, Any]] | None:
    """``(family, add_task_batcher arguments without worker)`` for a batchable task, else None.

    An infinite ``max_batch_size`` (the default) is left out: the scheduler reads that as no limit.
    """
    names = type(task).batch_param_names()
    if not names:
        return None
    arguments: dict[str, Any] = {"task_family": task.task_family, "batched_args": names}
    size = task.max_batch_size
    if size is not None and not math.isinf(size):
        arguments["max_batch_size"] = size
    return task.task_family, arguments


def batcher_calls(batchers: Mapping[str, dict[str, Any]], declared: set[str], worker_id: str) -> list[Call]:
    """``add_task_batcher`` calls for the families in ``batchers`` not yet in ``declared`` (which
    they are added to)."""
    calls: list[Call] = []
    for family, arguments in batchers.items():
        if family not in declared:
            declared.add(family)
            calls.append(("add_task_batcher", {**arguments, "worker": worker_id}))
    return calls
