"""Compile type hints into fast argument checkers and XML-RPC type names.

A checker is ``check(value) -> value`` (possibly converted) raising :class:`Mismatch`
with a description of what was expected. Hints are compiled once, at registration.

Conversions are deliberately few (DESIGN §2): an int where a float is expected becomes a
float; an integral float where an int is expected becomes an int; int ``0``/``1`` where a
bool is expected becomes a bool (Perl and other clients without a boolean type send
that); an array where a tuple/set is expected becomes one. ``str`` accepts only strings.
"""

from __future__ import annotations

import enum
import types
import typing
from collections import abc
from collections.abc import Callable
from typing import Any

Checker = Callable[[Any], Any]

_GOT = {str: "string", int: "integer", bool: "boolean", float: "double", bytes: "base64",
        list: "array", dict: "struct", type(None): "nil"}  # fmt: skip
_XMLRPC_NAMES = {bool: "boolean", str: "string", int: "int", float: "double", bytes: "base64",
                 list: "array", tuple: "array", set: "array", frozenset: "array", dict: "struct"}  # fmt: skip


class Mismatch(Exception):
    """A value does not fit a hint; ``path`` locates it inside nested arrays/structs."""

    def __init__(self, expected: str, got: Any, path: str = "") -> None:
        super().__init__(expected)
        self.expected = expected
        self.got = got
        self.path = path

    def describe(self) -> str:
        """``expects X, got Y`` text (with the location, when nested)."""
        where = f" {self.path}" if self.path else ""
        return f"{where} expects {self.expected}, got {_GOT.get(type(self.got)) or type(self.got).__name__}"


def _identity(value: Any) -> Any:
    return value


def _simple(kind: type, expected: str) -> Checker:
    def check(value: Any) -> Any:
        if type(value) is kind:
            return value
        raise Mismatch(expected, value)

    return check


def _check_int(value: Any) -> int:
    kind = type(value)
    if kind is int:
        return value
    if kind is float and value.is_integer() and abs(value) < 2**63:
        return int(value)
    raise Mismatch("an integer", value)


def _check_float(value: Any) -> float:
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            pass
    raise Mismatch("a number", value)


def _check_bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise Mismatch("a boolean", value)


_check_none = _simple(type(None), "nil")
_PLAIN: dict[Any, tuple[Checker, str]] = {
    str: (_simple(str, "a string"), "a string"),
    bytes: (_simple(bytes, "base64 data"), "base64 data"),
    int: (_check_int, "an integer"),
    float: (_check_float, "a number"),
    bool: (_check_bool, "a boolean"),
    type(None): (_check_none, "nil"),
    None: (_check_none, "nil"),
}
_PLURALS = {"a string": "strings", "an integer": "integers", "a number": "numbers",
            "a boolean": "booleans", "base64 data": "base64 values"}  # fmt: skip


def _plural(description: str) -> str:
    return _PLURALS.get(description, f"items that are {description}")


def _array(item: Checker, item_desc: str, convert: Callable[[list[Any]], Any]) -> tuple[Checker, str]:
    expected = f"an array of {_plural(item_desc)}"

    def check(value: Any) -> Any:
        if type(value) is not list:
            raise Mismatch(expected, value)
        if item is not _identity:
            try:
                value = [item(x) for x in value]
            except Mismatch:
                for index, x in enumerate(value):
                    try:
                        item(x)
                    except Mismatch as exc:
                        raise Mismatch(exc.expected, exc.got, f"item [{index}]{exc.path}") from None
                raise
        return convert(value)

    return check, expected


def _struct(item: Checker, item_desc: str) -> tuple[Checker, str]:
    expected = "a struct" if item is _identity else f"a struct of {_plural(item_desc)}"

    def check(value: Any) -> Any:
        if type(value) is not dict:
            raise Mismatch(expected, value)
        if item is _identity:
            return value
        out = {}
        for key, x in value.items():
            try:
                out[key] = item(x)
            except Mismatch as exc:
                raise Mismatch(exc.expected, exc.got, f"member {key[:40]!r}{exc.path}") from None
        return out

    return check, expected


def _union(options: list[tuple[Checker, str]]) -> tuple[Checker, str]:
    descs = [d for _, d in options if d != "nil"]
    nil_ok = len(descs) < len(options)
    expected = " or ".join(descs) + (" (or nil)" if nil_ok else "") if descs else "nil"
    checkers = [c for c, _ in options]
    if nil_ok and len(options) == 2:  # Optional[X]: keep X's detailed message (item paths)
        inner = next(c for c, d in options if d != "nil")

        def check_optional(value: Any) -> Any:
            if value is None:
                return None
            try:
                return inner(value)
            except Mismatch as exc:
                if exc.path:
                    raise
                raise Mismatch(expected, value) from None

        return check_optional, expected

    def check(value: Any) -> Any:
        for candidate in checkers:
            try:
                return candidate(value)
            except Mismatch:
                continue
        raise Mismatch(expected, value)

    return check, expected


def _choices(allowed: dict[Any, Any], expected: str) -> tuple[Checker, str]:
    def check(value: Any) -> Any:
        try:
            return allowed[value]
        except (KeyError, TypeError):
            raise Mismatch(expected, value) from None

    return check, expected


def compile_hint(hint: Any) -> tuple[Checker, str]:
    """Return ``(checker, description)`` for a type hint; unknown hints accept anything."""
    if hint is Any or hint is object:
        return _identity, "any value"
    plain = _PLAIN.get(hint)
    if plain is not None:
        return plain
    supertype = getattr(hint, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return compile_hint(supertype)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _union([compile_hint(a) for a in args])
    if origin is typing.Literal:
        shown = ", ".join(repr(a) for a in args[:10])
        return _choices({a: a for a in args}, f"one of {shown}")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        shown = ", ".join(repr(m.value) for m in list(hint)[:10])
        return _choices({m.value: m for m in hint}, f"one of {shown}")
    if isinstance(hint, type) and typing.is_typeddict(hint):
        return _struct(_identity, "")
    container = origin or hint
    if container in (list, abc.Sequence, abc.Iterable, abc.Collection, abc.MutableSequence):
        item, desc = compile_hint(args[0]) if args else (_identity, "")
        return _array(item, desc, _identity)
    if container is tuple:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            item, desc = compile_hint(args[0]) if args else (_identity, "")
            return _array(item, desc, tuple)
        return _array(_identity, "", tuple)  # fixed-shape tuples: only the container is checked
    if container in (set, frozenset, abc.Set, abc.MutableSet):
        item, desc = compile_hint(args[0]) if args else (_identity, "")
        convert: Callable[[list[Any]], Any] = frozenset if container is frozenset else set
        return _array(item, desc, convert)
    if container in (dict, abc.Mapping, abc.MutableMapping):
        item, desc = compile_hint(args[1]) if len(args) == 2 else (_identity, "")
        return _struct(item, desc)
    return _identity, "any value"


def xmlrpc_type_name(hint: Any) -> str:
    """The XML-RPC type name introspection reports for a hint (``undef`` when it varies)."""
    if hint is None or hint is type(None):
        return "boolean"  # methods that return nothing answer ``true``
    supertype = getattr(hint, "__supertype__", None)
    if supertype is not None:
        return xmlrpc_type_name(supertype)
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        names = {xmlrpc_type_name(a) for a in typing.get_args(hint) if a is not type(None)}
        return names.pop() if len(names) == 1 else "undef"
    if origin is typing.Literal or (isinstance(hint, type) and issubclass(hint, enum.Enum)):
        choices = typing.get_args(hint) if origin is typing.Literal else [m.value for m in hint]
        names = {_XMLRPC_NAMES.get(type(c), "undef") for c in choices}
        return names.pop() if len(names) == 1 else "undef"
    container = origin or hint
    if isinstance(container, type):
        for kind, name in _XMLRPC_NAMES.items():
            if issubclass(container, kind):
                return name
        if issubclass(container, abc.Mapping):
            return "struct"
        if issubclass(container, abc.Iterable):
            return "array"
    return "undef"
