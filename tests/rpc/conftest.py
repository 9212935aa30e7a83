"""Fixtures for the XML-RPC layer tests: a small service and a dispatcher around it."""

from __future__ import annotations

import pytest

from tests.rpc.helpers import Service
from xrsched.core.errors import Forbidden
from xrsched.rpc.dispatch import CallContext, Dispatcher
from xrsched.rpc.limits import RequestLimits


@pytest.fixture
def service() -> Service:
    return Service()


METHODS = ("add_task", "ping", "fetch_error", "explode", "echo", "count")


def register(dispatcher: Dispatcher, service: Service) -> Dispatcher:
    """Register the test service's methods the stdlib way."""
    for name in METHODS:
        dispatcher.register_function(getattr(service, name), name)
    return dispatcher


@pytest.fixture
def audit_log() -> list[tuple[str, str | int]]:
    return []


@pytest.fixture
def dispatcher(service: Service, audit_log: list[tuple[str, str | int]]) -> Dispatcher:
    def audit(ctx: CallContext, method: str, outcome: str | int, duration: float) -> None:
        assert duration >= 0
        audit_log.append((method, outcome))

    def authorize(ctx: CallContext, method: str) -> None:
        if ctx.identity == "viewer" and method == "add_task":
            raise Forbidden("add_task: role 'viewer' may not call this method")

    return register(Dispatcher(RequestLimits(), authorize=authorize, audit=audit), service)
