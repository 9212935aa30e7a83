"""``audit_search``: pages of the server's audit log for administrators (contract B).

Not a core method: the audit log is a file the server writes, not scheduling state. The work
per call is bounded (:data:`MAX_LIMIT` records, :data:`~xrsched.audit_read.DEFAULT_MAX_BYTES`
read), so an administrator's page never stalls the server on a large log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xrsched.audit_read import CursorError, RecordFilter, search
from xrsched.core.errors import BadValue, Unavailable

MAX_LIMIT = 500
DISABLED_NOTE = "audit log disabled"


def _text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value or len(value) > 200:
        raise BadValue(f"{name}: expected 1-200 characters")
    return value


def audit_page(
    path: Path | None,
    identity: str | None,
    method: str | None,
    outcome: str | None,
    limit: int,
    before: str | None,
) -> dict[str, Any]:
    """The reply of ``audit_search`` for the audit file ``path`` (None: auditing is off)."""
    if isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise BadValue(f"limit: expected 1 to {MAX_LIMIT} (the cap), got {limit}")
    wanted = RecordFilter(
        identity=_text("identity", identity), method=_text("method", method), outcome=_text("outcome", outcome)
    )
    if path is None:
        return {"records": [], "note": DISABLED_NOTE}
    try:
        page = search(path, wanted, limit=limit, before=_text("before", before))
    except CursorError as exc:
        raise BadValue(str(exc)) from None
    except OSError as exc:
        raise Unavailable(f"the audit log cannot be read: {exc.strerror or type(exc).__name__}") from None
    reply: dict[str, Any] = {"records": page.records}
    if page.next is not None:
        reply["next"] = page.next
    if page.note is not None:
        reply["note"] = page.note
    return reply
