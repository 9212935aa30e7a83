"""The fields of an audit record of one call or request, built in one place.

Every record names the peer, the identity and its role (when the caller authenticated), the
method, the outcome, the duration and the request id; a dashboard request adds ``via``. The
writer (:mod:`xrsched.audit`) orders, checks and chains them.
"""

from __future__ import annotations

from typing import Any

from xrsched.auth import Identity
from xrsched.rpc.app import Peer, peer_text


def request_fields(
    peer: Peer | None,
    identity: object,
    method: str,
    outcome: str | int,
    duration_ms: float,
    request_id: str,
    *,
    via: str | None = None,
) -> dict[str, Any]:
    """The keyword arguments of :meth:`AuditLog.record` for one call or request. ``identity``
    is whatever authentication gave (anything but an :class:`Identity` records no one);
    ``via`` is left out when empty."""
    who = identity if isinstance(identity, Identity) else None
    fields: dict[str, Any] = {
        "peer": peer_text(peer),
        "identity": who.principal if who else None,
        "role": who.role.label if who else None,
        "method": method,
        "outcome": outcome,
        "duration_ms": duration_ms,
        "request_id": request_id,
    }
    if via:
        fields["via"] = via
    return fields
