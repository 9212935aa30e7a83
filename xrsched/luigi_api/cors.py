"""Cross-origin rules for ``/api/``: luigid's ``[cors]`` settings and our cross-site POST refusal.

Pure functions over headers: the handler (:mod:`xrsched.luigi_api.routes`) decides when to apply
them. Keys and defaults are luigid's (``luigi/server.py``, class ``cors``) so an operator copies
the section from ``luigi.cfg``; the default is no CORS at all.

luigid has no CSRF protection. Browsers re-send HTTP Basic credentials they once used on a
cross-site form POST, so a state-changing POST whose ``Origin`` is foreign (or that says
``Sec-Fetch-Site: cross-site``) is refused unless ``[cors]`` allows that origin. Plain API
clients (Luigi workers, curl, scripts) send no ``Origin`` and are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class CorsSettings:
    """luigid's ``[cors]`` section; every key keeps luigid's name and default."""

    enabled: bool = False
    allowed_origins: tuple[str, ...] = ()
    allow_any_origin: bool = False
    allow_null_origin: bool = False
    max_age: int = 86400
    allowed_methods: str = "GET, OPTIONS"
    allowed_headers: str = "Accept, Content-Type, Origin"
    exposed_headers: str = ""
    allow_credentials: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], origin: str = "config") -> CorsSettings:
        """Build from a TOML ``[cors]`` table; ValueError names an unknown key or a wrong type."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(k for k in values if k.replace("-", "_") not in known)
        if unknown:
            raise ValueError(f"{origin}: unknown [cors] setting(s): {', '.join(unknown)}")
        given: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            given[name] = _checked(name, value, origin)
        return cls(**given)

    def origin_allowed(self, origin: str) -> bool:
        """Whether ``origin`` may call ``/api/`` from a browser under these settings."""
        if not self.enabled:
            return False
        if origin == "null":
            return self.allow_null_origin
        return self.allow_any_origin or origin in self.allowed_origins


def _checked(name: str, value: Any, origin: str) -> Any:
    if name in ("enabled", "allow_any_origin", "allow_null_origin", "allow_credentials"):
        if type(value) is not bool:
            raise ValueError(f"{origin}: cors.{name} must be true or false, got {value!r}")
        return value
    if name == "max_age":
        if type(value) is not int or value < 0:
            raise ValueError(f"{origin}: cors.max_age must be a non-negative integer, got {value!r}")
        return value
    if name == "allowed_origins":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{origin}: cors.allowed_origins must be a list of strings, got {value!r}")
        # As luigid does: "*" and "null" are not origins; allow_any_origin / allow_null_origin say that.
        return tuple(v for v in value if v not in ("*", "null"))
    if not isinstance(value, str) or any(ch in value for ch in "\r\n"):
        raise ValueError(f"{origin}: cors.{name} must be a one-line string, got {value!r}")
    return value


def response_headers(settings: CorsSettings, origin: str | None) -> list[tuple[str, str]]:
    """The ``Access-Control-*`` headers of an actual ``/api/`` answer to ``origin``."""
    if origin is None or not settings.origin_allowed(origin):
        return []
    if origin == "null":
        headers = [("Access-Control-Allow-Origin", "null")]
    elif settings.allow_any_origin:
        headers = [("Access-Control-Allow-Origin", "*")]
    else:
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    if settings.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if settings.exposed_headers:
        headers.append(("Access-Control-Expose-Headers", settings.exposed_headers))
    return headers


def preflight_headers(settings: CorsSettings, origin: str | None) -> list[tuple[str, str]]:
    """The headers of the ``204`` answer to an ``OPTIONS`` preflight from ``origin``."""
    headers = response_headers(settings, origin)
    if not headers:
        return []
    headers += [
        ("Access-Control-Max-Age", str(settings.max_age)),
        ("Access-Control-Allow-Methods", settings.allowed_methods),
        ("Access-Control-Allow-Headers", settings.allowed_headers),
    ]
    return headers


def cross_site_refusal(settings: CorsSettings, headers: Mapping[str, str], own_origin: str) -> str | None:
    """Why a state-changing POST must be refused as cross-site, or None when it may go on.

    No ``Origin`` and no ``Sec-Fetch-Site: cross-site``: a plain API client, allowed. An
    ``Origin`` equal to this server's own (``own_origin``, from the scheme and ``Host``) or
    allowed by ``[cors]``: allowed. Anything else is a page on another site posting here.
    """
    origin = headers.get("origin")
    if origin is not None:
        origin = origin.strip()
        if origin.lower() == own_origin.lower() or settings.origin_allowed(origin):
            return None
        shown = "".join(ch if " " <= ch <= "~" else "?" for ch in origin[:100])
        return (
            f"cross-site request refused: Origin {shown} is not this server and not allowed by [cors]; "
            "API clients send no Origin header"
        )
    if headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        return "cross-site request refused (Sec-Fetch-Site: cross-site); API clients send no such header"
    return None
