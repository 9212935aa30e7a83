"""Bytes in, bytes out: one XML-RPC request body to one methodResponse.

The transport decodes the body (:func:`xrsched.rpc.limits.decode_body`), fills a
:class:`CallContext` and calls :meth:`Dispatcher.dispatch`, which always answers with a
methodResponse (a value or a fault) and never raises for anything a client sends.

Every call is authorized (``authorize(ctx, method)`` raises to refuse, e.g. ``Forbidden``)
and audited once (``audit(ctx, method, outcome, duration_s)`` with outcome ``"ok"`` or the
fault code). ``system.multicall`` is audited itself and once per entry; each entry is
authorized on its own. A request that does not parse is audited under ``(invalid)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xrsched.rpc.faults import INVALID_REQUEST, ArgumentError, ProtocolError, fault_for, printable
from xrsched.rpc.limits import DEFAULT_LIMITS, RequestLimits
from xrsched.rpc.marshal import dump_fault, dump_value, fault_value_xml, response_from_value_xml
from xrsched.rpc.parse import parse_call
from xrsched.rpc.registry import MethodEntry, MethodTable
from xrsched.rpc.system import system_table

MULTICALL = "system.multicall"
UNPARSED = "(invalid)"
_log = logging.getLogger("xrsched.server")


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who is calling, as the transport knows it; passed to the authorize and audit hooks.

    ``identity`` is opaque here (whatever authentication produced); ``headers`` is the small
    allow-listed subset the transport chose to keep (never credentials).
    """

    peer: tuple[str, int] | None = None
    identity: object | None = None
    request_id: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


AuthorizeHook = Callable[[CallContext, str], None]
AuditHook = Callable[[CallContext, str, "str | int", float], None]


class Dispatcher:
    """Parses, routes, checks, runs and marshals XML-RPC calls against a :class:`MethodTable`."""

    def __init__(
        self,
        table: MethodTable,
        limits: RequestLimits = DEFAULT_LIMITS,
        *,
        authorize: AuthorizeHook | None = None,
        audit: AuditHook | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._table = table
        self._limits = limits
        self._authorize = authorize
        self._audit_hook = audit
        self._clock = clock
        self._system = system_table(self.lookup, self.method_names)
        clash = [name for name in self._system.names() if name in table]
        if clash:
            raise ValueError(f"these names are reserved for the dispatcher: {', '.join(clash)}")

    def lookup(self, name: str) -> MethodEntry:
        """The entry for ``name`` (system methods first); -32601 when there is none."""
        if name in self._system:
            return self._system.lookup(name)
        return self._table.lookup(name)

    def method_names(self) -> list[str]:
        """Every callable name, sorted."""
        return sorted(self._system.names() + self._table.names())

    def dispatch(self, body: bytes, ctx: CallContext) -> bytes:
        """Answer one request body with a methodResponse; never raises for bad input."""
        started = self._clock()
        try:
            if len(body) > self._limits.max_decompressed_bytes:
                raise ProtocolError(INVALID_REQUEST, "invalid request: body over the size limit")
            method, params = parse_call(body, self._limits)
        except Exception as exc:
            return self._refuse(ctx, UNPARSED, exc, started)
        if method == MULTICALL:
            return self._multicall(params, ctx, started)
        try:
            response = response_from_value_xml(self._run(method, params, ctx))
        except Exception as exc:
            return self._refuse(ctx, method, exc, started)
        self._audit(ctx, method, "ok", started)
        return response

    def _run(self, method: str, params: tuple[Any, ...], ctx: CallContext) -> str:
        entry = self.lookup(method)
        if self._authorize is not None:
            self._authorize(ctx, method)
        return dump_value(entry.invoke(params))

    def _multicall(self, params: tuple[Any, ...], ctx: CallContext, started: float) -> bytes:
        try:
            if self._authorize is not None:
                self._authorize(ctx, MULTICALL)
            calls = self._check_multicall(params)
        except Exception as exc:
            return self._refuse(ctx, MULTICALL, exc, started)
        parts = ["<value><array><data>"]
        parts.extend(self._multicall_entry(call, ctx) for call in calls)
        parts.append("</data></array></value>")
        self._audit(ctx, MULTICALL, "ok", started)
        return response_from_value_xml("".join(parts))

    def _check_multicall(self, params: tuple[Any, ...]) -> list[Any]:
        if len(params) != 1 or type(params[0]) is not list:
            raise ArgumentError(f"{MULTICALL}: parameter 'calls' expects an array of call structs")
        calls: list[Any] = params[0]
        limit = self._limits.max_multicall
        if len(calls) > limit:
            raise ProtocolError(INVALID_REQUEST, f"invalid request: more than {limit} calls in a multicall")
        for call in calls:
            if type(call) is dict and call.get("methodName") == MULTICALL:
                raise ProtocolError(INVALID_REQUEST, "invalid request: system.multicall cannot be nested")
        return calls

    def _multicall_entry(self, call: Any, ctx: CallContext) -> str:
        started = self._clock()
        method = UNPARSED
        try:
            if type(call) is not dict or type(call.get("methodName")) is not str:
                raise ProtocolError(INVALID_REQUEST, "invalid request: a call needs a string 'methodName'")
            method = call["methodName"]
            params = call.get("params", [])
            if type(params) is not list:
                raise ProtocolError(INVALID_REQUEST, "invalid request: a call's 'params' must be an array")
            value_xml = f"<value><array><data>{self._run(method, tuple(params), ctx)}</data></array></value>"
        except Exception as exc:
            code, text = fault_for(exc, method=method)
            self._audit(ctx, method, code, started)
            return fault_value_xml(code, text)
        self._audit(ctx, method, "ok", started)
        return value_xml

    def _refuse(self, ctx: CallContext, method: str, exc: Exception, started: float) -> bytes:
        code, text = fault_for(exc, method=method)
        self._audit(ctx, method, code, started)
        return dump_fault(code, text)

    def _audit(self, ctx: CallContext, method: str, outcome: str | int, started: float) -> None:
        if self._audit_hook is None:
            return
        label = method if method in self._table or method in self._system else printable(method, 100)
        try:
            self._audit_hook(ctx, label, outcome, self._clock() - started)
        except Exception:
            # The reply is already decided; a broken audit sink must not turn it into a fault.
            _log.error("audit hook failed for %s", label, exc_info=True)
