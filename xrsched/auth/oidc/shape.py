"""Tell an identity provider's JWT from one of our own token secrets by its shape alone.

Kept apart from the verifier so that deciding where a bearer value goes costs no import of
PyJWT or cryptography.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

#: Longest JWT considered (providers with many groups per user make long tokens).
MAX_JWT_LENGTH = 16 * 1024
_PART = re.compile(r"[A-Za-z0-9_-]*")


def looks_like_jwt(value: str) -> bool:
    """Whether ``value`` has a JWT's shape: ``header.payload.signature`` in base64url, with a
    header that is a JSON object naming an ``alg`` (our own secrets never contain a dot)."""
    if len(value) > MAX_JWT_LENGTH or value.count(".") != 2:
        return False
    header, payload, signature = value.split(".")
    if not header or not payload or not all(_PART.fullmatch(part) for part in (header, payload, signature)):
        return False
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return isinstance(decoded, dict) and isinstance(decoded.get("alg"), str)


def bearer_jwt(authorization: str | None) -> str | None:
    """The JWT of an ``Authorization: Bearer <jwt>`` header; None for any other header."""
    if authorization is None:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not looks_like_jwt(value):
        return None
    return value
