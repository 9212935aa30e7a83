"""``Task``, the class pipeline code subclasses, with ``ExternalTask`` and ``WrapperTask``.

A task declares parameters as class attributes, names its dependencies in ``requires()``, its
results in ``output()`` and its work in ``run()``. Its ``task_id`` is derived from its family
and significant public parameters (:mod:`xrsched.task.ids`), so equal tasks built in different
processes agree. Building a task twice with the same parameters returns the same object.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from .binding import bind, handed_over, make_plan
from .ids import task_id_str
from .parameters import (
    BadParameterValue,
    Parameter,
    ParameterVisibility,
    UnknownParameterException,
)
from .registry import Register, task_family_of, task_namespace_of
from .structure import flatten, getpaths
from .target import Target


class Reporter:
    """Where a running task's progress goes; the worker installs one, the default drops everything."""

    def status_message(self, message: str) -> None:
        """Show ``message`` as the task's status."""

    def progress_percentage(self, percentage: float) -> None:
        """Show how far the task has got, 0 to 100."""

    def tracking_url(self, url: str) -> None:
        """Link the task to an external page (e.g. a cluster job)."""


_SILENT = Reporter()


class Task(metaclass=Register):
    """A unit of work: subclass it, declare parameters, and override the methods below.

    Class attributes the scheduler reads: ``priority``, ``resources`` (name -> units),
    ``retry_count``, ``disable_hard_timeout``, ``disable_window`` (None = scheduler default),
    ``accepts_messages``, ``max_batch_size``; ``task_namespace`` prefixes the family.
    """

    task_namespace: ClassVar[str | None] = None
    priority: float = 0
    resources: dict[str, int] = {}
    retry_count: int | None = None
    disable_hard_timeout: float | None = None
    disable_window: float | None = None
    accepts_messages: bool = False
    max_batch_size: float = math.inf
    worker_timeout: float | None = None
    owner_email: Any = None  # accepted for Luigi compatibility; xrsched sends no e-mail
    disabled: bool = False

    _reporter: Reporter = _SILENT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        values = handed_over(cls, args, kwargs)  # bound by the metaclass a moment ago
        if values is None:
            values = self.get_param_values(self.get_params(), args, kwargs)
        self._set_up(values)

    def _set_up(self, values: list[tuple[str, Any]]) -> None:
        """Set the bound parameter values, ``param_kwargs`` and the task id (what ``__init__`` does
        once the arguments are bound; the metaclass calls it directly when ``__init__`` is this one)."""
        for name, value in values:
            setattr(self, name, value)
        self.param_kwargs: dict[str, Any] = dict(values)
        self.task_id: str = task_id_str(self.task_family, self._id_params())
        self._hash = hash(self.task_id)

    #: Task's own ``__init__``: the metaclass sets up a task whose class still has it directly.
    _plain_init = __init__

    def _id_params(self) -> dict[str, str]:
        """The serialized values the task id is made of: ``to_str_params(only_significant=True,
        only_public=True)``, read from the class's plan unless the class overrides that method."""
        cls = type(self)
        if cls.to_str_params is not Task.to_str_params:  # type: ignore[comparison-overlap]
            return self.to_str_params(only_significant=True, only_public=True)
        values = self.param_kwargs
        return {name: serialize(values[name]) for name, serialize in type(cls).plan_of(cls).id_params}  # type: ignore[attr-defined]

    # -- identity -------------------------------------------------------------------------

    @classmethod
    def get_task_namespace(cls) -> str:
        """The namespace: ``task_namespace`` if set (here or inherited), else ``namespace()``'s."""
        return task_namespace_of(cls)

    @classmethod
    def get_task_family(cls) -> str:
        """``namespace.ClassName``, or just the class name outside a namespace."""
        return task_family_of(cls)

    @property
    def task_family(self) -> str:
        """The family this task's class belongs to."""
        return type(self).get_task_family()

    @property
    def task_module(self) -> str:
        """The module that defines the task's class (sent to the scheduler as ``module``)."""
        return type(self).__module__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Task):
            return NotImplemented
        return type(self) is type(other) and self.param_kwargs == other.param_kwargs

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        params = self.get_params()
        shown = self.to_str_params(only_significant=True, only_public=True)
        parts = ", ".join(f"{name}={shown[name]}" for name, _ in params if name in shown)
        return f"{self.task_family}({parts})"

    # -- parameters -----------------------------------------------------------------------

    @classmethod
    def get_params(cls) -> list[tuple[str, Parameter[Any]]]:
        """The declared parameters in declaration order, base classes first."""
        return list(type(cls).params_of(cls))  # type: ignore[arg-type]

    @classmethod
    def _overrides_get_params(cls) -> bool:
        """Whether the class overrides ``get_params()`` (the metaclass then follows each answer)."""
        return cls.get_params.__func__ is not Task.get_params.__func__  # type: ignore[attr-defined]

    @classmethod
    def get_param_names(cls, include_significant: bool = False) -> list[str]:
        """Names of the significant parameters, or of all of them with ``include_significant``."""
        return [name for name, p in cls.get_params() if include_significant or p.significant]

    @classmethod
    def batch_param_names(cls) -> list[str]:
        """Parameters with a ``batch_method``: the ones a batch of tasks may differ in."""
        return list(type(cls).plan_of(cls).batch_names)  # type: ignore[attr-defined]

    @classmethod
    def get_param_values(
        cls, params: list[tuple[str, Parameter[Any]]], args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> list[tuple[str, Any]]:
        """Match constructor arguments to ``params``, fill defaults and normalize every value."""
        plan = type(cls).plan_of(cls)  # type: ignore[attr-defined]
        if not plan.matches(params):
            plan = make_plan(tuple(params))
        return bind(cls.get_task_family, plan, args, kwargs)

    @classmethod
    def _bind_arguments(cls, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """``get_param_values`` for this class's own parameters (what the metaclass calls for every
        task built): straight from the class's plan unless the class overrides that method."""
        if cls.get_param_values.__func__ is not Task.get_param_values.__func__:  # type: ignore[attr-defined]
            return cls.get_param_values(cls.get_params(), args, kwargs)
        return bind(cls.get_task_family, type(cls).plan_of(cls), args, kwargs)  # type: ignore[attr-defined]

    @classmethod
    def from_str_params(cls, params_str: Mapping[str, str | list[str]]) -> Self:
        """Build a task from serialized values (command line, scheduler); a list feeds a batch method."""
        family = cls.get_task_family()
        params = dict(cls.get_params())
        kwargs: dict[str, Any] = {}
        for name, text in params_str.items():
            param = params.get(name)
            if param is None:
                raise UnknownParameterException(
                    f"{family} has no parameter {name!r} (it has: {', '.join(params) or 'none'})"
                )
            try:
                if isinstance(text, list) and param.batchable:
                    kwargs[name] = param.parse_list(text)
                elif isinstance(text, str):
                    kwargs[name] = param.parse(text)
                else:
                    raise TypeError(f"expected a string, got {type(text).__name__}")
            except (TypeError, ValueError) as exc:
                shown = repr(text)[:60] if param.visibility == ParameterVisibility.PUBLIC else "(not shown)"
                raise BadParameterValue(f"{family}.{name}: cannot read {shown}: {exc}") from exc
        return cls(**kwargs)

    def to_str_params(self, only_significant: bool = False, only_public: bool = False) -> dict[str, str]:
        """Serialized parameter values, never the private ones; the default set is the scheduler's ``params``."""
        cls = type(self)
        plan = type(cls).plan_of(cls)  # type: ignore[attr-defined]
        if not only_significant and not only_public and not plan.asked:  # the scheduler's set, sent for every task
            values = self.param_kwargs
            return {name: serialize(values[name]) for name, serialize in plan.shown_params}
        result = {}
        for name, param, value in self._shown_values():
            if (only_significant and not param.significant) or (
                only_public and param.visibility != ParameterVisibility.PUBLIC
            ):
                continue
            result[name] = param.serialize(value)
        return result

    def param_visibilities(self) -> dict[str, int]:
        """``param_visibilities`` for the scheduler: 0 public, 1 hidden (private ones are left out)."""
        cls = type(self)
        plan = type(cls).plan_of(cls)  # type: ignore[attr-defined]
        if not plan.asked:
            return dict(plan.visibilities)
        return {name: int(param.visibility) for name, param, _ in self._shown_values()}

    def _shown_values(self) -> list[tuple[str, Parameter[Any], Any]]:
        """``(name, parameter, value)`` of the values the task was built with, in that order, whose
        names ``get_params()`` (asked now, as Luigi asks it) still has and does not make private."""
        params = dict(self.get_params())
        return [
            (name, params[name], value)
            for name, value in self.param_kwargs.items()
            if name in params and params[name].visibility != ParameterVisibility.PRIVATE
        ]

    def clone(self, cls: type[Task] | None = None, **kwargs: Any) -> Task:
        """A task of ``cls`` (default: this class) with this task's parameters it shares, and ``kwargs``."""
        target = cls or type(self)
        names = {name for name, _ in target.get_params()}
        values = {name: value for name, value in self.param_kwargs.items() if name in names}
        values.update(kwargs)
        return target(**values)

    # -- what the scheduler is told ---------------------------------------------------------

    def retry_policy_dict(self) -> dict[str, float]:
        """This task's retry overrides; unset (None) members are left out, so the scheduler's apply."""
        policy = {
            "retry_count": self.retry_count,
            "disable_hard_timeout": self.disable_hard_timeout,
            "disable_window": self.disable_window,
        }
        return {key: value for key, value in policy.items() if value is not None}

    def process_resources(self) -> dict[str, int]:
        """Resources held while running; override to compute them from parameters."""
        return dict(self.resources)

    @property
    def batchable(self) -> bool:
        """Whether the scheduler may run this task in a batch with others of its family."""
        return bool(self.batch_param_names())

    def scheduler_fields(self) -> dict[str, Any]:
        """The ``add_task`` arguments that describe this task (not status, deps or worker).

        Arguments at the scheduler's default are left out: priority 0, no resources, no retry
        overrides, only public parameters, no messages, runnable. They mean the same there, and
        these fields go with every registration and every report (a report must repeat them:
        the scheduler resets a task's resources and retry policy to what each ``add_task`` says).
        """
        fields: dict[str, Any] = {
            "task_id": self.task_id,
            "family": self.task_family,
            "module": self.task_module,
            "params": self.to_str_params(),
            "batchable": self.batchable,
        }
        visibilities = self.param_visibilities()
        if any(visibilities.values()):
            fields["param_visibilities"] = visibilities
        if self.priority:
            fields["priority"] = self.priority
        resources = self.process_resources()
        if resources:
            fields["resources"] = resources
        policy = self.retry_policy_dict()
        if policy:
            fields["retry_policy_dict"] = policy
        if self.accepts_messages:
            fields["accepts_messages"] = True
        if is_external(self):
            fields["runnable"] = False
        return fields

    # -- the pipeline API -----------------------------------------------------------------

    def requires(self) -> Any:
        """Tasks that must be complete before this one runs: one, or a list/tuple/dict of them."""
        return []

    def output(self) -> Any:
        """What the task produces: a Target or a list/tuple/dict of them."""
        return []

    def run(self) -> Any:
        """Do the work. May be a generator that yields tasks it needs (dynamic dependencies)."""

    def input(self) -> Any:
        """The outputs of ``requires()``, in the same shape."""
        return getpaths(self.requires())

    def deps(self) -> list[Task]:
        """``requires()`` flattened into a list, each checked to be a Task."""
        found = flatten(self.requires())
        for dep in found:
            if isinstance(dep, Target):
                raise TypeError(f"{self!r}: requires() returned a Target; wrap it in an ExternalTask")
            if not isinstance(dep, Task):
                raise TypeError(f"{self!r}: requires() returned a {type(dep).__name__}, not a Task")
        return found

    def complete(self) -> bool:
        """True when every output exists; a task with no outputs is never complete unless overridden."""
        outputs = flatten(self.output())
        return bool(outputs) and all(output.exists() for output in outputs)

    def on_failure(self, exception: BaseException) -> str:
        """The explanation sent to the scheduler when ``run()`` raised ``exception``."""
        return "Runtime error:\n" + "".join(traceback.format_exception(exception))

    def on_success(self) -> str | None:
        """The explanation sent to the scheduler after a successful run (none by default)."""
        return None

    # -- progress while running -----------------------------------------------------------

    def attach_reporter(self, reporter: Reporter | None) -> None:
        """Route status messages and progress to ``reporter`` (None: discard them again)."""
        if reporter is None:
            self.__dict__.pop("_reporter", None)
        else:
            self._reporter = reporter

    def set_status_message(self, message: str) -> None:
        """Tell the scheduler what the task is doing."""
        self._reporter.status_message(str(message))

    def set_progress_percentage(self, percentage: float) -> None:
        """Tell the scheduler how far along the task is; clamped to 0..100."""
        self._reporter.progress_percentage(min(100.0, max(0.0, float(percentage))))

    def set_tracking_url(self, url: str) -> None:
        """Tell the scheduler where to follow the task's progress."""
        self._reporter.tracking_url(str(url))


class ExternalTask(Task):
    """A task produced outside xrsched: it has no ``run()`` and only its outputs are checked."""

    run = None  # type: ignore[assignment]


class WrapperTask(Task):
    """A task that only groups others: complete when all of its requirements are."""

    def complete(self) -> bool:
        """True when every required task is complete."""
        return all(dep.complete() for dep in self.deps())


def is_external(task: Task) -> bool:
    """Whether a worker cannot run ``task`` itself (``run`` is None, as on ExternalTask)."""
    return getattr(task, "run", None) is None
