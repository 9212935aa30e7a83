"""The client-chosen id of the call being served, for answering retried calls (DESIGN §4b).

A client sends ``"__request_id"`` in the keyword struct of a call and reuses it when it
retries; the RPC layer puts it here for the duration of the call and the service answers a
repeat with the first answer.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

#: Member of the ``__starstar`` struct that carries the id.
REQUEST_ID_MEMBER = "__request_id"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

CURRENT_REQUEST_ID: ContextVar[str | None] = ContextVar("xrsched_request_id", default=None)


def valid_request_id(value: object) -> bool:
    """Whether ``value`` is an acceptable request id (1-128 of ``[A-Za-z0-9._:-]``)."""
    return isinstance(value, str) and _VALID.fullmatch(value) is not None
