"""Routing of HTTP requests by path, in one place (DESIGN §4c).

XML-RPC, ``/health`` and, later, ``/api/<method>``, ``/metrics`` and the dashboard are all
entries in one :class:`Router`; adding one never touches the XML-RPC path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from xrsched.rpc.exchange import Exchange, HttpError, Response

Handler = Callable[[Exchange], Response]


@dataclass(frozen=True)
class Route:
    """Which methods a path answers, and the handler that answers them."""

    path: str
    methods: frozenset[str]
    handler: Handler

    @property
    def allow(self) -> str:
        """The ``Allow`` header for a 405 on this path."""
        return ", ".join(sorted(self.methods))


class Router:
    """Each exact path to its route: 404 for an unknown path, 405 for a method it does not answer."""

    def __init__(self) -> None:
        self._exact: dict[str, Route] = {}

    def add(self, paths: str | Iterable[str], methods: Iterable[str], handler: Handler) -> None:
        """Serve ``methods`` on each exact path. ``GET`` implies ``HEAD``."""
        for path in [paths] if isinstance(paths, str) else paths:
            if path in self._exact:
                raise ValueError(f"path {path!r} is routed twice")
            self._exact[path] = Route(path, _methods(methods), handler)

    def resolve(self, method: str, path: str) -> Handler:
        """The handler for this request, or HttpError 404 (unknown path) / 405 (with Allow)."""
        route = self._exact.get(path)
        if route is None:
            raise HttpError(404, "not found")
        if method not in route.methods:
            raise HttpError(405, "method not allowed", headers=[("Allow", route.allow)])
        return route.handler


def _methods(methods: Iterable[str]) -> frozenset[str]:
    upper = {m.upper() for m in methods}
    if "GET" in upper:
        upper.add("HEAD")
    return frozenset(upper)


def default_router() -> Router:
    """The routes of DESIGN §2: XML-RPC on ``/RPC2`` and ``/``, the health document."""
    from xrsched.rpc import endpoints  # late import: endpoints imports health, which is heavier

    router = Router()
    router.add(("/RPC2", "/"), ["POST"], endpoints.xmlrpc)
    router.add("/health", ["GET"], endpoints.health)
    return router
