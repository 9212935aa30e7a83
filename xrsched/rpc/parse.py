"""Parse an XML-RPC ``methodCall`` from bytes, safely and in one streaming pass.

The document goes through defusedxml's expat SAX driver with DTDs, entity declarations
and external references forbidden, so billion-laughs, quadratic-blowup and XXE documents
are refused before any expansion. Values are built on explicit stacks while expat
streams start/end events; the grammar is checked at each start tag and the array/struct
nesting depth is counted there too, so a 100,000-deep document is refused at level
``max_depth + 1`` without building a tree or recursing.

Plain documents (no ``<!`` anywhere, see :mod:`xrsched.rpc.treeparse`) are first read by
ElementTree's C parser; anything it does not accept comes here.

Namespace prefixes are dropped (``ex:nil`` is ``nil``) without requiring the prefix to be
declared, as CPython's client does. Text outside value elements is ignored.
"""

from __future__ import annotations

from typing import Any
from xml.sax import SAXParseException

from defusedxml.common import DefusedXmlException

from xrsched.rpc.faults import INVALID_REQUEST, PARSE_ERROR, ProtocolError, printable
from xrsched.rpc.limits import DEFAULT_LIMITS, RequestLimits
from xrsched.rpc.treeparse import parse_call_tree
from xrsched.rpc.valuebuilder import EMPTY, DefusedReader, ValueBuilder


def _invalid(message: str) -> ProtocolError:
    return ProtocolError(INVALID_REQUEST, f"invalid request: {message}")


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

    def error(self, message: str) -> ProtocolError:
        """-32600 with the reason."""
        return _invalid(message)

    def unexpected(self, tag: str, parent: str) -> ProtocolError:
        """-32600 naming the misplaced element."""
        where = f"inside <{parent}>" if parent else "as the root element"
        return _invalid(f"unexpected element <{printable(tag, 40)}> {where}")

    def open_envelope(self, tag: str) -> None:
        """Refuse repeated envelope parts; start a parameter."""
        if tag == "param":
            self._param = EMPTY
        elif tag == "methodName":
            if self.method is not None:
                raise _invalid("more than one <methodName>")
        elif tag == "params":
            if self._seen_params:
                raise _invalid("more than one <params>")
            self._seen_params = True

    def close_envelope(self, tag: str, text: str) -> None:
        """Keep a finished parameter or the method name."""
        if tag == "param":
            if self._param is EMPTY:
                raise _invalid("<param> without a <value>")
            self.params.append(self._param)
        elif tag == "methodName":
            self.method = text.strip()

    def deliver_top(self, parent: str, value: Any) -> None:
        """The value of a <param>."""
        if self._param is not EMPTY:
            raise _invalid("more than one <value> in a <param>")
        self._param = value


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
    parser = DefusedReader(builder)
    try:
        parser.feed(body)
        parser.close()
    except SAXParseException as exc:
        # getMessage() is expat's fixed phrase, without line, column or input text.
        raise ProtocolError(PARSE_ERROR, f"parse error: not well-formed XML ({exc.getMessage()})") from None
    except DefusedXmlException:
        raise _invalid("DTDs, entity declarations and external references are not allowed") from None
    except LookupError:  # the XML declaration names an encoding Python does not know
        raise ProtocolError(PARSE_ERROR, "parse error: unknown character encoding") from None
    except RecursionError:  # cannot happen with the stacks above; refuse rather than crash
        raise _invalid("document nested too deeply") from None
    if builder.method is None:
        raise _invalid("<methodCall> without a <methodName>")
    if not builder.method:
        raise _invalid("empty <methodName>")
    return builder.method, tuple(builder.params)
