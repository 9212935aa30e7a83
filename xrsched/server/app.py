"""SchedulerApp: what the HTTP transport calls, joining auth, audit, dispatch and the service.

It is the one place where an authenticated HTTP request becomes a scheduler call: the
identity becomes the caller the ownership rules see, the role decides which methods may be
called, and every call, multicall entry and refused request reaches the audit log.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from xrsched import __version__
from xrsched.audit import AuditLog
from xrsched.audit_fields import request_fields
from xrsched.auth import Identity, Role, TokenStore, allowed, required_role
from xrsched.auth.credentials import AuthResult, basic_user
from xrsched.auth.oidc.shape import bearer_jwt
from xrsched.core.errors import Forbidden, Unavailable
from xrsched.health import HealthReport, OidcHealth, SchedulerCounts, StoreHealth, TlsHealth, assess, to_struct
from xrsched.luigi_api import jsoncodec
from xrsched.metrics import ServerMetrics, render
from xrsched.rpc.app import Peer, RequestInfo, RpcResult, peer_text
from xrsched.rpc.dispatch import MULTICALL, CallContext, Dispatcher
from xrsched.rpc.limits import RequestLimits
from xrsched.server.commit_audit import REQUEST_CALLS, RequestCalls
from xrsched.server.leadership import ANSWERED_BY_STANDBY, Leadership
from xrsched.server.refusals import RefusalLog
from xrsched.service import Caller, SchedulerService
from xrsched.service.context import CURRENT_CALLER, DEFERRED_DURABILITY

if TYPE_CHECKING:
    from xrsched.auth.oidc.verifier import OidcVerifier

#: Default of ``warn_expiry``: health warns a week before a token expires.
DEFAULT_WARN_EXPIRY = 7 * 86400.0

#: The identity of in-process or plain-trust deployments (no tokens file): an admin.
ANONYMOUS_ADMIN = Identity(id="anonymous", role=Role.ADMIN, kind="none")
_T = TypeVar("_T")


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
        leadership: Leadership | None = None,
        oidc: OidcVerifier | None = None,
        metrics: ServerMetrics | None = None,
        warn_expiry: float = DEFAULT_WARN_EXPIRY,
    ) -> None:
        self.service = service
        self.tokens = tokens
        #: Verifies identity-provider JWTs (bearer values shaped like one); None: no [oidc] table.
        self.oidc = oidc
        self.audit = audit
        self.audit_required = audit_required
        self.warn_expiry = warn_expiry
        self.limits = limits or RequestLimits()
        self.started = time.monotonic()
        self._refusals = RefusalLog()
        self.draining = threading.Event()
        self._tls_not_after = tls_not_after
        self._store_health = store_health or (lambda: StoreHealth(kind="memory", ok=True))
        #: Set for servers sharing a PostgreSQL store: a standby answers 503 (see leadership.py).
        self.leadership = leadership
        self.dispatcher = Dispatcher(self.limits, authorize=self._authorize, audit=self._audit_call)
        for name, method in service.methods().items():
            self.dispatcher.register_function(method, name)
        self.dispatcher.register_function(self.system_health, "system.health")
        self.metrics = metrics
        if metrics is not None:
            metrics.set_methods(self.dispatcher.funcs)

    def install_service(self, service: SchedulerService) -> SchedulerService:
        """Serve from ``service`` from now on (a leader's freshly loaded state); returns the old one."""
        old, self.service = self.service, service
        for name, method in service.methods().items():
            self.dispatcher.replace_function(method, name)
        return old

    # ------------------------------------------------------------ Application

    def authenticate(
        self, headers: Mapping[str, str], peer_cert_cn: str | None, *, peer: Peer | None = None
    ) -> object | None:
        """The caller's Identity, or None when credentials are missing, wrong or expired (logged
        once per peer and token id per interval: clients such as Luigi retry at once).

        A bearer value shaped like a JWT goes to the identity provider's verifier when ``[oidc]``
        is configured; an identity it authenticates without a mapped role has :attr:`Role.NONE`,
        so each of its calls is refused with 403 (and audited with role ``none``).
        """
        if self.tokens is None:
            return ANONYMOUS_ADMIN
        header = _header(headers, "authorization")
        result = self._check(self.tokens, header, peer_cert_cn)
        if result.identity is None and self.metrics is not None:
            self.metrics.auth_failure(result.reason)
        if result.identity is None and header is not None:
            host = peer[0] if isinstance(peer, tuple) else (peer or "unknown peer")  # a Unix peer is its label
            self._refusals.refused(host, basic_user(header), result.reason)
        return result.identity

    def _check(self, tokens: TokenStore, header: str | None, peer_cert_cn: str | None) -> AuthResult:
        jwt = bearer_jwt(header) if self.oidc is not None else None
        if self.oidc is None or jwt is None:
            return tokens.check(header, peer_cert_cn, time.time())
        result = self.oidc.check(jwt, time.time())
        return result if result.identity is not None else AuthResult(None, f"oidc: {result.reason}")

    def handle_rpc(self, body: bytes, request: RequestInfo) -> RpcResult:
        """Dispatch as the authenticated caller; answer once its changes are durable."""
        answer = self._as_caller(request, lambda context: self.dispatcher.dispatch(body, context))
        return answer if isinstance(answer, RpcResult) else RpcResult.ok(answer)

    def handle_api(self, method: str, data: str | None, request: RequestInfo, *, read_only: bool) -> RpcResult:
        """luigid's ``/api/<method>``: the same dispatcher, roles, ownership and audit as
        XML-RPC, JSON in and out; over GET (``read_only``) only methods that change nothing."""
        if read_only and method in self.dispatcher.funcs and not _changes_nothing(method):
            self.on_refused(request, 405)
            return _api_error(405, f"{method} changes state: send it as POST", (("Allow", "POST"),))
        answer = self._as_caller(request, lambda context: self.dispatcher.dispatch_json(method, data, context))
        if isinstance(answer, RpcResult):
            return _api_error(answer.status, answer.message)
        status, body = answer
        return RpcResult(status=status, body=body, content_type=jsoncodec.CONTENT_TYPE)

    def _as_caller(self, request: RequestInfo, run: Callable[[CallContext], _T]) -> _T | RpcResult:
        """Run one request's calls as its authenticated caller, then wait until every change
        they made is durable (DESIGN §1); a 503 RpcResult when the store cannot take them now."""
        identity = request.identity if isinstance(request.identity, Identity) else None
        caller = None
        if identity is not None and identity is not ANONYMOUS_ADMIN:
            caller = Caller(
                identity.principal,
                restricted=identity.role <= Role.WORKER,
                read_only=identity.role < Role.WORKER,
            )
        context = CallContext(
            peer=request.peer,
            identity=identity,
            request_id=request.request_id,
            headers=request.headers,
            via=request.via,
        )
        service = self.service  # the tickets below are this service's, even if a takeover swaps it
        token = CURRENT_CALLER.set(caller)
        tickets: list[int] = []
        deferred = DEFERRED_DURABILITY.set(tickets)
        calls = RequestCalls(tickets)
        noted = REQUEST_CALLS.set(calls)
        try:
            with self._audit_batch():
                answer = run(context)
        finally:
            REQUEST_CALLS.reset(noted)
            DEFERRED_DURABILITY.reset(deferred)
            CURRENT_CALLER.reset(token)
        if tickets:
            waited = time.perf_counter()
            try:
                service.wait_durable("request", max(tickets))
            except Unavailable as exc:
                self._commit_failed(request, calls.uncommitted(), time.perf_counter() - waited)
                return RpcResult.error(503, exc.message)
        return answer

    def _commit_failed(self, request: RequestInfo, methods: list[str], waited: float) -> None:
        """Audit a request whose commit failed (see :mod:`xrsched.server.commit_audit`): a 503
        record for each call whose change was lost, or for the request if none can be named."""
        if not methods:
            self.on_refused(request, 503)
            return
        if self.metrics is not None:
            self.metrics.http_refusal(503)
        with self.audit.batch():
            for method in methods:
                fields = request_fields(request.peer, request.identity, method, 503, waited * 1000.0,
                                        request.request_id, via=request.via)  # fmt: skip
                self.audit.record(**fields, commit="failed")

    def _audit_batch(self) -> contextlib.AbstractContextManager[None]:
        """The request's audit records in one write, before the reply; one by one with
        ``audit_required``, so that a failed write refuses the request's remaining entries."""
        return contextlib.nullcontext() if self.audit_required else self.audit.batch()

    def health(self) -> HealthReport:
        """The health document's content (DESIGN §5)."""
        problems = (() if self.audit.healthy else ("audit log cannot be written",)) + self._expiring_tokens()
        not_after = self._tls_not_after() if self._tls_not_after else None
        tls = TlsHealth(enabled=self._tls_not_after is not None, not_after=not_after)
        store = self._store_health()
        oidc = self._oidc_health()
        ha = self.leadership.view().health() if self.leadership is not None else None
        status, reasons = assess(
            store, tls, _dt.datetime.now(_dt.UTC), draining=self.draining.is_set(), problems=problems, ha=ha, oidc=oidc
        )
        return HealthReport(
            status=status,
            version=__version__,
            uptime_seconds=time.monotonic() - self.started,
            scheduler=SchedulerCounts(**self.service.counts()),
            store=store,
            tls=tls,
            reasons=reasons,
            ha=ha,
            oidc=oidc,
        )

    def _oidc_health(self) -> OidcHealth | None:
        if self.oidc is None:
            return None
        state = self.oidc.state()
        last = None if state.last_refresh is None else _dt.datetime.fromtimestamp(state.last_refresh, _dt.UTC)
        return OidcHealth(keys=state.keys, refresh_ok=state.ok, last_refresh=last)

    def scrape_metrics(self, accept: str | None) -> tuple[bytes, str] | None:
        """``GET /metrics``: the body and Content-Type (None when this server keeps no metrics)."""
        return None if self.metrics is None else render(self.metrics.registry, accept)

    def _expiring_tokens(self) -> tuple[str, ...]:
        """Health reasons for tokens that expire within ``warn_expiry`` (not rotation graces:
        those end as planned, and the audit log shows who still uses the old secret)."""
        if self.tokens is None or self.warn_expiry <= 0:
            return ()
        return tuple(
            f"token {token_id} expires {_dt.datetime.fromtimestamp(at, _dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
            for token_id, at in self.tokens.expiring(time.time(), self.warn_expiry)
        )

    def on_refused(self, request: RequestInfo, status: int) -> None:
        """Audit a request refused at the HTTP level (401, 405, 411, 413, 503, ...)."""
        if self.metrics is not None:
            self.metrics.http_refusal(status)
        method = f"{request.method} {request.path}"[:120]
        self.audit.record(**request_fields(request.peer, request.identity, method, status, 0.0,
                                           request.request_id, via=request.via))  # fmt: skip

    # ---------------------------------------------------------------- methods

    def system_health(self) -> dict[str, Any]:
        """The health document as a struct: status, version, uptime, counts, store, tls, oidc (if configured)."""
        return to_struct(self.health())

    # ------------------------------------------------------------------ hooks

    def _authorize(self, context: CallContext, method: str) -> None:
        identity = context.identity
        if not isinstance(identity, Identity):
            raise Forbidden(f"{method}: no authenticated caller")
        if self.leadership is not None and method not in ANSWERED_BY_STANDBY:
            view = self.leadership.view()
            if not view.leading:  # before the role check: the client should move on, whatever its role
                raise Unavailable(view.standby_message())
        if identity.role is Role.NONE:
            raise Forbidden(
                f"{method}: {identity.principal} has no role (none of its identity-provider groups is mapped to one)"
            )
        if not allowed(identity.role, method):
            need = required_role(method).label
            raise Forbidden(f"{method}: needs the {need} role; this token has {identity.role.label}")
        if self.draining.is_set() and required_role(method) > Role.VIEWER:
            raise Unavailable(f"{method}: the server is shutting down; retry against it later")
        if self.audit_required and not self.audit.healthy and required_role(method) > Role.VIEWER:
            raise Unavailable(f"{method}: refused because the audit log cannot be written")

    def _audit_call(self, context: CallContext, method: str, outcome: str | int, duration: float) -> None:
        if self.metrics is not None:
            self.metrics.rpc_call(method, outcome, duration)
        calls = REQUEST_CALLS.get()
        if calls is not None:
            calls.audited(method, outcome)
        if context.via:  # a dashboard call: the general record, with "via"
            self.audit.record(**request_fields(context.peer, context.identity, method, outcome, duration * 1000.0,
                                               context.request_id, via=context.via))  # fmt: skip
            return
        identity = context.identity if isinstance(context.identity, Identity) else None
        self.audit.record_call(
            peer_text(context.peer),
            identity.principal if identity else None,
            identity.role.label if identity else None,
            method,
            outcome,
            duration * 1000.0,
            context.request_id,
            previous_secret=identity is not None and identity.previous_secret,
        )


def _changes_nothing(method: str) -> bool:
    """Whether a GET may run ``method``: viewer methods, but not a multicall (its entries may write)."""
    return required_role(method) is Role.VIEWER and method != MULTICALL


def _api_error(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> RpcResult:
    body = jsoncodec.dump_error(status, status, message)
    return RpcResult(status=status, body=body, content_type=jsoncodec.CONTENT_TYPE, message=message, headers=headers)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None
