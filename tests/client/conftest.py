"""Client tests run against the real server (tests/server/conftest.py) and a misbehaving proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.proxy import FaultyProxy
from tests.server.conftest import live_server, live_server_factory  # noqa: F401
from xrsched.client import RemoteScheduler

FAST = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 10.0, "connect_timeout": 5.0}


@pytest.fixture
def connect() -> Iterator:
    """``connect(server, token=None, url=None, **options)``: a RemoteScheduler with fast retries.

    Uses the server's admin token unless given another; every client is closed at the end.
    """
    made: list[RemoteScheduler] = []

    def make(server, token=None, url=None, **options) -> RemoteScheduler:
        client = RemoteScheduler(
            url or server.url, token or server.admin, **{"ca": server.ca, **FAST, **options}, environ={}
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def proxy_factory(dev_certs) -> Iterator:
    """``proxy_factory(upstream_server_or_None)`` → a started :class:`FaultyProxy`."""
    started: list[FaultyProxy] = []

    def make(server=None) -> FaultyProxy:
        upstream = ("localhost", server.runtime.http.server_address[1]) if server is not None else None
        proxy = FaultyProxy(dev_certs.server_cert, dev_certs.server_key, dev_certs.ca_cert, upstream)
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.close()
