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
    """Which methods a path (or path prefix) answers, and the handler that answers them."""

    path: str
    methods: frozenset[str]
    handler: Handler
    prefix: bool = False

    @property
    def allow(self) -> str:
        """The ``Allow`` header for a 405 on this path."""
        return ", ".join(sorted(self.methods))


class Router:
    """Exact paths first, then the longest matching prefix; 404 or 405 otherwise."""

    def __init__(self) -> None:
        self._exact: dict[str, Route] = {}
        self._prefixes: list[Route] = []

    def add(self, paths: str | Iterable[str], methods: Iterable[str], handler: Handler) -> None:
        """Serve ``methods`` on each exact path. ``GET`` implies ``HEAD``."""
        for path in [paths] if isinstance(paths, str) else paths:
            if path in self._exact:
                raise ValueError(f"path {path!r} is routed twice")
            self._exact[path] = Route(path, _methods(methods), handler)

    def add_prefix(self, prefix: str, methods: Iterable[str], handler: Handler) -> None:
        """Serve every path under ``prefix`` (for example ``/api/`` for Luigi's JSON API)."""
        if not prefix.endswith("/"):
            raise ValueError("a route prefix must end with '/'")
        self._prefixes.append(Route(prefix, _methods(methods), handler, prefix=True))
        self._prefixes.sort(key=lambda route: len(route.path), reverse=True)

    def resolve(self, method: str, path: str) -> Handler:
        """The handler for this request, or HttpError 404 (unknown path) / 405 (with Allow)."""
        route = self._exact.get(path)
        if route is None:
            route = next((r for r in self._prefixes if path.startswith(r.path)), None)
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
