"""xrsched: a central task scheduler with Luigi's semantics, spoken over hardened XML-RPC."""

__version__ = "0.1.0"
