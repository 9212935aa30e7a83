"""Parse XML-RPC ``methodCall`` and ``methodResponse`` documents from bytes, safely.

Plain documents (no ``<!`` anywhere, see :mod:`xrsched.rpc.treeparse`) are read by
ElementTree's C parser. Everything else is streamed once through defusedxml's expat driver
(:mod:`xrsched.rpc.valuebuilder`): DTDs, entity declarations and external references are
refused before any expansion (no billion laughs, no XXE), the grammar is checked at each start
tag and nesting past ``max_depth`` is refused there. Namespace prefixes are dropped (``ex:nil``
is ``nil``), as CPython's client does.
"""

from __future__ import annotations

from typing import Any
from xml.sax import SAXParseException

from defusedxml.common import DefusedXmlException

from xrsched.rpc.faults import PARSE_ERROR, ProtocolError
from xrsched.rpc.limits import DEFAULT_LIMITS, RequestLimits
from xrsched.rpc.treeparse import parse_call_tree
from xrsched.rpc.valuebuilder import EMPTY, DefusedReader, ValueBuilder, invalid


class _CallBuilder(ValueBuilder):
    """Checks the methodCall envelope and collects the method name and parameters."""

    ENVELOPE = {
        "": frozenset({"methodCall"}),
        "methodCall": frozenset({"methodName", "params"}),
        "params": frozenset({"param"}),
        "param": frozenset({"value"}),
    }

    def __init__(self, max_depth: int) -> None:
        super().__init__(max_depth)
        self.method: str | None = None
        self.params: list[Any] = []
        self._seen_params = False
        self._param: Any = EMPTY

    def open_envelope(self, tag: str) -> None:
        """Refuse repeated envelope parts; start a parameter."""
        if tag == "param":
            self._param = EMPTY
        elif tag == "methodName":
            if self.method is not None:
                raise invalid("more than one <methodName>")
        elif tag == "params":
            if self._seen_params:
                raise invalid("more than one <params>")
            self._seen_params = True

    def close_envelope(self, tag: str, text: str) -> None:
        """Keep a finished parameter or the method name."""
        if tag == "param":
            if self._param is EMPTY:
                raise invalid("<param> without a <value>")
            self.params.append(self._param)
        elif tag == "methodName":
            self.method = text.strip()

    def deliver_top(self, parent: str, value: Any) -> None:
        """The value of a <param>."""
        if self._param is not EMPTY:
            raise invalid("more than one <value> in a <param>")
        self._param = value


class _ResponseBuilder(ValueBuilder):
    """Checks the methodResponse envelope and keeps its one value (or fault)."""

    ENVELOPE = {
        "": frozenset({"methodResponse"}),
        "methodResponse": frozenset({"params", "fault"}),
        "params": frozenset({"param"}),
        "param": frozenset({"value"}),
        "fault": frozenset({"value"}),
    }

    def __init__(self, max_depth: int) -> None:
        super().__init__(max_depth)
        self.result: Any = EMPTY
        self.is_fault = False
        self._answered = False  # <params> or <fault> seen

    def open_envelope(self, tag: str) -> None:
        """Only one <params> or <fault>."""
        if tag == "params" or tag == "fault":
            if self._answered:
                raise invalid("more than one <params> or <fault>")
            self._answered = True
            self.is_fault = tag == "fault"

    def close_envelope(self, tag: str, text: str) -> None:
        """A <param> or <fault> must have carried a value."""
        if (tag == "param" or tag == "fault") and self.result is EMPTY:
            raise invalid(f"<{tag}> without a <value>")

    def deliver_top(self, parent: str, value: Any) -> None:
        """The result (or the fault struct)."""
        if self.result is not EMPTY:
            raise invalid("more than one result value")
        self.result = value


def parse_call(body: bytes, limits: RequestLimits = DEFAULT_LIMITS) -> tuple[str, tuple[Any, ...]]:
    """Return ``(method_name, params)`` for an XML-RPC request body.

    Raises :class:`ProtocolError`: ``-32700`` when the body is not well-formed XML,
    ``-32600`` when it is XML but not an acceptable methodCall (DTDs and entity
    declarations included, and values nested deeper than ``limits.max_depth``).
    Plain documents are read by :func:`~xrsched.rpc.treeparse.parse_call_tree`; whatever it
    does not accept is streamed by :func:`stream_call`, which has the last word.
    """
    parsed = parse_call_tree(body, limits.max_depth)
    if parsed is not None:
        return parsed
    return stream_call(body, limits)


def stream_call(body: bytes, limits: RequestLimits = DEFAULT_LIMITS) -> tuple[str, tuple[Any, ...]]:
    """:func:`parse_call` through defusedxml's streaming driver only (any document, exact errors)."""
    builder = _CallBuilder(limits.max_depth)
    _stream(builder, body)
    if builder.method is None:
        raise invalid("<methodCall> without a <methodName>")
    if not builder.method:
        raise invalid("empty <methodName>")
    return builder.method, tuple(builder.params)


def stream_response(body: bytes, max_depth: int) -> tuple[bool, Any]:
    """``(is_fault, value)`` of any methodResponse document; :class:`ProtocolError` with the exact reason."""
    builder = _ResponseBuilder(max_depth)
    _stream(builder, body)
    if builder.result is EMPTY:
        raise invalid("no <params> or <fault> with a value")
    return builder.is_fault, builder.result


def _stream(builder: ValueBuilder, body: bytes) -> None:
    """Feed ``body`` to ``builder`` through defusedxml's expat driver; refusals as ProtocolError."""
    parser = DefusedReader(builder)
    try:
        parser.feed(body)
        parser.close()
    except SAXParseException as exc:
        # getMessage() is expat's fixed phrase, without line, column or input text.
        raise ProtocolError(PARSE_ERROR, f"parse error: not well-formed XML ({exc.getMessage()})") from None
    except DefusedXmlException:
        raise invalid("DTDs, entity declarations and external references are not allowed") from None
    except LookupError:  # the XML declaration names an encoding Python does not know
        raise ProtocolError(PARSE_ERROR, "parse error: unknown character encoding") from None
    except RecursionError:  # cannot happen with the stacks above; refuse rather than crash
        raise invalid("document nested too deeply") from None
