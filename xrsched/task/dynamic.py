"""Dynamic dependencies: a ``run()`` that yields the tasks it needs, and how a worker drives it.

``run()`` may be a generator. Each ``yield`` hands over a task, a list/tuple/dict of tasks or
a :class:`DynamicRequirements`; once they are all complete, their outputs, in the same shape,
are sent back as the value of the ``yield`` expression::

    def run(self):
        parts = yield [Part(self.day, n) for n in range(3)]
        with self.output().open("w") as out:
            for target in parts:
                out.write(target.open().read())

While they are incomplete, the worker schedules them. Luigi's worker then abandons the
generator and runs the task again from the start later; the earlier yields now find their
tasks complete and pass straight through. ``run_until_blocked`` does exactly that;
``iter_run`` also lets a worker keep the generator and resume it in place.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from .base import Task, is_external
from .structure import flatten, getpaths

CompleteCheck = Callable[[Task], bool]


def _is_complete(task: Task) -> bool:
    return task.complete()


class DynamicRequirements:
    """Tasks a running task waits for, optionally with a cheaper way to tell they are complete.

    ``custom_complete(check)`` replaces checking every task with ``check`` (useful when one
    listing of a directory answers for thousands of tasks).
    """

    def __init__(self, requirements: Any, custom_complete: Callable[[CompleteCheck], bool] | None = None) -> None:
        self.requirements = requirements
        self.custom_complete = custom_complete

    @property
    def flat_requirements(self) -> list[Task]:
        """The required tasks as a flat list."""
        return flatten(self.requirements)

    @property
    def paths(self) -> Any:
        """The outputs of the required tasks, in the shape they were given in."""
        return getpaths(self.requirements)

    def complete(self, complete_fn: CompleteCheck | None = None) -> bool:
        """Whether every required task is complete, according to ``complete_fn``."""
        check = complete_fn or _is_complete
        if self.custom_complete is not None:
            return bool(self.custom_complete(check))
        return all(check(task) for task in self.flat_requirements)


@dataclass(frozen=True)
class DependencyRequest:
    """The tasks ``run()`` yielded while some of them were incomplete (all of them, complete or not)."""

    tasks: tuple[Task, ...]

    @property
    def task_ids(self) -> list[str]:
        """The ids of the requested tasks: the ``new_deps`` of the waiting task."""
        return [task.task_id for task in self.tasks]

    def describe(self) -> list[tuple[str, str, dict[str, str]]]:
        """``(module, family, str_params)`` per task: enough for another process to rebuild them."""
        return [(t.task_module, t.task_family, t.to_str_params()) for t in self.tasks]


def _as_requirements(task: Task, yielded: Any) -> DynamicRequirements:
    requirements = yielded if isinstance(yielded, DynamicRequirements) else DynamicRequirements(yielded)
    for item in requirements.flat_requirements:
        if not isinstance(item, Task):
            raise TypeError(f"{task!r}: run() yielded a {type(item).__name__}; yield tasks")
    return requirements


def iter_run(task: Task, complete: CompleteCheck | None = None) -> Generator[DependencyRequest, None, None]:
    """Run ``task``, yielding a DependencyRequest whenever it waits for incomplete tasks.

    Advancing the iterator again re-checks the request: once complete, the outputs are sent
    into ``run()`` and it continues; otherwise the same request is yielded again. Exhaustion
    means ``run()`` finished; exceptions from ``run()`` propagate. Closing the iterator closes
    ``run()``'s generator, so its ``finally`` blocks and ``with`` statements clean up.
    """
    if is_external(task):
        raise TypeError(f"{task!r} is external: it has no run()")
    check = complete or _is_complete
    result = task.run()  # type: ignore[misc]
    if not isinstance(result, types.GeneratorType):
        return
    try:
        reply: Any = None
        while True:
            try:
                yielded = result.send(reply)
            except StopIteration:
                return
            requirements = _as_requirements(task, yielded)
            while not requirements.complete(check):
                yield DependencyRequest(tuple(requirements.flat_requirements))
            reply = requirements.paths
    finally:
        result.close()


def run_until_blocked(task: Task, complete: CompleteCheck | None = None) -> DependencyRequest | None:
    """Run ``task`` as Luigi's worker does: None if it finished, else the tasks it is waiting for.

    When it waits, ``run()`` is closed; run the task again once the requested tasks are done.
    """
    runner = iter_run(task, complete)
    try:
        return next(runner, None)
    finally:
        runner.close()
