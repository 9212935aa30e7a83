"""Put a live test server (``tests/server/conftest.py``'s ``live_server``) into a leader's or a
standby's role by hand, as a PostgreSQL election would, without PostgreSQL."""

from __future__ import annotations

from typing import Any

from xrsched.server.leadership import Leadership


def lead(server: Any, epoch: int) -> Leadership:
    """Make ``server`` the leader at ``epoch``; its new leadership."""
    leadership = Leadership(advertise_url=server.url)
    leadership.lead(epoch)
    server.runtime.app.leadership = leadership
    return leadership


def follow(server: Any, epoch: int, leader_url: str | None) -> Leadership:
    """Make ``server`` a standby at ``epoch`` that names ``leader_url`` (None: no leader known);
    its new leadership."""
    leadership = Leadership(advertise_url=server.url)
    leadership.follow(epoch, leader_url)
    server.runtime.app.leadership = leadership
    return leadership
