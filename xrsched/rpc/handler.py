"""Reading and routing the requests of one connection: ``SimpleXMLRPCRequestHandler``'s request
hooks with limits, authentication and plain-text errors.

The stdlib reads any body of any size before looking at it, inflates gzip without a cap, has
no authentication and answers errors with HTML. Each override below says what it changes.
The connection around the requests (TLS, deadlines, keep-alive, close) is
:class:`~xrsched.rpc.connection.ConnectionHandler`'s part.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlsplit

from xrsched import health as health_doc
from xrsched.dashboard.routes import DashboardRefusal, DashboardRoutes
from xrsched.luigi_api.routes import ApiRoutes, is_api_path
from xrsched.rpc.app import RequestInfo
from xrsched.rpc.connection import ConnectionHandler
from xrsched.rpc.httpmsg import (
    AUTH_CHALLENGE,
    HeaderMap,
    HttpError,
    Response,
    check_xml_content_type,
    content_length,
    parse_request_line,
    read_buffered_headers,
    reason_phrase,
    request_id,
    response_head,
    safe_headers,
)
from xrsched.rpc.limits import BodyError, decode_body
from xrsched.server.metrics_route import METRICS_PATH, MetricsRoute

log = logging.getLogger("xrsched.server")

HEALTH_PATH = "/health"
HEALTH_CONTENT_TYPE = "application/xml; charset=utf-8"
_MAX_REQUEST_LINE = 8192
_NO_HEADERS = HeaderMap([])


class RpcRequestHandler(ApiRoutes, DashboardRoutes, MetricsRoute, ConnectionHandler):
    """Reads each request of the connection under its deadline, then routes it: XML-RPC,
    ``/health``, luigid's ``/api/``, ``/metrics`` and the dashboard; refusals in plain text."""

    rpc_paths = ("/", "/RPC2")
    # The request being served (reset when the next one starts; see handle_one_request).
    info: RequestInfo
    command = ""
    path = ""
    request_version = "HTTP/1.1"
    headers = _NO_HEADERS  # type: ignore[assignment]
    _body_read = False
    _info_current = False
    _expects_continue = False

    def handle_one_request(self) -> None:
        """Wait (evictably) for a request, then read it under one deadline (the stdlib waits
        and reads with a per-recv timeout, so a slowloris is never cut off)."""
        self.close_connection = True
        if not self.wait_for_request():
            return
        self._body_read = False
        self._info_current = False
        self.command, self.path, self.headers = "", "", _NO_HEADERS  # type: ignore[assignment]
        try:
            self.raw_requestline = self.rfile.readline(_MAX_REQUEST_LINE + 1)
            if len(self.raw_requestline) > _MAX_REQUEST_LINE:
                self._refuse(HttpError(414, "request line too long"))
                return
            if not self.parse_request():
                return  # parse_request already answered through send_error
        except TimeoutError:
            self._refuse(HttpError(408, "request not received in time"))
            return
        self._answer()

    def parse_request(self) -> bool:
        """Parse the request line and headers (8 KiB a line, 100 headers) into a case-insensitive
        :class:`HeaderMap` (the stdlib runs every request through the e-mail parser: the
        largest single cost of a small call).

        Sets ``command``, ``path``, ``request_version``, ``close_connection`` and ``headers``;
        answers 400, 431 or 505 itself and returns False on bad input.
        """
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        try:
            self.command, self.path, self.request_version = parse_request_line(self.requestline)
            self.headers = read_buffered_headers(self.rfile)  # type: ignore[assignment]
        except HttpError as exc:
            self.send_error(exc.status, exc.message)
            return False
        connection = self.headers.get("connection", "").lower()
        if "close" in connection:
            self.close_connection = True
        elif self.request_version != "HTTP/1.0":
            self.close_connection = False
        else:
            self.close_connection = "keep-alive" not in connection
        return True

    def do_POST(self) -> None:
        """XML-RPC on ``rpc_paths``: authenticate, 415, 411/413 before reading, the gzip cap
        (the stdlib reads any body unauthenticated, inflates it without a cap and answers an
        exception with a 500 carrying its text). ``/api/<method>``: luigid's JSON codec;
        ``/session``: the dashboard's sign-in."""
        if not self.is_rpc_path_valid():
            if is_api_path(self.info.path):
                self.serve_api(post=True)
            elif self.dashboard_serves(self.info.path, "POST"):
                self.serve_dashboard()
            else:
                raise self._not_here()
            return
        self._authenticate()
        check_xml_content_type(self.headers)
        body = self.decode_request_content(self._read_body())
        result = self.server.app.handle_rpc(body, self.info)
        if result.status != 200:
            # The application refused and audited this itself: answer without a second on_refused.
            self._reply(Response.text(result.status, result.message or reason_phrase(result.status)))
            return
        self._reply(Response(200, result.body, content_type=result.content_type))

    def do_GET(self) -> None:
        """``/health``: the §5 document, 200 for ok/degraded, 503 for down (the stdlib has no GET);
        ``/api/<method>`` for methods that change nothing; ``/metrics`` for Prometheus; the
        dashboard's ``/``, ``/static/`` and ``/session``."""
        if is_api_path(self.info.path):
            self.serve_api(post=False)
            return
        if self.info.path == METRICS_PATH:
            self.serve_metrics()
            return
        if self.dashboard_serves(self.info.path, "GET"):
            self.serve_dashboard()
            return
        if self.info.path != HEALTH_PATH:
            raise self._not_here()
        if self.settings.health_requires_token:
            self._authenticate()
        report = self.server.app.health()
        self._reply(
            Response(
                report.http_status,
                health_doc.to_xml(report),
                content_type=HEALTH_CONTENT_TYPE,
                headers=(("Cache-Control", "no-store"),),
            )
        )

    do_HEAD = do_GET

    def do_OPTIONS(self) -> None:
        """CORS preflight for ``/api/`` (the stdlib has no OPTIONS)."""
        if not is_api_path(self.info.path):
            raise self._not_here()
        self.serve_api_preflight()

    def is_rpc_path_valid(self) -> bool:
        """Compare the path without its query string (the stdlib compares the whole target)."""
        return self.info.path in self.rpc_paths

    def decode_request_content(self, data: bytes) -> bytes:  # type: ignore[override]
        """Undo ``Content-Encoding`` up to ``max_decompressed_bytes`` (the stdlib inflates gzip
        bombs without a cap); 413, 415 or 400 otherwise."""
        try:
            return decode_body(data, self.headers.get("content-encoding"), self.server.body_limits)
        except BodyError as exc:
            raise HttpError(exc.http_status, exc.message) from None

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer in plain text, audited, and close (the stdlib sends an HTML page)."""
        self.close_connection = True
        self._refuse(HttpError(int(code), message or ""))

    # -- steps ------------------------------------------------------------------------------

    def _answer(self) -> None:
        """Run the ``do_<command>`` method; turn refusals, timeouts and bugs into answers."""
        self.info = self._request_info()
        self._info_current = True
        if self.busy:
            self.close_connection = True
            self._refuse(HttpError(503, "server busy, retry later", headers=[("Retry-After", "1")]))
            return
        self._expects_continue = (
            self.headers.get("expect", "").lower() == "100-continue" and self.request_version >= "HTTP/1.1"
        )
        try:
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                raise self._not_here()
            method()
        except HttpError as exc:
            # After a framing error (400, 411, 413) the rest of the stream cannot be trusted.
            framing_error = exc.status in (400, 411, 413)
            self._input_clean = self._body_read or (not framing_error and self._discard_body())
            self._refuse(exc)
        except TimeoutError:
            self.close_connection = True
            self._refuse(HttpError(408, "request body not received in time"))
        except OSError as exc:
            log.debug("connection %s failed mid-request: %s", self.peer_label, exc)
            self.close_connection = True
        except Exception:
            incident = uuid.uuid4().hex[:12]
            log.exception("internal error serving %s %s (incident %s)", self.command, self.info.path, incident)
            self._input_clean = self._body_read
            self.close_connection = True
            self._send(Response.text(500, f"internal error (incident {incident})"))

    def _not_here(self) -> HttpError:
        """404 for a path we do not serve, 405 (with ``Allow``) for a method it does not take."""
        path = self.info.path
        allow = "POST" if path in self.rpc_paths else "GET, HEAD" if path in (HEALTH_PATH, METRICS_PATH) else ""
        if is_api_path(path):
            allow = "GET, HEAD, POST, OPTIONS"
        if self.dashboard_allow(path):
            return DashboardRefusal(405, "method not allowed", headers=[("Allow", self.dashboard_allow(path))])
        if not allow:
            return HttpError(404, "not found")
        return HttpError(405, "method not allowed", headers=[("Allow", allow)])

    def _authenticate(self, *, hint: str = "authentication required") -> None:
        """Ask the application who is calling; HttpError 401 with the Basic challenge if nobody."""
        identity = self.server.app.authenticate(self.headers, self.peer_cert_cn, peer=self.client_address)
        if identity is None:
            raise HttpError(401, hint, headers=[AUTH_CHALLENGE])
        self.info.identity = identity

    def _read_body(self) -> bytes:
        """Check the announced length against the limit, then read exactly that many bytes."""
        length = content_length(self.headers, self.settings.max_request_bytes)
        if self._expects_continue:
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self._expects_continue = False
        data = self.rfile.read(length) if length else b""
        if len(data) != length:
            self.close_connection = True
            raise HttpError(400, "request body shorter than Content-Length")
        self._body_read = True
        return data

    def _discard_body(self) -> bool:
        """Read and drop a small refused body so keep-alive survives; False if not worth it."""
        headers = self.headers
        if "content-length" not in headers and "transfer-encoding" not in headers:
            return True  # nothing was sent after the headers
        if self._expects_continue:
            return False  # the client may or may not send it now; only closing is unambiguous
        try:
            length = content_length(headers, self.settings.discard_body_bytes)
        except HttpError:
            return False
        try:
            return len(self.rfile.read(length)) == length
        except (OSError, ValueError):
            return False

    def _refuse(self, error: HttpError) -> None:
        """Audit a refused request through the application, then answer it in plain text."""
        if not self._info_current:
            self.info = self._request_info()
            self._info_current = True
        try:
            self.server.app.on_refused(self.info, error.status)
        except Exception:  # auditing trouble must not change the answer
            log.exception("on_refused failed for %s %s", self.info.method, self.info.path)
        self._send(error.response())

    def _reply(self, response: Response) -> None:
        # Nothing unread: the body was read, or none was announced (an empty one counts as none).
        self._input_clean = self._body_read or (
            "transfer-encoding" not in self.headers and self.headers.get("content-length", "0").strip() == "0"
        )
        self._send(response)

    def _send(self, response: Response) -> None:
        """One write per answer with a cached ``Date`` (the stdlib's ``send_response`` logs
        every request and formats the date each time: a measurable cost per call)."""
        if not self._input_clean or self.server.draining.is_set():
            self.close_connection = True
        head = response_head(
            response,
            server=self.version_string(),
            request_id=self.info.request_id,
            close=self.close_connection,
            http10=self.request_version == "HTTP/1.0",
        )
        self.wfile.write(head if self.command == "HEAD" else head + response.body)

    def _request_info(self) -> RequestInfo:
        target = self.path or ""
        if target in self.rpc_paths:
            path = target  # what urlsplit would give, without its cost on every call
        else:
            path = (urlsplit(target).path if target else "") or ("/" if target else "")
        headers: HeaderMap = self.headers  # type: ignore[assignment]
        return RequestInfo(
            peer=self.client_address,
            method=(self.command or "")[:16],
            path=path[:256],
            request_id=request_id(headers.get("x-request-id", "")),
            peer_cert_cn=self.peer_cert_cn,
            tls=self.server.tls_context is not None,
            headers=safe_headers(headers),
        )
