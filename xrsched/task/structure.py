"""Walking the shapes ``requires()`` and ``output()`` return: one item, or lists, tuples and dicts of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .registry import Register


def flatten(struct: Any) -> list[Any]:
    """Every leaf of a nested structure, in order; dicts contribute their values, None nothing.

    >>> flatten({"a": [1, 2], "b": (3, None)})
    [1, 2, 3]
    """
    if struct is None:
        return []
    if _is_leaf(type(struct)):
        return [struct]  # a task or a target, the usual leaves: no failed iter() (an exception) for each
    if isinstance(struct, str | bytes):
        return [struct]
    if isinstance(struct, Mapping):
        struct = struct.values()
    try:
        items = iter(struct)
    except TypeError:
        return [struct]
    leaves: list[Any] = []
    for item in items:  # a list of tasks (a fan-in's requires()) takes no call per task
        if item is not None and _is_leaf(type(item)):
            leaves.append(item)
        else:
            leaves.extend(flatten(item))
    return leaves


def _is_leaf(kind: type) -> bool:
    """Whether values of ``kind`` are leaves without trying to iterate them: tasks that are not
    iterable, and anything whose class has neither ``__iter__`` nor ``__getitem__`` (iter() would
    refuse it), such as a target. A task with ``__getitem__`` but no ``__iter__`` stays a leaf."""
    if isinstance(kind, Register):
        return not hasattr(kind, "__iter__")
    return not hasattr(kind, "__iter__") and not hasattr(kind, "__getitem__")


def getpaths(struct: Any) -> Any:
    """``struct`` with every task replaced by its ``output()``, keeping the shape.

    Dicts stay dicts, lists lists, tuples (named ones too) tuples; other iterables, such as a
    generator returned by ``requires()``, become lists.
    """
    if isinstance(type(struct), Register):
        return struct.output()
    if struct is None:
        return None
    if isinstance(struct, Mapping):
        return {key: getpaths(value) for key, value in struct.items()}
    if isinstance(struct, tuple) and hasattr(struct, "_fields"):
        return type(struct)(*(getpaths(item) for item in struct))
    if isinstance(struct, list | tuple):
        return type(struct)(getpaths(item) for item in struct)
    if isinstance(struct, str | bytes):
        raise TypeError(f"expected tasks, got the string {struct!r}")
    try:
        items = iter(struct)
    except TypeError:
        raise TypeError(f"expected tasks in a list, tuple or dict, got a {type(struct).__name__}") from None
    return [getpaths(item) for item in items]
