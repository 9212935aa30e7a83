"""The ``system.*`` introspection methods, computed from the registered callables.

``system.multicall`` is listed here (so help and signature work like any method) but
executed by the dispatcher, which must authorize and audit each entry on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xrsched.rpc.registry import MethodEntry, MethodTable

CAPABILITIES: dict[str, dict[str, Any]] = {
    "xmlrpc": {"specUrl": "http://www.xmlrpc.com/spec", "specVersion": 1},
    "faults_interop": {
        "specUrl": "http://xmlrpc-epi.sourceforge.net/specs/rfc.fault_codes.php",
        "specVersion": 20010516,
    },
    "introspection": {"specUrl": "http://xmlrpc-c.sourceforge.net/introspection.html", "specVersion": 1},
    "multicall": {"specUrl": "http://www.xmlrpc.com/discuss/msgReader$1208", "specVersion": 1},
    # phpxmlrpc and its clients look for the method name as the key.
    "system.multicall": {"specUrl": "http://www.xmlrpc.com/discuss/msgReader$1208", "specVersion": 1},
}
"""What ``system.getCapabilities`` answers. No ``nil`` entry: we read ``<nil/>`` but never send it."""


def multicall(calls: list[dict[str, Any]]) -> list[Any]:
    """Run several calls in one request; each result is ``[value]`` or a fault struct.

    Each entry is a struct with ``methodName`` and ``params``. Entries are authorized,
    run and audited one by one; one failing entry does not stop the others.
    """
    # Registered only for its name, signature and help: the dispatcher runs multicalls itself
    # (it must authorize and audit each entry), so reaching this function is a wiring mistake.
    raise RuntimeError("system.multicall is run by the dispatcher, not called directly")


class Introspection:
    """``system.listMethods``, ``methodHelp``, ``methodSignature`` and ``getCapabilities``."""

    def __init__(self, lookup: Callable[[str], MethodEntry], names: Callable[[], list[str]]) -> None:
        self._lookup = lookup
        self._names = names

    def list_methods(self) -> list[str]:
        """Return the names of every method this server offers, sorted."""
        return self._names()

    def method_help(self, method_name: str) -> str:
        """Return the first paragraph of a method's documentation."""
        return self._lookup(method_name).help

    def method_signature(self, method_name: str) -> list[list[str]]:
        """Return a method's signature: XML-RPC type names, the return type first."""
        return [self._lookup(method_name).binder.xmlrpc_signature()]

    def get_capabilities(self) -> dict[str, dict[str, Any]]:
        """Return the XML-RPC extensions this server implements, with their spec URLs."""
        return CAPABILITIES


def system_table(lookup: Callable[[str], MethodEntry], names: Callable[[], list[str]]) -> MethodTable:
    """A table holding the ``system.*`` methods, answering about ``lookup``/``names``."""
    intro = Introspection(lookup, names)
    table = MethodTable()
    table.register("system.listMethods", intro.list_methods)
    table.register("system.methodHelp", intro.method_help)
    table.register("system.methodSignature", intro.method_signature)
    table.register("system.getCapabilities", intro.get_capabilities)
    table.register("system.multicall", multicall)
    return table
