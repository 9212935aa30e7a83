"""``GET /metrics`` on the same connection handler as XML-RPC (a mixin of
:class:`~xrsched.rpc.handler.RpcRequestHandler`).

The transport knows no metric: it asks the application for the scrape's body and Content-Type
(:class:`MetricsSource`). Credentials are required like for any method (any valid token: every
role may read) unless the server runs with ``metrics_auth = "none"`` for scrapers that cannot
send one. A refused scrape is audited like every refused request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from xrsched.rpc.httpmsg import HttpError, Response

if TYPE_CHECKING:
    from xrsched.rpc.handler import RpcRequestHandler

METRICS_PATH = "/metrics"


class MetricsSource(Protocol):
    """An application that keeps metrics."""

    def scrape_metrics(self, accept: str | None) -> tuple[bytes, str] | None:
        """The exposition for a scraper sending ``Accept: accept``, with its Content-Type; None
        when the application keeps no metrics."""
        ...


class MetricsRoute:
    """``do_GET`` (and ``do_HEAD``) delegate here for :data:`METRICS_PATH`."""

    def serve_metrics(self: RpcRequestHandler) -> None:
        """Authenticate (unless ``metrics_auth`` is ``none``), then answer the exposition; 404 if
        the application keeps no metrics."""
        scrape = getattr(self.server.app, "scrape_metrics", None)
        if scrape is None:
            raise HttpError(404, "not found")
        if self.settings.metrics_auth != "none":
            self._authenticate()
        scraped = scrape(self.headers.get("accept"))
        if scraped is None:
            raise HttpError(404, "not found")
        body, content_type = scraped
        self._reply(Response(200, body, content_type=content_type, headers=(("Cache-Control", "no-store"),)))
