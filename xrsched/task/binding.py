"""Binding constructor arguments to a task class's parameters, with what it needs worked out once
per class (a :class:`ParamPlan`) instead of once per task built.

A big graph builds tens of thousands of tasks before its first one can run (a fan-in's
``requires()`` makes all its leaves), so the per-task cost matters: the plan holds the parameter
names, defaults, positional names and the serializers of the parameters that make the task id.
The results (values, errors and their order) are those of the straightforward loop in
``Task.get_param_values``, which stays the reference for classes that override it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .parameters import (
    NO_VALUE,
    BadParameterValue,
    DuplicateParameterException,
    MissingParameterException,
    Parameter,
    ParameterVisibility,
    UnknownParameterException,
)


@dataclass(frozen=True)
class ParamPlan:
    """What binding and naming a task of one class needs, derived from its declared parameters."""

    #: ``(name, parameter, normalized default or NO_VALUE)`` in declaration order.
    slots: tuple[tuple[str, Parameter[Any], Any], ...]
    names: frozenset[str]
    positional: tuple[str, ...]
    #: ``(name, serialize)`` of the significant public parameters: the ones in the task id.
    id_params: tuple[tuple[str, Callable[[Any], str]], ...]
    #: ``(name, serialize)`` of the parameters the scheduler sees (all but the private ones).
    shown_params: tuple[tuple[str, Callable[[Any], str]], ...]
    #: ``param_visibilities`` of the shown parameters.
    visibilities: Mapping[str, int]
    batch_names: tuple[str, ...]
    #: Made from an overridden ``get_params()``: to be checked against its answer at each use.
    asked: bool = False

    def matches(self, params: tuple[tuple[str, Parameter[Any]], ...] | list[tuple[str, Parameter[Any]]]) -> bool:
        """Whether the plan was made from these very ``(name, parameter)`` pairs, in this order."""
        slots = self.slots
        return len(params) == len(slots) and all(
            name == slot[0] and param is slot[1] for (name, param), slot in zip(params, slots, strict=True)
        )


def make_plan(params: tuple[tuple[str, Parameter[Any]], ...], *, asked: bool = False) -> ParamPlan:
    """The plan of a class whose parameters (``get_params()``) are ``params``; ``asked`` marks a
    ``get_params()`` that the class overrides."""
    shown = [(name, p) for name, p in params if p.visibility != ParameterVisibility.PRIVATE]
    return ParamPlan(
        slots=tuple((name, p, p._default) for name, p in params),
        names=frozenset(name for name, _ in params),
        positional=tuple(name for name, p in params if p.positional),
        id_params=tuple(
            (name, p.serialize) for name, p in params if p.significant and p.visibility == ParameterVisibility.PUBLIC
        ),
        shown_params=tuple((name, p.serialize) for name, p in shown),
        visibilities={name: int(p.visibility) for name, p in shown},
        batch_names=tuple(name for name, p in params if p.batchable),
        asked=asked,
    )


def bind(
    family: Callable[[], str], plan: ParamPlan, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    """Match constructor arguments to the plan's parameters, fill defaults and normalize every
    value; ``family()`` names the class in error messages."""
    given: Mapping[str, Any] = kwargs
    if args:
        positional = plan.positional
        if len(args) > len(positional):
            raise UnknownParameterException(
                f"{family()} takes {len(positional)} positional parameter(s)"
                f" ({', '.join(positional) or 'none'}) but {len(args)} were given"
            )
        given = dict(zip(positional, args, strict=False))
        for name, value in kwargs.items():
            if name in given:
                raise DuplicateParameterException(f"{family()}: parameter {name!r} given twice")
            _check_known(family, plan, name)
            given[name] = value
    else:
        for name in kwargs:
            _check_known(family, plan, name)
    if len(given) < len(plan.slots):
        missing = [name for name, _, default in plan.slots if default is NO_VALUE and name not in given]
        if missing:
            raise MissingParameterException(f"{family()} is missing parameter(s): {', '.join(missing)}")
    values = []
    for name, param, default in plan.slots:
        if name not in given:
            values.append((name, default))  # normalized when the class was made
            continue
        try:
            values.append((name, param.normalize(given[name])))
        except (TypeError, ValueError) as exc:
            raise BadParameterValue(f"{family()}.{name}: {exc}") from exc
    return values


def _check_known(family: Callable[[], str], plan: ParamPlan, name: str) -> None:
    if name not in plan.names:
        names = ", ".join(slot[0] for slot in plan.slots) or "none"
        raise UnknownParameterException(f"{family()} has no parameter {name!r} (it has: {names})")


class _Handoff(threading.local):
    """Values the metaclass bound for the task being built in this thread, for its ``__init__``."""

    pending: tuple[type, tuple[Any, ...], Mapping[str, Any], list[tuple[str, Any]]] | None = None


_handoff = _Handoff()


def hand_over(
    cls: type, args: tuple[Any, ...], kwargs: Mapping[str, Any], values: list[tuple[str, Any]] | None
) -> None:
    """Leave ``values`` (bound from ``args`` and ``kwargs``) for the ``__init__`` of the ``cls``
    about to be built in this thread; None takes them back."""
    _handoff.pending = None if values is None else (cls, args, kwargs, values)


def handed_over(cls: type, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[tuple[str, Any]] | None:
    """The values left by :func:`hand_over` if they were bound from these very arguments (the same
    objects: an ``__init__`` that changed them gets None and binds them again)."""
    pending = _handoff.pending
    if pending is None or pending[0] is not cls:
        return None
    _, before, before_kwargs, values = pending
    if len(args) != len(before) or len(kwargs) != len(before_kwargs):
        return None
    if any(a is not b for a, b in zip(args, before, strict=True)):
        return None
    for name, value in kwargs.items():
        if before_kwargs.get(name, NO_VALUE) is not value:
            return None
    return values
