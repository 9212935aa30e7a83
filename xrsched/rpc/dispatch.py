"""Bytes in, bytes out: the stdlib's ``SimpleXMLRPCDispatcher`` with xrsched's contract.

Each override says what it keeps that the stdlib does not (README, "How the server is built").
Who is calling travels in :data:`CALL_CONTEXT` (set by the transport around one request),
because the stdlib's hooks (``_dispatch(method, params)``) have no room for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from xmlrpc.server import SimpleXMLRPCDispatcher

from xrsched.luigi_api import jsoncodec
from xrsched.rpc.app import Peer
from xrsched.rpc.faults import INVALID_REQUEST, METHOD_NOT_FOUND, ProtocolError, fault_for, printable
from xrsched.rpc.limits import DEFAULT_LIMITS, RequestLimits
from xrsched.rpc.marshal import Rendered, dump_fault, dump_response, dump_value, fault_value_xml
from xrsched.rpc.parse import parse_call
from xrsched.rpc.registry import STARSTAR, MethodEntry, make_entry

MULTICALL = "system.multicall"
UNPARSED = "(invalid)"
_log = logging.getLogger("xrsched.server")

CAPABILITIES: dict[str, dict[str, Any]] = {
    "xmlrpc": {"specUrl": "http://www.xmlrpc.com/spec", "specVersion": 1},
    "faults_interop": {
        "specUrl": "http://xmlrpc-epi.sourceforge.net/specs/rfc.fault_codes.php",
        "specVersion": 20010516,
    },
    "introspection": {"specUrl": "http://xmlrpc-c.sourceforge.net/introspection.html", "specVersion": 1},
    "multicall": {"specUrl": "http://www.xmlrpc.com/discuss/msgReader$1208", "specVersion": 1},
    # phpxmlrpc and its clients look for the method name as the key.
    "system.multicall": {"specUrl": "http://www.xmlrpc.com/discuss/msgReader$1208", "specVersion": 1},
}
"""What ``system.getCapabilities`` answers. No ``nil`` entry: we read ``<nil/>`` but never send it."""


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who is calling, as the transport knows it; passed to the authorize and audit hooks.

    ``identity`` is opaque here (whatever authentication produced); ``headers`` is the small
    allow-listed subset the transport chose to keep (never credentials); ``via`` names the
    front end the call came through (``"dashboard"``), empty for a direct API call.
    """

    peer: Peer | None = None
    identity: object | None = None
    request_id: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    via: str = ""


#: The caller of the request being dispatched in this thread.
CALL_CONTEXT: ContextVar[CallContext] = ContextVar("xrsched_call_context")
_NOBODY = CallContext()

AuthorizeHook = Callable[[CallContext, str], None]
AuditHook = Callable[[CallContext, str, "str | int", float], None]


class Dispatcher(SimpleXMLRPCDispatcher):
    """Parses, checks, authorizes, runs, audits and marshals XML-RPC calls.

    ``authorize(ctx, method)`` raises to refuse (e.g. ``Forbidden``); ``audit(ctx, method,
    outcome, duration_s)`` gets ``"ok"`` or the fault code, once per call and once per
    multicall entry. A request that does not parse is audited under ``(invalid)``.
    """

    def __init__(
        self,
        limits: RequestLimits = DEFAULT_LIMITS,
        *,
        authorize: AuthorizeHook | None = None,
        audit: AuditHook | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(allow_none=False, encoding="utf-8", use_builtin_types=True)
        self.limits = limits
        self._authorize = authorize
        self._audit_hook = audit
        self._clock = clock
        self._entries: dict[str, MethodEntry] = {}
        self.register_introspection_functions()
        self.register_multicall_functions()
        self.register_function(self.system_getCapabilities, "system.getCapabilities")

    # -- registration ------------------------------------------------------------------------

    def register_function(self, function: Callable[..., Any] | None = None, name: str | None = None) -> Any:
        """Also check the name and compile the argument binder (the stdlib takes any name, twice)."""
        if function is None:
            return partial(self.register_function, name=name)
        name = function.__name__ if name is None else name
        if name in self.funcs:
            raise ValueError(f"method {name!r} is already registered")
        self._entries[name] = make_entry(name, function)
        self.funcs[name] = function
        return function

    def replace_function(self, function: Callable[..., Any], name: str) -> None:
        """Point a registered name at another function of the same signature (a new leader's service)."""
        if name not in self.funcs:
            raise ValueError(f"method {name!r} is not registered")
        self._entries[name] = make_entry(name, function)
        self.funcs[name] = function

    def register_instance(self, instance: object, allow_dotted_names: bool = False) -> None:
        """Refused: the stdlib would resolve any public attribute of ``instance`` as a method."""
        raise TypeError("register each method with register_function (an explicit list)")

    def dispatch(self, body: bytes, ctx: CallContext) -> bytes:
        """Answer one request body as ``ctx``'s caller; never raises for bad input."""
        token = CALL_CONTEXT.set(ctx)
        try:
            return self._marshaled_dispatch(body)
        finally:
            CALL_CONTEXT.reset(token)

    def dispatch_json(self, method: str, data: str | None, ctx: CallContext) -> tuple[int, bytes]:
        """luigid's codec (``/api/<method>``): ``data`` holds the keyword arguments as JSON;
        returns the HTTP status and the JSON body. Same checks, hooks and audit as XML-RPC."""
        token = CALL_CONTEXT.set(ctx)
        started = self._clock()
        try:
            entry = self._entry(method)  # an unknown name is 404 before its arguments are looked at
            try:
                keywords = jsoncodec.parse_arguments(data, self.limits)
            except jsoncodec.ArgumentsError as exc:
                raise ProtocolError(INVALID_REQUEST, f"{printable(method, 64)}: {exc.message}") from None
            keywords = entry.nulls_as_defaults(keywords)
            params = ({**keywords, STARSTAR: True},) if keywords else ()
            body = jsoncodec.dump_reply(self._dispatch(method, params))
        except Exception as exc:
            code, text = fault_for(exc, method=method)
            self._audit(ctx, method, code, started)
            status = jsoncodec.http_status(code)
            return status, jsoncodec.dump_error(status, code, text)
        finally:
            CALL_CONTEXT.reset(token)
        self._audit(ctx, method, "ok", started)
        return 200, body

    # -- the stdlib's hooks ------------------------------------------------------------------

    def _marshaled_dispatch(
        self, data: bytes, dispatch_method: Callable[[str, Any], Any] | None = None, path: str | None = None
    ) -> bytes:
        """Our parser, nil-free replies, audit, and faults without internals (the stdlib's
        ``loads`` is slower here and its faults carry ``type:message`` of any exception)."""
        started = self._clock()
        ctx = CALL_CONTEXT.get(_NOBODY)
        try:
            if len(data) > self.limits.max_decompressed_bytes:
                raise ProtocolError(INVALID_REQUEST, "invalid request: body over the size limit")
            method, params = parse_call(data, self.limits)
        except Exception as exc:
            return self._refuse(ctx, UNPARSED, exc, started)
        try:
            response = dump_response((dispatch_method or self._dispatch)(method, params))
        except Exception as exc:
            return self._refuse(ctx, method, exc, started)
        self._audit(ctx, method, "ok", started)
        return response

    def _dispatch(self, method: str, params: tuple[Any, ...]) -> Any:
        """Registered names only, authorized, arguments checked against the hints (the stdlib
        calls ``func(*params)`` unchecked and falls back to attribute lookup)."""
        entry = self._entry(method)
        if self._authorize is not None:
            self._authorize(CALL_CONTEXT.get(_NOBODY), method)
        return entry.invoke(params)

    # -- system.* where our contract differs ------------------------------------------------

    def system_multicall(self, calls: list) -> list[Any]:  # type: ignore[override]
        """Run several calls in one request; each result is ``[value]`` or a fault struct.

        Each entry is a struct with ``methodName`` and ``params``. Entries are authorized,
        run and audited one by one; one failing entry does not stop the others.
        """
        # The stdlib runs any number of entries, nested multicalls too, unaudited.
        limit = self.limits.max_multicall
        if len(calls) > limit:
            raise ProtocolError(INVALID_REQUEST, f"invalid request: more than {limit} calls in a multicall")
        if any(type(call) is dict and call.get("methodName") == MULTICALL for call in calls):
            raise ProtocolError(INVALID_REQUEST, "invalid request: system.multicall cannot be nested")
        ctx = CALL_CONTEXT.get(_NOBODY)
        return [self._multicall_entry(call, ctx) for call in calls]

    def system_listMethods(self) -> list[str]:
        """Return the names of every method this server offers, sorted."""
        return sorted(self.funcs)

    def system_methodHelp(self, method_name: str) -> str:
        """Return the first paragraph of a method's documentation."""
        # The stdlib answers "" for an unknown name and the whole docstring otherwise.
        return self._entry(method_name).help

    def system_methodSignature(self, method_name: str) -> list[list[str]]:
        """Return a method's signature: XML-RPC type names, the return type first."""
        return [self._entry(method_name).xmlrpc_signature()]

    def system_getCapabilities(self) -> dict[str, dict[str, Any]]:
        """Return the XML-RPC extensions this server implements, with their spec URLs."""
        return CAPABILITIES

    # -- steps -------------------------------------------------------------------------------

    def _entry(self, name: str) -> MethodEntry:
        """The compiled entry of a registered name (compiled on first use for the ``system.*``
        methods the stdlib puts straight into ``funcs``); -32601 for any other name."""
        entry = self._entries.get(name)
        if entry is None:
            func = self.funcs.get(name)
            if func is None:
                raise ProtocolError(METHOD_NOT_FOUND, f"no such method: {printable(name, 64)!r}")
            entry = self._entries[name] = make_entry(name, func)
        return entry

    def _multicall_entry(self, call: Any, ctx: CallContext) -> Rendered:
        """One entry, written at once so that a value we cannot send spoils only its own slot."""
        started = self._clock()
        method = UNPARSED
        try:
            if type(call) is not dict or type(call.get("methodName")) is not str:
                raise ProtocolError(INVALID_REQUEST, "invalid request: a call needs a string 'methodName'")
            method = call["methodName"]
            params = call.get("params", [])
            if type(params) is not list:
                raise ProtocolError(INVALID_REQUEST, "invalid request: a call's 'params' must be an array")
            value = dump_value(self._dispatch(method, tuple(params)))
        except Exception as exc:
            code, text = fault_for(exc, method=method)
            self._audit(ctx, method, code, started)
            return Rendered(fault_value_xml(code, text))
        self._audit(ctx, method, "ok", started)
        return Rendered(f"<value><array><data>{value}</data></array></value>")

    def _refuse(self, ctx: CallContext, method: str, exc: Exception, started: float) -> bytes:
        code, text = fault_for(exc, method=method)
        self._audit(ctx, method, code, started)
        return dump_fault(code, text)

    def _audit(self, ctx: CallContext, method: str, outcome: str | int, started: float) -> None:
        if self._audit_hook is None:
            return
        label = method if method in self.funcs else printable(method, 100)
        try:
            self._audit_hook(ctx, label, outcome, self._clock() - started)
        except Exception:
            # The reply is already decided; a broken audit sink must not turn it into a fault.
            _log.error("audit hook failed for %s", label, exc_info=True)
