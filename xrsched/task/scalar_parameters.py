"""Parameters of one plain value: strings, numbers, booleans, choices, enums, paths, task classes."""

from __future__ import annotations

import enum
import math
import operator
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .parameters import NO_VALUE, OptionalMixin, Parameter, TypedParameter
from .registry import Register, task_class

if TYPE_CHECKING:
    from .base import Task


class StrParameter(TypedParameter[str]):
    """A string; anything else is refused."""

    kind = (str,)


class IntParameter(TypedParameter[int]):
    """An integer (not a bool)."""

    kind = (int,)

    def parse(self, text: str) -> int:
        return int(text)


class FloatParameter(TypedParameter[float]):
    """A float; ints are accepted and converted, NaN is refused (it never equals itself)."""

    kind = (float, int)

    def parse(self, text: str) -> float:
        return self.convert(float(text))

    def convert(self, value: Any) -> float:
        if math.isnan(value):
            raise ValueError("NaN is not a usable parameter value")
        return float(value)

    def serialize(self, value: float) -> str:
        return repr(float(value))


class BoolParameter(TypedParameter[bool]):
    """A bool, ``False`` unless declared otherwise; parses ``true``/``false`` in any case."""

    kind = (bool,)

    def __init__(self, default: Any = False, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)

    def parse(self, text: str) -> bool:
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ValueError(f"cannot read {text!r} as a boolean (use true or false)")


class NumericalParameter(TypedParameter[Any]):
    """A number of ``var_type`` within ``[min_value, max_value)`` (Luigi's default comparisons)."""

    def __init__(
        self,
        default: Any = NO_VALUE,
        *,
        var_type: type = int,
        min_value: float,
        max_value: float,
        left_op: Callable[[Any, Any], bool] = operator.le,
        right_op: Callable[[Any, Any], bool] = operator.lt,
        **kwargs: Any,
    ) -> None:
        self.var_type, self.kind = var_type, (var_type, int) if var_type is float else (var_type,)
        self.min_value, self.max_value = min_value, max_value
        self.left_op, self.right_op = left_op, right_op
        super().__init__(default, **kwargs)

    def parse(self, text: str) -> Any:
        return self.convert(self.var_type(text))

    def convert(self, value: Any) -> Any:
        value = self.var_type(value)
        if not (self.left_op(self.min_value, value) and self.right_op(value, self.max_value)):
            raise ValueError(f"{value!r} is outside the range {self.min_value}..{self.max_value}")
        return value


class ChoiceParameter(TypedParameter[Any]):
    """One of a fixed set of ``choices`` of ``var_type``."""

    def __init__(self, default: Any = NO_VALUE, *, choices: Iterable[Any], var_type: type = str, **kwargs: Any) -> None:
        self.var_type, self.kind = var_type, (var_type,)
        self.choices = tuple(choices)
        super().__init__(default, **kwargs)

    def parse(self, text: str) -> Any:
        return self.convert(self.var_type(text))

    def convert(self, value: Any) -> Any:
        if value not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, self.choices))}")
        return value


E = TypeVar("E", bound=enum.Enum)


class EnumParameter(TypedParameter[E]):
    """A member of ``enum``, written by name on the command line."""

    def __init__(self, default: Any = NO_VALUE, *, enum: type[E], **kwargs: Any) -> None:
        self.enum, self.kind = enum, (enum,)
        super().__init__(default, **kwargs)

    def parse(self, text: str) -> E:
        try:
            return self.enum[text]
        except KeyError:
            names = ", ".join(self.enum.__members__)
            raise ValueError(f"{text!r} is not a member of {self.enum.__name__} ({names})") from None

    def serialize(self, value: E) -> str:
        return value.name


class EnumListParameter(Parameter[tuple[E, ...]]):
    """A tuple of members of ``enum``, written as comma-separated names."""

    def __init__(self, default: Any = NO_VALUE, *, enum: type[E], **kwargs: Any) -> None:
        self.member = EnumParameter(enum=enum)
        super().__init__(default, **kwargs)

    def parse(self, text: str) -> tuple[E, ...]:
        return tuple(self.member.parse(name) for name in text.split(",") if name)

    def serialize(self, value: tuple[E, ...]) -> str:
        return ",".join(member.name for member in value)

    def normalize(self, value: Any) -> tuple[E, ...]:
        if isinstance(value, str):
            return self.parse(value)
        return tuple(self.member.normalize(item) for item in value)


class PathParameter(TypedParameter[Path]):
    """A filesystem path; ``absolute=True`` resolves it, ``exists=True`` requires it to exist."""

    kind = (str, Path)

    def __init__(self, default: Any = NO_VALUE, *, absolute: bool = False, exists: bool = False, **kwargs: Any) -> None:
        self.absolute, self.exists = absolute, exists
        super().__init__(default, **kwargs)

    def parse(self, text: str) -> Path:
        return self.convert(text)

    def convert(self, value: Any) -> Path:
        path = Path(value).absolute() if self.absolute else Path(value)
        if self.exists and not path.exists():
            raise ValueError(f"path {str(path)!r} does not exist")
        return path


class TaskParameter(Parameter["type[Task]"]):
    """A task class, written as its family name."""

    def parse(self, text: str) -> type[Task]:
        return task_class(text)  # type: ignore[return-value]

    def serialize(self, value: type[Task]) -> str:
        return value.task_family  # type: ignore[return-value]

    def normalize(self, value: Any) -> type[Task]:
        if isinstance(value, str):
            return self.parse(value)
        if not isinstance(value, Register):  # every Task subclass is made by Register
            raise TypeError(f"expected a Task subclass, got {value!r}")
        return value


class OptionalStrParameter(OptionalMixin, StrParameter):
    """A string or None; anything else is refused."""


class OptionalIntParameter(OptionalMixin, IntParameter):
    """An integer or None."""


class OptionalFloatParameter(OptionalMixin, FloatParameter):
    """A float or None."""


class OptionalBoolParameter(OptionalMixin, BoolParameter):
    """A bool or None."""


class OptionalNumericalParameter(OptionalMixin, NumericalParameter):
    """A bounded number or None."""


class OptionalChoiceParameter(OptionalMixin, ChoiceParameter):
    """One of ``choices`` or None."""


class OptionalPathParameter(OptionalMixin, PathParameter):
    """A path or None."""
