"""The dashboard's response rules as data: security headers, the session cookie, JSON bodies."""

from __future__ import annotations

import json
from typing import Any

from xrsched.dashboard.sessions import Session

COOKIE_NAME = "xrsched_session"
CSRF_HEADER = "X-CSRF-Token"
JSON_TYPE = "application/json; charset=utf-8"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: On every dashboard answer (``X-Content-Type-Options: nosniff`` is on every answer already).
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
NO_STORE = ("Cache-Control", "no-store")


def set_cookie(session_id: str, max_age: float) -> tuple[str, str]:
    """The ``Set-Cookie`` header that hands a browser its session id.

    ``Secure`` always, also on a plain-HTTP or Unix-socket listener: there the dashboard is
    meant to sit behind a TLS-terminating proxy (browsers also keep ``Secure`` cookies from
    ``http://localhost``, which they count as a secure context).
    """
    return (
        "Set-Cookie",
        f"{COOKIE_NAME}={session_id}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={max(int(max_age), 0)}",
    )


def clear_cookie() -> tuple[str, str]:
    """The ``Set-Cookie`` header that makes a browser forget its session cookie."""
    return ("Set-Cookie", f"{COOKIE_NAME}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")


def cookie_values(header: str | None) -> list[str]:
    """Every value of the session cookie in a ``Cookie`` header (a page of a sibling host may
    have set a second one; the caller tries each)."""
    if not header:
        return []
    values = []
    for part in header.split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name == COOKIE_NAME and value and len(value) <= 128:
            values.append(value.strip('"'))
    return values[:4]


def session_json(session: Session) -> bytes:
    """What ``POST/GET /session`` answer: identity, role, CSRF token and expiry."""
    return dump(
        {
            "identity": session.identity.principal,
            "role": session.identity.role.label,
            "csrf": session.csrf,
            "expires": int(session.expires),
        }
    )


def error_json(status: int, message: str) -> bytes:
    """The ``/api/`` error body (``xrsched.luigi_api.jsoncodec.dump_error``'s shape)."""
    return dump({"error": {"status": status, "code": status, "message": message}})


def dump(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":")).encode()
