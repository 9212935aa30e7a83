"""Argument checks for the core's public methods: typed errors that name the argument."""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import BadValue
from .states import PENDING, REPORTABLE_STATUSES, SUSPENDED, TASK_STATUSES

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Longest task id, worker id, family or resource name accepted (bytes of text, not a limit on params).
MAX_ID_LENGTH = 4096


def identifier(name: str, value: Any) -> str:
    """A non-empty string such as a task or worker id."""
    if not isinstance(value, str) or not value:
        raise BadValue(f"{name}: expected a non-empty string, got {_kind(value)}")
    if len(value) > MAX_ID_LENGTH:
        raise BadValue(f"{name}: longer than {MAX_ID_LENGTH} characters")
    if not value.isprintable() and _CONTROL.search(value):
        raise BadValue(f"{name}: control characters are not allowed")
    return value


def optional_text(name: str, value: Any) -> str | None:
    """A string or None."""
    if value is None or isinstance(value, str):
        return value
    raise BadValue(f"{name}: expected a string, got {_kind(value)}")


def identifiers(name: str, value: Any) -> list[str]:
    """A list of task ids."""
    if not isinstance(value, list | tuple | set | frozenset):
        raise BadValue(f"{name}: expected a list of task ids, got {_kind(value)}")
    items = list(value)
    for item in items:
        identifier(name, item)
    return items


def number(name: str, value: Any, *, minimum: float | None = None) -> float:
    """A finite int or float (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadValue(f"{name}: expected a finite number, got {_kind(value)}")
    if minimum is not None and value < minimum:
        raise BadValue(f"{name}: must be at least {minimum:g}, got {value!r}")
    return value


def whole(name: str, value: Any, *, minimum: int | None = None) -> int:
    """An int (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"{name}: expected an integer, got {_kind(value)}")
    if minimum is not None and value < minimum:
        raise BadValue(f"{name}: must be at least {minimum}, got {value}")
    return value


def resources(name: str, value: Any) -> dict[str, int]:
    """A mapping of resource name to a non-negative integer amount."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadValue(f"{name}: expected a struct of resource name to amount, got {_kind(value)}")
    out: dict[str, int] = {}
    for key, amount in value.items():
        identifier(f"{name} key", key)
        out[key] = whole(f"{name}[{key!r}]", amount, minimum=0)
    return out


def mapping(name: str, value: Any) -> dict[str, Any]:
    """A struct with string keys, or None as an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise BadValue(f"{name}: expected a struct with string keys, got {_kind(value)}")
    return value


def status(name: str, value: Any) -> str:
    """A status a client may report; SUSPENDED becomes PENDING."""
    if not isinstance(value, str) or value not in REPORTABLE_STATUSES:
        allowed = ", ".join(sorted(REPORTABLE_STATUSES))
        raise BadValue(f"{name}: unknown status {value!r} (expected one of {allowed})")
    return PENDING if value == SUSPENDED else value


def status_filter(name: str, value: Any) -> str:
    """A status to filter a listing by, or '' for all."""
    if value in ("", None):
        return ""
    if not isinstance(value, str) or value not in TASK_STATUSES:
        raise BadValue(f"{name}: unknown status {value!r}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a non-finite number" if not math.isfinite(value) else "a number"
    if isinstance(value, dict):
        return "a struct"
    if isinstance(value, list | tuple):
        return "an array"
    return "a value of another type"
