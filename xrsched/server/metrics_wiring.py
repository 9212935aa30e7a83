"""Points a server's Prometheus metrics at what they read when scraped: the scheduler's
counters, the listeners' connections and refusals, the audit log's drops, the leadership."""

from __future__ import annotations

from collections.abc import Callable

from xrsched.audit import AuditLog
from xrsched.metrics import ServerMetrics
from xrsched.rpc.http_server import RpcHttpServer
from xrsched.server.app import SchedulerApp


def watch_server(
    metrics: ServerMetrics,
    app: SchedulerApp,
    listeners: list[RpcHttpServer],
    audit: AuditLog,
    *,
    leadership: Callable[[], tuple[bool, int]] | None = None,
) -> None:
    """Point the metrics at the counters read when scraped, and at the listeners' refusals."""
    live = metrics.live
    live.scheduler = lambda: app.service.status_counts()  # the current one: a takeover swaps it
    live.connections = lambda: sum(server.active_connections for server in listeners)
    live.audit_errors = lambda: audit.dropped
    if leadership is not None:
        live.leadership = leadership
    for server in listeners:
        server.on_refused_connection = metrics.connection_refused
