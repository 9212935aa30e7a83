"""List, tuple and dict parameters, written as JSON and held frozen so tasks stay hashable."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

from .parameters import OptionalMixin, Parameter


class FrozenDict(Mapping[str, Any]):
    """An immutable, hashable mapping: the value of a ``DictParameter``.

    Equality ignores order, like ``dict``; the serialized form sorts keys, so equal values give
    equal task ids.
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._data: dict[str, Any] = dict(*args, **kwargs)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"

    def thaw(self) -> dict[str, Any]:
        """A plain, mutable, recursively thawed copy."""
        return thaw(self)


def freeze(value: Any, where: str = "value") -> Any:
    """``value`` with lists/tuples made tuples and mappings made FrozenDicts, all the way down.

    Refuses what JSON cannot carry faithfully (sets, non-string keys, arbitrary objects), so
    ``parse(serialize(v)) == v`` always holds.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError(f"{where}: NaN is not a usable parameter value")
        return value
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"{where}: dict keys must be strings, got {type(key).__name__}")
        return FrozenDict((key, freeze(item, f"{where}[{key!r}]")) for key, item in value.items())
    if isinstance(value, list | tuple):
        return tuple(freeze(item, f"{where}[{i}]") for i, item in enumerate(value))
    raise TypeError(f"{where}: a {type(value).__name__} cannot be written as JSON")


def thaw(value: Any) -> Any:
    """The plain-Python (dict, list) form of a frozen value."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


def _dumps(value: Any) -> str:
    # Luigi's separators (", " and ": "), plus sorted keys so equal dicts give equal ids.
    return json.dumps(thaw(value), sort_keys=True)


class ListParameter(Parameter[tuple[Any, ...]]):
    """A JSON array, held as a tuple (nested lists become tuples, objects become FrozenDicts)."""

    def parse(self, text: str) -> tuple[Any, ...]:
        loaded = json.loads(text)
        if not isinstance(loaded, list):
            raise ValueError(f"expected a JSON array, got {text[:40]!r}")
        return freeze(loaded)

    def serialize(self, value: tuple[Any, ...]) -> str:
        return _dumps(value)

    def normalize(self, value: Any) -> tuple[Any, ...]:
        if isinstance(value, str):
            return self.parse(value)
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list or tuple, got {type(value).__name__}")
        return freeze(value)


class TupleParameter(ListParameter):
    """Same as ListParameter (Luigi keeps both names)."""


class DictParameter(Parameter[FrozenDict]):
    """A JSON object with string keys, held as a FrozenDict."""

    def parse(self, text: str) -> FrozenDict:
        loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError(f"expected a JSON object, got {text[:40]!r}")
        return freeze(loaded)

    def serialize(self, value: FrozenDict) -> str:
        return _dumps(value)

    def normalize(self, value: Any) -> FrozenDict:
        if isinstance(value, str):
            return self.parse(value)
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a dict, got {type(value).__name__}")
        return freeze(value)


class OptionalListParameter(OptionalMixin, ListParameter):
    """A list or None."""


class OptionalTupleParameter(OptionalMixin, TupleParameter):
    """A tuple or None."""


class OptionalDictParameter(OptionalMixin, DictParameter):
    """A dict or None."""
