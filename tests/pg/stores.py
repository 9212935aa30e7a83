"""PostgreSQL stores opened by a test, closed after it (``tests/pg/conftest.py``'s autouse fixture)."""

from __future__ import annotations

from typing import Any

from xrsched.store.pgurl import parse_store_url
from xrsched.store.postgres import PostgresStore

_opened: list[PostgresStore] = []


def open_store(url: str, **options: Any) -> PostgresStore:
    """A store on ``url`` (``options`` as PostgresStore takes them), closed when the test ends."""
    store = PostgresStore(parse_store_url(url), **options)
    _opened.append(store)
    return store


def close_opened() -> None:
    """Close every store :func:`open_store` opened."""
    while _opened:
        _opened.pop().close()
