"""SchedulerApp: what the HTTP transport calls, joining auth, audit, dispatch and the service.

It is the one place where an authenticated HTTP request becomes a scheduler call: the
identity becomes the caller the ownership rules see, the role decides which methods may be
called, and every call, multicall entry and refused request reaches the audit log.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from xrsched import __version__
from xrsched.audit import AuditLog
from xrsched.auth import Identity, Role, TokenStore, allowed, required_role
from xrsched.core.errors import Forbidden, Unavailable
from xrsched.health import HealthReport, SchedulerCounts, StoreHealth, TlsHealth, assess, to_struct
from xrsched.rpc.app import RequestInfo, RpcResult, peer_text
from xrsched.rpc.dispatch import CallContext, Dispatcher
from xrsched.rpc.limits import RequestLimits
from xrsched.service import Caller, SchedulerService
from xrsched.service.context import CURRENT_CALLER, DEFERRED_DURABILITY

#: The identity of in-process or plain-trust deployments (no tokens file): an admin.
ANONYMOUS_ADMIN = Identity(id="anonymous", role=Role.ADMIN, kind="none")


class SchedulerApp:
    """Implements :class:`xrsched.rpc.app.Application` for the scheduler."""

    def __init__(
        self,
        service: SchedulerService,
        *,
        tokens: TokenStore | None,
        audit: AuditLog,
        limits: RequestLimits | None = None,
        audit_required: bool = False,
        tls_not_after: Callable[[], _dt.datetime | None] | None = None,
        store_health: Callable[[], StoreHealth] | None = None,
    ) -> None:
        self.service = service
        self.tokens = tokens
        self.audit = audit
        self.audit_required = audit_required
        self.limits = limits or RequestLimits()
        self.started = time.monotonic()
        self.draining = threading.Event()
        self._tls_not_after = tls_not_after
        self._store_health = store_health or (lambda: StoreHealth(kind="memory", ok=True))
        self.dispatcher = Dispatcher(self.limits, authorize=self._authorize, audit=self._audit_call)
        for name, method in service.methods().items():
            self.dispatcher.register_function(method, name)
        self.dispatcher.register_function(self.system_health, "system.health")

    # ------------------------------------------------------------ Application

    def authenticate(self, headers: Mapping[str, str], peer_cert_cn: str | None) -> object | None:
        """The caller's Identity, or None when credentials are missing, wrong or expired."""
        if self.tokens is None:
            return ANONYMOUS_ADMIN
        header = _header(headers, "authorization")
        return self.tokens.authenticate(header, peer_cert_cn, time.time())

    def handle_rpc(self, body: bytes, request: RequestInfo) -> RpcResult:
        """Dispatch as the authenticated caller; answer once its changes are durable."""
        identity = request.identity if isinstance(request.identity, Identity) else None
        caller = None
        if identity is not None and identity is not ANONYMOUS_ADMIN:
            caller = Caller(
                identity.principal,
                restricted=identity.role <= Role.WORKER,
                read_only=identity.role < Role.WORKER,
            )
        context = CallContext(
            peer=request.peer, identity=identity, request_id=request.request_id, headers=request.headers
        )
        token = CURRENT_CALLER.set(caller)
        tickets: list[int] = []
        deferred = DEFERRED_DURABILITY.set(tickets)
        try:
            answer = self.dispatcher.dispatch(body, context)
        finally:
            DEFERRED_DURABILITY.reset(deferred)
            CURRENT_CALLER.reset(token)
        if tickets:
            # Every change this request made is durable before its reply leaves (DESIGN §1).
            try:
                self.service.wait_durable("request", max(tickets))
            except Unavailable as exc:
                self.on_refused(request, 503)
                return RpcResult.error(503, exc.message)
        return RpcResult.ok(answer)

    def health(self) -> HealthReport:
        """The health document's content (DESIGN §5)."""
        problems = () if self.audit.healthy else ("audit log cannot be written",)
        not_after = self._tls_not_after() if self._tls_not_after else None
        tls = TlsHealth(enabled=self._tls_not_after is not None, not_after=not_after)
        store = self._store_health()
        status, reasons = assess(
            store, tls, _dt.datetime.now(_dt.UTC), draining=self.draining.is_set(), problems=problems
        )
        return HealthReport(
            status=status,
            version=__version__,
            uptime_seconds=time.monotonic() - self.started,
            scheduler=SchedulerCounts(**self.service.counts()),
            store=store,
            tls=tls,
            reasons=reasons,
        )

    def on_refused(self, request: RequestInfo, status: int) -> None:
        """Audit a request refused at the HTTP level (401, 405, 411, 413, 503, ...)."""
        identity = request.identity if isinstance(request.identity, Identity) else None
        self.audit.record(
            peer=peer_text(request.peer),
            identity=identity.principal if identity else None,
            role=identity.role.label if identity else None,
            method=f"{request.method} {request.path}"[:120],
            outcome=status,
            duration_ms=0.0,
            request_id=request.request_id,
        )

    # ---------------------------------------------------------------- methods

    def system_health(self) -> dict[str, Any]:
        """The health document as a struct: status, version, uptime, counts, store, tls."""
        return to_struct(self.health())

    # ------------------------------------------------------------------ hooks

    def _authorize(self, context: CallContext, method: str) -> None:
        identity = context.identity
        if not isinstance(identity, Identity):
            raise Forbidden(f"{method}: no authenticated caller")
        if not allowed(identity.role, method):
            need = required_role(method).label
            raise Forbidden(f"{method}: needs the {need} role; this token has {identity.role.label}")
        if self.draining.is_set() and required_role(method) > Role.VIEWER:
            raise Unavailable(f"{method}: the server is shutting down; retry against it later")
        if self.audit_required and not self.audit.healthy and required_role(method) > Role.VIEWER:
            raise Unavailable(f"{method}: refused because the audit log cannot be written")

    def _audit_call(self, context: CallContext, method: str, outcome: str | int, duration: float) -> None:
        identity = context.identity if isinstance(context.identity, Identity) else None
        self.audit.record_call(
            peer_text(context.peer),
            identity.principal if identity else None,
            identity.role.label if identity else None,
            method,
            outcome,
            duration * 1000.0,
            context.request_id,
        )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None
