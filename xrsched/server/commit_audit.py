"""What a request's audit records say when the commit it waits for fails (DESIGN §3, audit).

Every call is audited as it ends, before the request waits for its changes to be stored: the
audit log is append-only and chained, so a record is never rewritten, and one held back until
the commit would be lost if the process died meanwhile, while its change might be stored
already. When that commit then fails, the request is answered 503 and the calls it carried did
not become durable: each call whose change was in it (and the ``system.multicall`` around them)
gets a second record, same method and request id, outcome 503 and ``"commit": "failed"``.
"""

from __future__ import annotations

from contextvars import ContextVar

from xrsched.rpc.dispatch import MULTICALL


class RequestCalls:
    """The calls one request made, in audit order, each with whether it left a change awaiting
    the request's commit. ``tickets`` is the request's list of commit tickets (see
    :data:`xrsched.service.context.DEFERRED_DURABILITY`): a call that changed state adds one."""

    def __init__(self, tickets: list[int]) -> None:
        self._tickets = tickets
        self._seen = 0
        self._calls: list[tuple[str, bool]] = []

    def audited(self, method: str, outcome: str | int) -> None:
        """Note a call just audited: it awaits the commit if tickets came since the last call."""
        changed = len(self._tickets) > self._seen
        self._seen = len(self._tickets)
        self._calls.append((method, changed and outcome == "ok"))

    def uncommitted(self) -> list[str]:
        """The methods whose ``ok`` a failed commit makes untrue, in audit order: the calls that
        changed state, and a multicall that carried any of them."""
        methods = [method for method, changed in self._calls if changed]
        if methods and self._calls[-1][0] == MULTICALL and methods[-1] != MULTICALL:
            methods.append(MULTICALL)
        return methods


#: The calls of the request being dispatched in this context (None outside a request).
REQUEST_CALLS: ContextVar[RequestCalls | None] = ContextVar("xrsched_request_calls", default=None)
