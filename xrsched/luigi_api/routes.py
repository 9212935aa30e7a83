"""luigid's ``/api/<method>`` on the same connection handler as XML-RPC (a mixin of
:class:`~xrsched.rpc.handler.RpcRequestHandler`).

What luigid accepts, and what its clients (``luigi.rpc.RemoteScheduler`` with ``requests``
or with ``urllib``) send: a POST whose form field ``data`` is the JSON of the keyword
arguments, or a GET with ``?data=``; no ``data`` means no arguments. Differences from luigid,
each on purpose: credentials are required (HTTP Basic from the URL, or Bearer); GET runs only
methods that change nothing (luigid's visualiser changes state over GET); a POST from a page
on another site is refused (:func:`xrsched.luigi_api.cors.cross_site_refusal`); errors are a JSON
body with the right status instead of a stack trace page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from xrsched.dashboard.web import SECURITY_HEADERS
from xrsched.luigi_api import cors
from xrsched.rpc.httpmsg import HttpError, Response

if TYPE_CHECKING:
    from xrsched.rpc.handler import RpcRequestHandler

API_PREFIX = "/api/"
FORM_TYPE = "application/x-www-form-urlencoded"
#: Form fields accepted in one request (luigid's clients send one: ``data``).
_MAX_FIELDS = 32
_AUTH_HINT = (
    "authentication required: put a token in the scheduler URL "
    "(https://TOKEN_ID:SECRET@host:port/) or send Authorization: Bearer SECRET"
)


def is_api_path(path: str) -> bool:
    """Whether ``path`` (without its query) is one of luigid's ``/api/<method>`` paths."""
    return path.startswith(API_PREFIX)


class ApiRoutes:
    """``do_POST``/``do_GET``/``do_OPTIONS`` delegate here for ``/api/`` paths."""

    def serve_api(self: RpcRequestHandler, *, post: bool) -> None:
        """Check origin (POST), authenticate, read ``data``, dispatch, answer JSON."""
        settings = self.settings.cors
        if post:
            refusal = cors.cross_site_refusal(settings, self.headers, self._own_origin())
            if refusal is not None:
                raise HttpError(403, refusal)
        self.api_credentials(post=post, hint=_AUTH_HINT)
        data = self._form_data() if post else None
        if data is None:
            data = _field(urlsplit(self.path).query, "data")
        method = self.info.path[len(API_PREFIX) :]
        result = self.server.app.handle_api(method, data, self.info, read_only=not post)
        headers = (*result.headers, ("Cache-Control", "no-store"), *cors.response_headers(settings, self._origin()))
        if self.info.via:
            headers += SECURITY_HEADERS  # the dashboard's own calls
        self._reply(Response(result.status, result.body, content_type=result.content_type, headers=headers))

    def serve_api_preflight(self: RpcRequestHandler) -> None:
        """``OPTIONS``: 204, with the ``[cors]`` headers when the origin is allowed (as luigid)."""
        headers = cors.preflight_headers(self.settings.cors, self._origin())
        self._reply(Response(204, b"", headers=tuple(headers)))

    # -- steps ------------------------------------------------------------------------------

    def _form_data(self: RpcRequestHandler) -> str | None:
        """The ``data`` field of a form-encoded body (None when absent); 415 for other bodies."""
        media = self.headers.get("content-type", FORM_TYPE).split(";", 1)[0].strip().lower()
        if media != FORM_TYPE:
            raise HttpError(415, f"send the arguments as the form field 'data' ({FORM_TYPE}), as Luigi does")
        body = self.decode_request_content(self._read_body())
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            raise HttpError(400, "a form-encoded body must be ASCII (percent-encode the rest)") from None
        return _field(text, "data")

    def _origin(self: RpcRequestHandler) -> str | None:
        return self.headers.get("origin")

    def _own_origin(self: RpcRequestHandler) -> str:
        scheme = "https" if self.server.tls_context is not None else "http"
        return f"{scheme}://{self.headers.get('host', '')}"


def _field(query: str, name: str) -> str | None:
    """The last value of ``name`` in a form-encoded string (as Tornado's ``get_argument``)."""
    if not query:
        return None
    try:
        fields = parse_qs(query, keep_blank_values=True, max_num_fields=_MAX_FIELDS, errors="strict")
    except ValueError as exc:  # too many fields, or percent-encoded bytes that are not UTF-8
        text = "too many form fields" if "Max number" in str(exc) else "form data is not valid UTF-8"
        raise HttpError(400, text) from None
    values = fields.get(name)
    return values[-1] if values else None
