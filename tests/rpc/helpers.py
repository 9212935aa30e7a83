"""Helpers for the XML-RPC layer tests: a stand-in service and request/answer codecs."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from xrsched.core.errors import UnknownTask


class Service:
    """A stand-in for the service facade, with Luigi-like parameter names and hints."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def add_task(
        self,
        task_id: str,
        status: str = "PENDING",
        deps: list[str] | None = None,
        resources: dict[str, int] | None = None,
        priority: float = 0,
        runnable: bool = True,
        **kwargs: Any,
    ) -> None:
        """Register or update a task.

        Later paragraphs are not part of the help text.
        """
        self.calls.append(("add_task", {"task_id": task_id, "status": status, "deps": deps,
                                        "resources": resources, "priority": priority,
                                        "runnable": runnable, **kwargs}))  # fmt: skip

    def ping(self, worker: str) -> dict[str, Any]:
        """Keep a worker alive."""
        return {"rpc_messages": [], "worker": worker, "ignored": None}

    def fetch_error(self, task_id: str) -> dict[str, Any]:
        """Return a task's error."""
        raise UnknownTask(task_id)

    def explode(self) -> str:
        """Fail with an unexpected exception."""
        raise RuntimeError("secret path /etc/xrsched/tokens and a password=hunter2")

    def echo(self, value: Any) -> Any:
        """Return the argument."""
        return value

    def count(self, n: int, *, scale: float = 1.0) -> float:
        """Multiply."""
        return n * scale


def request(method: str, *params: Any) -> bytes:
    """A methodCall body as the stdlib client would send it."""
    return xmlrpc.client.dumps(params, method, allow_none=True).encode()


def answer(body: bytes) -> Any:
    """The single value of a methodResponse (raises xmlrpc.client.Fault for a fault)."""
    values, _ = xmlrpc.client.loads(body)
    return values[0]


def fault(body: bytes) -> tuple[int, str]:
    """``(faultCode, faultString)`` of a fault methodResponse."""
    try:
        xmlrpc.client.loads(body)
    except xmlrpc.client.Fault as exc:
        return exc.faultCode, exc.faultString
    raise AssertionError(f"expected a fault, got {body!r}")


def call_xml(method: str, *values_xml: str) -> bytes:
    """A methodCall body with hand-written ``<value>`` fragments."""
    params = "".join(f"<param>{v}</param>" for v in values_xml)
    head = f"<?xml version='1.0'?><methodCall><methodName>{method}</methodName>"
    return f"{head}<params>{params}</params></methodCall>".encode()
