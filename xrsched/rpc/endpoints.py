"""The handlers behind the routes: XML-RPC and the health document."""

from __future__ import annotations

from xrsched import health as health_doc
from xrsched.rpc.exchange import Exchange, Response, check_xml_content_type, reason_phrase

HEALTH_CONTENT_TYPE = "application/xml; charset=utf-8"


def xmlrpc(exchange: Exchange) -> Response:
    """``POST /RPC2``: authenticate, check type and size, then hand the body to the application."""
    exchange.authenticate()
    check_xml_content_type(exchange.headers)
    body = exchange.read_body()
    encoding = exchange.headers.get("content-encoding")
    result = exchange.app.handle_rpc(body, encoding.strip().lower() if encoding else None, exchange.info)
    if result.status != 200:
        # The application refused and audited this itself: answer without a second on_refused.
        return Response.text(result.status, result.message or reason_phrase(result.status))
    return Response(200, result.body, content_type=result.content_type)


def health(exchange: Exchange) -> Response:
    """``GET /health``: the §5 document; 200 for ok/degraded, 503 for down."""
    if exchange.settings.health_requires_token:
        exchange.authenticate()
    report = exchange.app.health()
    return Response(
        report.http_status,
        health_doc.to_xml(report),
        content_type=HEALTH_CONTENT_TYPE,
        headers=(("Cache-Control", "no-store"),),
    )
