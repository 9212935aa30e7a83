"""The dashboard's HTTP surface on the connection handler (a mixin of
:class:`~xrsched.rpc.handler.RpcRequestHandler`): ``/``, ``/static/<name>``, ``/session``, and
the session cookie as credentials on ``/api/``.

Rules (README, "Dashboard"): every answer here carries the CSP and framing headers of
:data:`xrsched.dashboard.web.SECURITY_HEADERS`; files come only from the allow-list built at
start; with cookie credentials every ``/api/`` POST must carry the session's CSRF token; a
request with an ``Authorization`` header is judged by that header alone (no cookie, no CSRF).
Errors are the ``/api/`` JSON error body and never ask for Basic credentials (a browser would
pop up a password dialog).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from xrsched.dashboard.site import VIA, DashboardError
from xrsched.dashboard.staticfiles import INDEX
from xrsched.dashboard.web import (
    JSON_TYPE,
    NO_STORE,
    SECURITY_HEADERS,
    clear_cookie,
    cookie_values,
    error_json,
    session_json,
    set_cookie,
)
from xrsched.luigi_api import cors
from xrsched.rpc.httpmsg import HttpError, Response, content_length

if TYPE_CHECKING:
    from xrsched.dashboard.site import DashboardSite
    from xrsched.rpc.handler import RpcRequestHandler

STATIC_PREFIX = "/static/"
SESSION_PATH = "/session"
LOGOUT_PATH = "/session/logout"
SIGNED_OUT = "signed out"
CSRF_REFUSAL = "missing or wrong CSRF token"
#: A sign-in body is ``{"token": "..."}``: a few hundred bytes.
_MAX_SIGN_IN_BYTES = 8192


class DashboardRefusal(HttpError):
    """A refusal answered with the JSON error body and the dashboard's headers."""

    def response(self) -> Response:
        """The JSON error answer (the base class answers in plain text)."""
        headers = (*self.headers, *SECURITY_HEADERS, NO_STORE)
        return Response(self.status, error_json(self.status, self.message), content_type=JSON_TYPE, headers=headers)


class DashboardRoutes:
    """``do_GET``/``do_POST``/``do_DELETE`` delegate here for the dashboard's paths."""

    def dashboard_serves(self: RpcRequestHandler, path: str, command: str) -> bool:
        """Whether ``command path`` is a dashboard request (only when the dashboard is enabled)."""
        if self.server.dashboard is None:
            return False
        if path in (SESSION_PATH, LOGOUT_PATH):
            return True
        return command in ("GET", "HEAD") and (path == "/" or path.startswith(STATIC_PREFIX))

    def dashboard_allow(self: RpcRequestHandler, path: str) -> str:
        """The ``Allow`` header for a dashboard path ("" when it is none)."""
        if self.server.dashboard is None:
            return ""
        if path == SESSION_PATH:
            return "GET, HEAD, POST, DELETE"
        if path == LOGOUT_PATH:
            return "POST"
        if path == "/":
            return "GET, HEAD, POST"  # POST / is XML-RPC
        return "GET, HEAD" if path.startswith(STATIC_PREFIX) else ""

    def serve_dashboard(self: RpcRequestHandler) -> None:
        """Route one dashboard request; 405 for a method the path does not take. Every refusal
        is the JSON error body with the dashboard's headers."""
        try:
            self._route_dashboard()
        except DashboardRefusal:
            raise
        except HttpError as exc:  # 411, 413, 400 from the body rules
            raise DashboardRefusal(exc.status, exc.message, headers=exc.headers) from None

    def _route_dashboard(self: RpcRequestHandler) -> None:
        path, command = self.info.path, self.command
        if path == SESSION_PATH and command in ("GET", "HEAD"):
            self._session_status()
        elif path == SESSION_PATH and command == "POST":
            self._sign_in()
        elif (path == SESSION_PATH and command == "DELETE") or (path == LOGOUT_PATH and command == "POST"):
            self._sign_out()
        elif command in ("GET", "HEAD") and (path == "/" or path.startswith(STATIC_PREFIX)):
            self._static(INDEX if path == "/" else path[len(STATIC_PREFIX) :])
        else:
            raise DashboardRefusal(405, "method not allowed", headers=[("Allow", self.dashboard_allow(path))])

    def do_DELETE(self: RpcRequestHandler) -> None:
        """``DELETE /session`` signs out (the stdlib has no DELETE)."""
        if not self.dashboard_serves(self.info.path, "DELETE"):
            raise self._not_here()
        self.serve_dashboard()

    def api_credentials(self: RpcRequestHandler, *, post: bool, hint: str) -> None:
        """Authenticate an ``/api/`` call: the ``Authorization`` header (or client certificate)
        as always, else the session cookie, whose POSTs must carry the session's CSRF token."""
        dashboard = self.server.dashboard
        if dashboard is None or "authorization" in self.headers:
            self._authenticate(hint=hint)
            return
        cookies = cookie_values(self.headers.get("cookie"))
        if not cookies:
            if self.headers.get("sec-fetch-site", "").lower() == "same-origin":
                # The dashboard's own page after its cookie expired: no Basic challenge (no dialog).
                raise DashboardRefusal(401, SIGNED_OUT)
            self._authenticate(hint=hint)
            return
        session = dashboard.current(self.headers.get("cookie"))
        if session is None:
            raise DashboardRefusal(401, SIGNED_OUT, headers=[clear_cookie()])
        self.info = replace(self.info, identity=session.identity, via=VIA)
        if post and not session.csrf_matches(self.headers.get("x-csrf-token")):
            raise DashboardRefusal(403, CSRF_REFUSAL)

    # -- steps ------------------------------------------------------------------------------

    def _site(self: RpcRequestHandler) -> DashboardSite:
        site = self.server.dashboard
        assert site is not None  # dashboard_serves() said so
        return site

    def _static(self: RpcRequestHandler, name: str) -> None:
        found = self._site().static.get(name)
        if found is None:
            raise DashboardRefusal(404, "not found")
        headers = (("ETag", found.etag), ("Cache-Control", "no-cache"), *SECURITY_HEADERS)
        if found.matches(self.headers.get("if-none-match")):
            self._reply(Response(304, b"", headers=headers))
            return
        self._reply(Response(200, found.body, content_type=found.content_type, headers=headers))

    def _session_status(self: RpcRequestHandler) -> None:
        session = self._site().current(self.headers.get("cookie"))
        if session is None:
            stale = [clear_cookie()] if cookie_values(self.headers.get("cookie")) else []
            raise DashboardRefusal(401, SIGNED_OUT, headers=stale)
        self._dashboard_reply(200, session_json(session))

    def _sign_in(self: RpcRequestHandler) -> None:
        refusal = cors.cross_site_refusal(self.settings.cors, self.headers, self._own_origin())
        if refusal is not None:
            raise DashboardRefusal(403, refusal)
        media = self.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise DashboardRefusal(415, 'send {"token": "..."} as application/json')
        content_length(self.headers, _MAX_SIGN_IN_BYTES)  # 411/413 before reading
        token = _token_field(self._read_body())
        try:
            signed_in = self._site().sign_in(token, self.info)
        except DashboardError as exc:  # audited by the site
            self._dashboard_reply(exc.status, error_json(exc.status, exc.message), exc.headers)
            return
        session = signed_in.session
        cookie = set_cookie(signed_in.session_id, session.created + session.lifetime - session.last_used)
        self._dashboard_reply(200, session_json(session), (cookie,))

    def _sign_out(self: RpcRequestHandler) -> None:
        if "content-length" in self.headers:
            content_length(self.headers, _MAX_SIGN_IN_BYTES)
            self._read_body()  # nothing in it is needed
        site = self._site()
        session = site.current(self.headers.get("cookie"))
        if session is None:
            raise DashboardRefusal(401, SIGNED_OUT, headers=[clear_cookie()])
        self.info = replace(self.info, identity=session.identity, via=VIA)
        if not session.csrf_matches(self.headers.get("x-csrf-token")):
            raise DashboardRefusal(403, CSRF_REFUSAL)
        site.sign_out(session, self.info)
        self._reply(Response(204, b"", headers=(clear_cookie(), NO_STORE, *SECURITY_HEADERS)))

    def _dashboard_reply(
        self: RpcRequestHandler, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self._reply(Response(status, body, content_type=JSON_TYPE, headers=(*headers, NO_STORE, *SECURITY_HEADERS)))


def _token_field(body: bytes) -> object:
    """The ``token`` member of a sign-in body; DashboardRefusal 400 if the body is not that."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; [[[[... recurses
        raise DashboardRefusal(400, 'the body must be JSON: {"token": "..."}') from None
    if type(value) is not dict or "token" not in value:
        raise DashboardRefusal(400, 'the body must be a JSON object with a "token" member')
    return value["token"]
