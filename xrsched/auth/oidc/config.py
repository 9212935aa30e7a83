"""The ``[oidc]`` table of the server config: which identity provider's tokens to accept.

Example (Keycloak; Okta and others differ only in the URLs and the claim)::

    [oidc]
    issuer = "https://sso.example.com/realms/data"
    audience = "xrsched"
    jwks = "https://sso.example.com/realms/data/protocol/openid-connect/certs"
    role_claim = "groups"

    [oidc.roles]
    "sched-admins" = "admin"
    "data-eng" = "operator"

Only asymmetric algorithms are accepted: ``none`` and the HMAC family (``HS*``) are refused
here, at start-up, because with a public key set anyone could sign an HMAC token with the
public key as the shared secret (the "algorithm confusion" attack).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from xrsched.auth.roles import Role

#: Algorithms PyJWT verifies with a public key (RSA, RSA-PSS, ECDSA, EdDSA).
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "ES256")
_KEYS = frozenset(
    {
        "issuer",
        "audience",
        "jwks",
        "ca",
        "algorithms",
        "role_claim",
        "roles",
        "leeway",
        "refresh_interval",
        "min_refresh_interval",
        "cache_size",
        "cache_seconds",
    }
)


@dataclass(frozen=True)
class OidcSettings:
    """What the server needs to verify an identity provider's tokens and map them to roles."""

    issuer: str
    audience: str
    #: A file path, or an ``https://`` URL fetched with ``ca`` (system trust store when None).
    jwks: str
    ca: Path | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    #: The claim holding the caller's groups or roles: a name, or a dotted path such as
    #: ``realm_access.roles`` (Keycloak). A string claim counts as a list of one.
    role_claim: str = "groups"
    #: Claim value -> role. When several values match, the highest role wins.
    roles: Mapping[str, Role] = field(default_factory=lambda: MappingProxyType({}))
    #: Seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``.
    leeway: float = 30.0
    #: Seconds between scheduled fetches of the key set.
    refresh_interval: float = 3600.0
    #: The least time between two fetches, whatever asks (an unknown ``kid`` included).
    min_refresh_interval: float = 30.0
    #: How many verified tokens are remembered, and for how long at most (never past ``exp``).
    cache_size: int = 1024
    cache_seconds: float = 60.0

    @property
    def jwks_is_url(self) -> bool:
        """Whether the key set is fetched over HTTPS (else it is read from a file)."""
        return self.jwks.lower().startswith("https://")

    def role_for(self, values: list[str]) -> Role:
        """The highest role mapped from any of ``values``; :attr:`Role.NONE` if none is mapped."""
        return max((self.roles[v] for v in values if v in self.roles), default=Role.NONE)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], origin: str = "config") -> OidcSettings:
        """Build and check an ``[oidc]`` table; ValueError says which key is wrong and why."""
        unknown = sorted(k for k in values if k.replace("-", "_") not in _KEYS)
        if unknown:
            raise ValueError(f"{origin}: unknown [oidc] setting(s): {', '.join(unknown)}")
        raw = {k.replace("-", "_"): v for k, v in values.items()}
        for key in ("issuer", "audience", "jwks"):
            if key not in raw:
                raise ValueError(f"{origin}: oidc.{key} is required")
        return cls(
            issuer=_text(raw, "issuer", origin),
            audience=_text(raw, "audience", origin),
            jwks=_jwks(raw, origin),
            ca=Path(_text(raw, "ca", origin)).expanduser() if "ca" in raw else None,
            algorithms=_algorithms(raw.get("algorithms", list(DEFAULT_ALGORITHMS)), origin),
            role_claim=_text(raw, "role_claim", origin) if "role_claim" in raw else "groups",
            roles=_roles(raw.get("roles", {}), origin),
            leeway=_seconds(raw, "leeway", 30.0, origin, least=0.0),
            refresh_interval=_seconds(raw, "refresh_interval", 3600.0, origin, least=1.0),
            min_refresh_interval=_seconds(raw, "min_refresh_interval", 30.0, origin, least=0.0),
            cache_size=_count(raw, "cache_size", 1024, origin),
            cache_seconds=_seconds(raw, "cache_seconds", 60.0, origin, least=0.0),
        )


def _text(raw: Mapping[str, Any], key: str, origin: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip() or any(ch in value for ch in "\r\n"):
        raise ValueError(f"{origin}: oidc.{key} must be a non-empty one-line string, got {value!r}")
    return value.strip()


def _jwks(raw: Mapping[str, Any], origin: str) -> str:
    value = _text(raw, "jwks", origin)
    if "://" in value and not value.lower().startswith("https://"):
        raise ValueError(f"{origin}: oidc.jwks must be a file path or an https:// URL, got {value!r}")
    return value


def _algorithms(value: Any, origin: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{origin}: oidc.algorithms must be a non-empty list of names, got {value!r}")
    for name in value:
        if name.lower() == "none":
            raise ValueError(f"{origin}: oidc.algorithms: 'none' is refused (it means unsigned tokens)")
        if name.upper().startswith("HS"):
            raise ValueError(
                f"{origin}: oidc.algorithms: {name!r} is refused (an HMAC algorithm: anyone who has the "
                "public key set could sign tokens with it)"
            )
        if name not in ASYMMETRIC_ALGORITHMS:
            known = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise ValueError(f"{origin}: oidc.algorithms: unknown algorithm {name!r} (known: {known})")
    return tuple(dict.fromkeys(value))


def _roles(value: Any, origin: str) -> Mapping[str, Role]:
    if not isinstance(value, dict):
        raise ValueError(f"{origin}: [oidc.roles] must be a table of claim value = role")
    roles: dict[str, Role] = {}
    for claim_value, role in value.items():
        if not isinstance(role, str):
            raise ValueError(f"{origin}: oidc.roles.{claim_value!r} must be a role name, got {role!r}")
        try:
            roles[claim_value] = Role.parse(role)
        except ValueError as exc:
            raise ValueError(f"{origin}: oidc.roles.{claim_value!r}: {exc}") from None
    return MappingProxyType(roles)


def _seconds(raw: Mapping[str, Any], key: str, default: float, origin: str, *, least: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not least <= value < 10**9:
        raise ValueError(f"{origin}: oidc.{key} must be a number of seconds >= {least:g}, got {value!r}")
    return float(value)


def _count(raw: Mapping[str, Any], key: str, default: int, origin: str) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        raise ValueError(f"{origin}: oidc.{key} must be a whole number from 0 to 1000000, got {value!r}")
    return value
