"""Verify an identity provider's JWT and turn it into an :class:`~xrsched.auth.Identity`.

Bearer values shaped like a JWT (:mod:`xrsched.auth.oidc.shape`) come here. A JWT is
accepted when its ``alg`` is one of ``[oidc] algorithms`` and matches a key of the provider's
key set (looked up by ``kid``), its signature verifies, ``exp`` is present and not past,
``nbf``/``iat`` are not in the future (each with ``leeway``), and ``iss``, ``aud`` and ``sub``
are as configured. The identity is ``oidc:<sub>``; its role is the highest one mapped from the
``role_claim`` values, :attr:`Role.NONE` (every call refused with 403) when none is.

Verified tokens are remembered in a small LRU keyed by the token's SHA-256, until the token's
``exp`` or ``cache_seconds`` (whichever is sooner) and never across a change of the key set,
so a worker's steady calls do not each pay a signature check.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import exceptions as jwt_errors

from xrsched.auth.credentials import AuthResult, Identity
from xrsched.auth.oidc.config import OidcSettings
from xrsched.auth.oidc.jwks import KeySet, KeySetState
from xrsched.auth.roles import Role

log = logging.getLogger("xrsched.server")

MAX_SUBJECT_LENGTH = 200
_PRINTABLE = re.compile(r"[\x21-\x7e][\x20-\x7e]*")

#: PyJWT's refusals, most specific first, and the reason the server log shows for each.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt_errors.ExpiredSignatureError, "expired token"),
    (jwt_errors.ImmatureSignatureError, "token not valid yet"),
    (jwt_errors.InvalidAudienceError, "wrong audience"),
    (jwt_errors.InvalidIssuerError, "wrong issuer"),
    (jwt_errors.InvalidSignatureError, "bad signature"),
    (jwt_errors.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt_errors.InvalidKeyError, "algorithm does not match the key"),
    (jwt_errors.MissingRequiredClaimError, "required claim missing"),
    (jwt_errors.DecodeError, "malformed token"),
)


def claim_values(claims: dict[str, Any], name: str) -> list[str]:
    """The string values of claim ``name`` (a list, or one string); a dotted name such as
    ``realm_access.roles`` is followed into nested objects when no claim has that exact name."""
    value: Any = claims.get(name)
    if value is None and "." in name:
        value = claims
        for step in name.split("."):
            value = value.get(step) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


@dataclass(frozen=True)
class _Verified:
    identity: Identity
    #: Epoch seconds after which the cache entry must not be used (never past the token's exp).
    until: float


class VerifiedCache:
    """A bounded LRU of verified tokens keyed by their SHA-256 (the token itself is not kept)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, _Verified] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str) -> bytes:
        """The cache key of a token."""
        return hashlib.sha256(token.encode("utf-8")).digest()

    def get(self, key: bytes, now: float) -> Identity | None:
        """The cached identity, or None if absent or stale (a stale entry is dropped)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now >= entry.until:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.identity

    def put(self, key: bytes, identity: Identity, until: float) -> None:
        """Remember a verified token until ``until``; the least recently used entry makes room."""
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = _Verified(identity, until)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry (the key set changed: a removed key must stop working at once)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class OidcVerifier:
    """Checks identity-provider JWTs against one provider's settings and key set."""

    def __init__(self, settings: OidcSettings, keys: KeySet | None = None) -> None:
        self.settings = settings
        self.keys = keys or KeySet(
            settings.jwks,
            ca=settings.ca,
            refresh_interval=settings.refresh_interval,
            min_refresh_interval=settings.min_refresh_interval,
        )
        self.cache = VerifiedCache(settings.cache_size)
        self.keys.on_change.append(self.cache.clear)
        #: principal -> (role, exp) of the last token verified for it: who holds worker ids.
        self._seen: dict[str, tuple[Role, float]] = {}
        self._seen_lock = threading.Lock()

    def state(self) -> KeySetState:
        """The key set's state, for the health document."""
        return self.keys.state()

    def check(self, token: str, now: float) -> AuthResult:
        """Verify ``token`` at ``now``: an identity (maybe with :attr:`Role.NONE`) or a reason."""
        key = self.cache.key(token)
        identity = self.cache.get(key, now)
        if identity is not None:
            return AuthResult(identity, "ok" if identity.role is not Role.NONE else "no mapped role")
        try:
            claims = self._verify(token, now)
        except jwt_errors.PyJWTError as exc:
            return AuthResult(None, _reason(exc))
        except _Refused as refused:
            return AuthResult(None, refused.reason)
        identity = self._identity(claims)
        expires = float(claims["exp"])
        self.cache.put(key, identity, min(expires, now + self.settings.cache_seconds))
        self._remember(identity, expires)
        return AuthResult(identity, "ok" if identity.role is not Role.NONE else "no mapped role")

    def _verify(self, token: str, now: float) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in self.settings.algorithms:
            raise _Refused("algorithm not allowed")
        # PyJWT refuses a kid that is no string while reading the header (InvalidTokenError).
        signing_key = self.keys.find(header.get("kid"), algorithm, now)
        if signing_key is None:
            raise _Refused("unknown signing key")
        settings = self.settings
        claims: dict[str, Any] = jwt.decode(
            token,
            key=signing_key,
            algorithms=[algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway,
            # The times are checked against the caller's ``now`` below, not PyJWT's own clock.
            options={
                "require": ["exp", "iss", "aud", "sub"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
        _check_times(claims, now, settings.leeway)
        subject = claims.get("sub")
        if not isinstance(subject, str) or len(subject) > MAX_SUBJECT_LENGTH or not _PRINTABLE.fullmatch(subject):
            raise _Refused("bad subject claim")
        return claims

    def _identity(self, claims: dict[str, Any]) -> Identity:
        role = self.settings.role_for(claim_values(claims, self.settings.role_claim))
        identity = Identity(claims["sub"], role, "oidc")
        if role is Role.NONE:
            log.warning(
                "%s: authenticated, but no value of its %r claim is mapped in [oidc.roles]: its calls are refused",
                identity.principal,
                self.settings.role_claim,
            )
        return identity

    def _remember(self, identity: Identity, expires: float) -> None:
        with self._seen_lock:
            self._seen[identity.principal] = (identity.role, expires)

    def principals(self, role: Role, now: float) -> frozenset[str]:
        """The ``oidc:<sub>`` principals whose latest token, still valid at ``now`` (with the
        leeway), carries ``role``: the server keeps their worker-id claims. Forgets the rest."""
        limit = now - self.settings.leeway
        with self._seen_lock:
            for principal in [p for p, (_, exp) in self._seen.items() if exp <= limit]:
                del self._seen[principal]
            return frozenset(p for p, (held, _) in self._seen.items() if held is role)


class _Refused(Exception):
    """A check of ours (not PyJWT's) refused the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_times(claims: dict[str, Any], now: float, leeway: float) -> None:
    """Refuse a token whose ``exp`` has passed or whose ``nbf``/``iat`` lies ahead, at ``now``
    with ``leeway``. The times are JSON numbers (RFC 7519's NumericDate); anything else is refused."""
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise _Refused("malformed token")
    if claims["exp"] <= now - leeway:
        raise _Refused("expired token")
    if any(name in claims and claims[name] > now + leeway for name in ("nbf", "iat")):
        raise _Refused("token not valid yet")


def _reason(exc: jwt_errors.PyJWTError) -> str:
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "invalid token"
