"""``--store postgresql://USER@HOST:PORT/DB``: the URL checked and turned into libpq parameters.

The password never comes from the URL (it would sit in ``ps`` output, shell history and unit
files): libpq reads ``PGPASSWORD`` or ``~/.pgpass`` itself, and ``XRSCHED_STORE_PASSWORD`` is
passed on when set. Query parameters are libpq's own (``sslmode``, ``sslrootcert``, ...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from .base import StoreConnectionError

SCHEMES = ("postgresql", "postgres")
PASSWORD_ENV = "XRSCHED_STORE_PASSWORD"  # noqa: S105 (the variable's name)
#: libpq parameters a URL may set through its query string.
ALLOWED_QUERY = frozenset(
    [
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "application_name",
        "target_session_attrs",
        "gssencmode",
        "channel_binding",
    ]
)


def is_postgres_url(text: str) -> bool:
    """Whether a ``--store`` value names a PostgreSQL database."""
    return text.split("://", 1)[0].lower() in SCHEMES and "://" in text


@dataclass(frozen=True)
class PgTarget:
    """Where the database is and who connects; ``display`` is safe to log (no password)."""

    host: str
    port: int
    user: str
    dbname: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def display(self) -> str:
        """The URL as the operator wrote it, minus anything secret."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def conninfo(self, **extra: str | int) -> dict[str, str | int]:
        """Keyword arguments for ``psycopg.connect`` (password from XRSCHED_STORE_PASSWORD if set)."""
        params: dict[str, str | int] = {"host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname}
        params.update(self.options)
        password = os.environ.get(PASSWORD_ENV)
        if password:
            params["password"] = password
        params.update(extra)
        return params


def parse_store_url(text: str) -> PgTarget:
    """Check a store URL; StoreConnectionError says what is wrong in one line."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise StoreConnectionError(f"store URL is malformed: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise StoreConnectionError("store URL must start with postgresql://")
    if parts.password is not None:
        raise StoreConnectionError(
            f"store URL must not contain a password (it would show in process lists and logs): "
            f"use PGPASSWORD, ~/.pgpass or {PASSWORD_ENV}"
        )
    if not parts.hostname:
        raise StoreConnectionError("store URL names no host: postgresql://USER@HOST:PORT/DB")
    if not parts.username:
        raise StoreConnectionError("store URL names no user: postgresql://USER@HOST:PORT/DB")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise StoreConnectionError("store URL names no database: postgresql://USER@HOST:PORT/DB")
    options = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in ALLOWED_QUERY:
            allowed = ", ".join(sorted(ALLOWED_QUERY))
            raise StoreConnectionError(f"store URL: unknown parameter {key!r} (allowed: {allowed})")
        options.append((key, value))
    return PgTarget(parts.hostname, port or 5432, unquote(parts.username), dbname, tuple(options))
