"""The ``[dashboard]`` section of the server's config file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

#: Eight hours without a request end a session; a day after sign-in it ends anyway.
DEFAULT_IDLE = 8 * 3600.0
DEFAULT_MAX = 24 * 3600.0


@dataclass(frozen=True)
class DashboardSettings:
    """Whether ``/`` serves the dashboard, and how long its sign-in sessions live.

    - ``enabled``: serve ``/``, ``/static/*`` and ``/session`` and accept the session cookie on
      ``/api/`` (false: those paths answer 404 and cookies are ignored).
    - ``session_idle``: seconds without a request after which a session ends.
    - ``session_max``: seconds after sign-in after which a session ends, used or not.
    - ``max_sessions``: sessions kept at once; signing in past it ends the oldest one.
    - ``sign_in_attempts`` / ``sign_in_window``: failed sign-ins one peer address may make
      within the window (seconds) before its sign-ins are refused with 429 until it passes.
    """

    enabled: bool = True
    session_idle: float = DEFAULT_IDLE
    session_max: float = DEFAULT_MAX
    max_sessions: int = 1000
    sign_in_attempts: int = 10
    sign_in_window: float = 60.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], origin: str = "config") -> DashboardSettings:
        """Build from a TOML ``[dashboard]`` table; ValueError names an unknown key or a bad value."""
        known = {f.name for f in fields(cls)}
        given: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ValueError(f"{origin}: unknown [dashboard] setting {key!r}")
            given[name] = _checked(name, value, origin)
        settings = cls(**given)
        if settings.session_idle > settings.session_max:
            raise ValueError(f"{origin}: dashboard.session_idle must not exceed dashboard.session_max")
        return settings


def _checked(name: str, value: Any, origin: str) -> Any:
    if name == "enabled":
        if type(value) is not bool:
            raise ValueError(f"{origin}: dashboard.enabled must be true or false, got {value!r}")
        return value
    if name in ("max_sessions", "sign_in_attempts"):
        if type(value) is not int or value < 1:
            raise ValueError(f"{origin}: dashboard.{name} must be a positive integer, got {value!r}")
        return value
    if type(value) not in (int, float) or not 0 < value < 10**9:
        raise ValueError(f"{origin}: dashboard.{name} must be a positive number of seconds, got {value!r}")
    return float(value)
