"""SchedulerProxy: the ``xmlrpc.client.ServerProxy`` that :class:`~xrsched.client.RemoteScheduler` talks through.

One hook is changed, ``__getattr__``: the stdlib's ``dumps`` cannot send ``<i8>``, sends ``nan``
and has no room for a request id, so requests are written by :func:`xrsched.client.wire.encode_call`.
"""

from __future__ import annotations

import functools
import xmlrpc.client
from typing import Any

from xrsched.client.transport import SchedulerTransport
from xrsched.client.wire import encode_call


class SchedulerProxy(xmlrpc.client.ServerProxy):
    """``ServerProxy(url, transport=SchedulerTransport(...))`` whose calls take a ``request_id``.

    ``getattr(proxy, "add_task")(struct, request_id=...)`` returns the method's value and raises
    the fault's :class:`~xrsched.client.errors.SchedulerFault` or a transport error. ``close``,
    ``transport`` and ``with`` work as on any ``ServerProxy``.
    """

    def __init__(self, transport: SchedulerTransport) -> None:
        # ServerProxy knows only http(s) URLs; for unix: the transport says where the bytes go.
        super().__init__(
            "http://localhost/RPC2" if transport.endpoint.socket_path else transport.url, transport=transport
        )
        self._sender = transport

    def __getattr__(self, name: str) -> Any:
        """The stdlib marshals with ``dumps()``: no ``<i8>``, ``nan`` sent as is, no request id."""
        if name.startswith("_"):  # never a remote call for a dunder probe (copy, pickle, ...)
            raise AttributeError(name)
        return functools.partial(self.invoke, name)

    def invoke(self, method: str, *params: Any, request_id: str | None = None) -> Any:
        """Send ``method(*params)`` in one HTTP exchange and return its value."""
        sender = self._sender
        body = encode_call(method, params)
        (value,) = sender.request(sender.endpoint.host, sender.endpoint.path, body, request_id=request_id)
        return value
