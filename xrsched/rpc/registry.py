"""Registered methods' entries, each with its argument binder compiled from the type hints.

The dispatcher (:class:`xrsched.rpc.dispatch.Dispatcher`) maps a public name to one entry;
nothing is ever looked up as an attribute, so ``__class__.__init__`` or ``_private`` names
simply are not there (-32601). Positional and ``__starstar`` keyword arguments (DESIGN §2)
can be mixed.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xrsched.requestid import CURRENT_REQUEST_ID, REQUEST_ID_MEMBER, valid_request_id
from xrsched.rpc.faults import ArgumentError, printable
from xrsched.rpc.signature import Checker, Mismatch, compile_hint, xmlrpc_type_name

STARSTAR = "__starstar"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_NO_KEYWORDS: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    check: Checker
    required: bool
    keyword_ok: bool


class MethodEntry:
    """One registered method: its public name, callable, help text and argument binder,
    compiled once from the callable's signature and type hints."""

    def __init__(self, name: str, func: Callable[..., Any], help: str) -> None:
        self.name = name
        self.func = func
        self.help = help
        signature = inspect.signature(func)
        try:
            hints = typing.get_type_hints(func)
        except (NameError, TypeError) as exc:
            raise TypeError(f"{name}: cannot resolve the type hints of {func!r}") from exc
        self.return_hint: Any = hints.get("return", Any)
        self.positional: list[_Param] = []
        self.by_name: dict[str, _Param] = {}
        self.var_positional: Checker | None = None
        self.var_keyword: Checker | None = None
        self.param_hints: list[Any] = []
        for p in signature.parameters.values():
            check, _ = compile_hint(hints.get(p.name, Any))
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                self.var_positional = check
                continue
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                self.var_keyword = check
                continue
            param = _Param(p.name, check, p.default is inspect.Parameter.empty,
                           p.kind is not inspect.Parameter.POSITIONAL_ONLY)  # fmt: skip
            if p.kind in _POSITIONAL:
                self.positional.append(param)
                self.param_hints.append(hints.get(p.name, Any))
            if param.keyword_ok:
                self.by_name[p.name] = param
        self._index = {p.name: i for i, p in enumerate(self.positional)}
        never = len(self.positional)  # index for keyword-only parameters: never given positionally
        self._required = [(p.name, self._index.get(p.name, never)) for p in self.positional if p.required]
        self._required += [(p.name, never) for p in self.by_name.values() if p.required and p.name not in self._index]

    def invoke(self, params: tuple[Any, ...]) -> Any:
        """Bind and check ``params``, then call the method (with the call's request id, if any,
        in :data:`xrsched.requestid.CURRENT_REQUEST_ID`)."""
        args, kwargs, request_id = self._bind(params)
        token = CURRENT_REQUEST_ID.set(request_id)
        try:
            return self.func(*args, **kwargs)
        finally:
            CURRENT_REQUEST_ID.reset(token)

    def bind(self, params: tuple[Any, ...]) -> tuple[list[Any], dict[str, Any]]:
        """Return ``(args, kwargs)`` ready for the call, or raise :class:`ArgumentError`."""
        args, kwargs, request_id = self._bind(params)
        if request_id is not None:
            kwargs[REQUEST_ID_MEMBER] = request_id
        return args, kwargs

    def _bind(self, params: tuple[Any, ...]) -> tuple[list[Any], dict[str, Any], str | None]:
        """``(args, kwargs, request id)``: the steps of :meth:`bind`."""
        keywords: dict[str, Any] = _NO_KEYWORDS
        if params and type(params[-1]) is dict and params[-1].get(STARSTAR):
            keywords = params[-1]
            params = params[:-1]
        positional = self.positional
        if len(params) > len(positional) and self.var_positional is None:
            raise self._error(f"takes at most {len(positional)} positional arguments, got {len(params)}")
        args: list[Any] = []
        for param, value in zip(positional, params, strict=False):
            args.append(self._check(param.name, param.check, value))
        if len(params) > len(positional) and self.var_positional is not None:
            extra = self.var_positional
            args.extend(self._check("*args", extra, v) for v in params[len(positional) :])
        kwargs, request_id = self._bind_keywords(keywords, len(params))
        for name, index in self._required:
            if index >= len(params) and name not in kwargs:
                raise self._error(f"missing required parameter {name!r}")
        return args, kwargs, request_id

    def _bind_keywords(self, keywords: dict[str, Any], given: int) -> tuple[dict[str, Any], str | None]:
        """The checked keyword arguments of a ``__starstar`` struct (its marker and request id
        left out) and the request id; ``given`` counts the positional arguments before it."""
        kwargs: dict[str, Any] = {}
        request_id = None
        by_name = self.by_name
        for key, value in keywords.items():
            param = by_name.get(key)
            if param is not None:
                if given and self._index.get(key, given) < given:
                    raise self._error(f"parameter {key!r} given both positionally and by keyword")
                try:
                    kwargs[key] = param.check(value)
                except Mismatch as exc:
                    raise self._error(f"parameter {key!r}{exc.describe()}") from None
            elif key == STARSTAR:
                continue
            elif key == REQUEST_ID_MEMBER:
                if not valid_request_id(value):
                    raise self._error(f"{REQUEST_ID_MEMBER} must be 1-128 characters of [A-Za-z0-9._:-]")
                request_id = value
            elif self.var_keyword is not None:
                kwargs[key] = self._check(printable(key, 40), self.var_keyword, value)
            else:
                raise self._error(f"unexpected keyword argument {printable(key, 40)!r}")
        return kwargs, request_id

    def nulls_as_defaults(self, keywords: dict[str, Any]) -> dict[str, Any]:
        """``keywords`` without the ``None`` values of optional parameters that cannot take
        ``None``: luigid's clients send every parameter, null for "not given", and such a
        parameter then gets its default (as it does over XML-RPC, which has no null)."""
        kept = {}
        for key, value in keywords.items():
            param = self.by_name.get(key)
            if value is None and param is not None and not param.required and not _accepts_none(param.check):
                continue
            kept[key] = value
        return kept

    def _check(self, name: str, check: Checker, value: Any) -> Any:
        try:
            return check(value)
        except Mismatch as exc:
            raise self._error(f"parameter {name!r}{exc.describe()}") from None

    def _error(self, text: str) -> ArgumentError:
        return ArgumentError(f"{self.name}: {text}")

    def xmlrpc_signature(self) -> list[str]:
        """``[return type, param types...]`` in XML-RPC type names (positional parameters)."""
        return [xmlrpc_type_name(self.return_hint)] + [xmlrpc_type_name(h) for h in self.param_hints]


def _accepts_none(check: Checker) -> bool:
    try:
        check(None)
    except Mismatch:
        return False
    return True


def first_paragraph(doc: str | None) -> str:
    """The first paragraph of a docstring, with its lines joined."""
    text = inspect.cleandoc(doc or "").strip()
    return " ".join(text.split("\n\n", 1)[0].split())


def make_entry(name: str, func: Callable[..., Any], *, doc: str | None = None) -> MethodEntry:
    """Check a public name and compile its entry; ``doc`` overrides the docstring for help."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"not a valid public method name: {name!r}")
    if not callable(func):
        raise TypeError(f"{name}: {func!r} is not callable")
    return MethodEntry(name, func, first_paragraph(doc or func.__doc__))
