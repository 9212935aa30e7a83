"""The parameter machinery: the ``Parameter`` descriptor, visibilities and parameter errors.

Every parameter turns a command-line string into a value (``parse``), a value back into a
string (``serialize``, which feeds the task id) and checks or converts values handed to the
constructor (``normalize``: lists become tuples and dicts become ``FrozenDict``, so tasks
hash). A string given to a non-string parameter is parsed as if it came from the command line.
Concrete types live in ``scalar_parameters``, ``time_parameters`` and ``json_parameters``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any, Generic, Self, TypeVar, overload

T = TypeVar("T")


class ParameterVisibility(enum.IntEnum):
    """Who sees a parameter: sent to the scheduler as ``param_visibilities``."""

    PUBLIC = 0  # in the task id and shown everywhere
    HIDDEN = 1  # sent to the scheduler but not part of the task id; UIs hide it
    PRIVATE = 2  # never leaves the worker


class ParameterException(Exception):
    """Base of every parameter error (Luigi's name)."""


class MissingParameterException(ParameterException, TypeError):
    """A parameter without a default got no value."""


class UnknownParameterException(ParameterException, TypeError):
    """A value was given for a parameter the task does not declare, or too many positional ones."""


class DuplicateParameterException(ParameterException, TypeError):
    """A parameter was given both positionally and by keyword."""


class BadParameterValue(ParameterException, TypeError, ValueError):
    """A value (or string) could not be turned into the parameter's type."""


MissingParameter = MissingParameterException
UnknownParameter = UnknownParameterException
DuplicateParameter = DuplicateParameterException


class _NoValue:
    """Marker for "no default was declared"."""

    def __repr__(self) -> str:
        return "<no default>"


NO_VALUE: Any = _NoValue()


class Parameter(Generic[T]):
    """A task parameter; the base class takes any value and serializes it with ``str()``.

    ``significant=False`` keeps a parameter out of the task id; ``visibility`` controls what the
    scheduler sees; ``batch_method`` (e.g. ``max``) combines values when the scheduler batches
    tasks; ``positional=False`` forbids passing it positionally.
    """

    def __init__(
        self,
        default: Any = NO_VALUE,
        *,
        significant: bool = True,
        description: str | None = None,
        visibility: ParameterVisibility | int = ParameterVisibility.PUBLIC,
        positional: bool = True,
        batch_method: Callable[[Iterable[T]], T] | None = None,
    ) -> None:
        self._default = default
        self.significant = significant
        self.description = description
        self.visibility = ParameterVisibility(visibility)
        self.positional = positional
        self.batch_method = batch_method
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def normalize_default(self, owner: type) -> None:
        """Check and canonicalize the declared default; called once the owning class exists."""
        if self._default is not NO_VALUE:
            try:
                self._default = self.normalize(self._default)
            except (TypeError, ValueError) as exc:
                raise BadParameterValue(f"{owner.__name__}.{self.name}: bad default: {exc}") from exc

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Self | T:
        # Values live in the instance __dict__ and shadow this non-data descriptor.
        if instance is None:
            return self
        raise AttributeError(f"parameter {self.name!r} has no value yet")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, default={self._default!r})"

    @property
    def has_default(self) -> bool:
        """Whether the parameter may be omitted."""
        return self._default is not NO_VALUE

    @property
    def default(self) -> T:
        """The normalized default; raises MissingParameterException when there is none."""
        if self._default is NO_VALUE:
            raise MissingParameterException(f"parameter {self.name!r} has no default")
        return self._default

    @property
    def batchable(self) -> bool:
        """Whether the scheduler may batch tasks that differ in this parameter."""
        return self.batch_method is not None

    def parse(self, text: str) -> T:
        """The value a command-line string stands for."""
        return text  # type: ignore[return-value]

    def serialize(self, value: T) -> str:
        """The string form of a value; ``parse(serialize(v)) == v`` for every typed parameter."""
        return str(value)

    def normalize(self, value: Any) -> T:
        """Check and canonicalize a constructor value (strings are parsed for typed parameters)."""
        return value

    def parse_list(self, texts: Iterable[str]) -> T:
        """Combine the values of a batch of tasks into one with ``batch_method``."""
        if self.batch_method is None:
            raise ValueError(f"parameter {self.name!r} is not batchable")
        return self.batch_method(self.parse(text) for text in texts)


class TypedParameter(Parameter[T]):
    """A parameter whose values are instances of ``kind``; strings given to the constructor are parsed.

    Subclass it for a custom type: set ``kind``, implement ``parse`` and ``serialize``, and
    ``convert`` when accepted values need canonicalizing.
    """

    kind: tuple[type, ...] = ()

    def normalize(self, value: Any) -> T:
        if type(value) in self.kind:  # exactly an accepted type: what the checks below would accept
            return self.convert(value)
        if isinstance(value, str) and str not in self.kind:
            return self.parse(value)
        if isinstance(value, bool) and bool not in self.kind:
            raise TypeError(f"expected {self._kind_name()}, got bool")
        if not isinstance(value, self.kind):
            raise TypeError(f"expected {self._kind_name()}, got {type(value).__name__}")
        return self.convert(value)

    def convert(self, value: Any) -> T:
        """Turn an accepted value into the canonical type."""
        return value

    def _kind_name(self) -> str:
        return " or ".join(k.__name__ for k in self.kind)


class OptionalMixin:
    """Makes a parameter also accept ``None`` (written as the empty string); the default is None."""

    def __init__(self, default: Any = None, **kwargs: Any) -> None:
        super().__init__(default, **kwargs)  # type: ignore[call-arg]

    def parse(self, text: str) -> Any:
        return None if text == "" else super().parse(text)  # type: ignore[misc]

    def serialize(self, value: Any) -> str:
        return "" if value is None else super().serialize(value)  # type: ignore[misc]

    def normalize(self, value: Any) -> Any:
        return None if value is None else super().normalize(value)  # type: ignore[misc]


class OptionalParameter(OptionalMixin, Parameter[str | None]):
    """A string or None."""
