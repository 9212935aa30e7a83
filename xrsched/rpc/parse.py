"""Parse an XML-RPC ``methodCall`` from bytes, safely and in one streaming pass.

The document goes through defusedxml's expat SAX driver with DTDs, entity declarations
and external references forbidden, so billion-laughs, quadratic-blowup and XXE documents
are refused before any expansion. Values are built on explicit stacks while expat
streams start/end events; the grammar is checked at each start tag and the array/struct
nesting depth is counted there too, so a 100,000-deep document is refused at level
``max_depth + 1`` without building a tree or recursing.

Namespace prefixes are dropped (``ex:nil`` is ``nil``) without requiring the prefix to be
declared, as CPython's client does. Text outside value elements is ignored.
"""

from __future__ import annotations

from typing import Any
from xml.sax import SAXParseException

from defusedxml.common import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from xrsched.rpc.faults import INVALID_REQUEST, PARSE_ERROR, ProtocolError, printable
from xrsched.rpc.limits import DEFAULT_LIMITS, RequestLimits
from xrsched.rpc.values import SCALARS

_VALUE_CHILDREN = frozenset(SCALARS) | {"array", "struct"}
_ALLOWED: dict[str, frozenset[str]] = {
    "": frozenset({"methodCall"}),
    "methodCall": frozenset({"methodName", "params"}),
    "params": frozenset({"param"}),
    "param": frozenset({"value"}),
    "value": _VALUE_CHILDREN,
    # Some clients leave out <data>; accepting <value> directly under <array> costs nothing.
    "array": frozenset({"data", "value"}),
    "data": frozenset({"value"}),
    "struct": frozenset({"member"}),
    "member": frozenset({"name", "value"}),
}
_NO_CHILDREN: frozenset[str] = frozenset()
_EMPTY: Any = object()  # a slot with nothing in it yet
_PENDING: Any = object()  # a <value> whose typed child has started but not ended


def _invalid(message: str) -> ProtocolError:
    return ProtocolError(INVALID_REQUEST, f"invalid request: {message}")


class _CallBuilder:
    """Expat event handler that checks the methodCall grammar and builds the parameters."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.method: str | None = None
        self.params: list[Any] = []
        self._seen_params = False
        self._tags: list[str] = []
        self._text: list[str] = []
        self._slots: list[Any] = []  # one per open <value>
        self._containers: list[Any] = []  # open arrays (list) and structs (dict)
        self._members: list[list[Any]] = []  # open <member>: [name, value]
        self._param: Any = _EMPTY

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """Check ``name`` may appear here and open whatever it needs."""
        tag = name[name.rfind(":") + 1 :]
        tags = self._tags
        parent = tags[-1] if tags else ""
        if tag not in _ALLOWED.get(parent, _NO_CHILDREN):
            where = f"inside <{parent}>" if parent else "as the root element"
            raise _invalid(f"unexpected element <{printable(tag, 40)}> {where}")
        if parent == "value":
            if self._slots[-1] is not _EMPTY:
                raise _invalid("more than one value inside <value>")
            self._slots[-1] = _PENDING
        if tag == "value":
            self._slots.append(_EMPTY)
        elif tag == "array" or tag == "struct":
            if len(self._containers) >= self.max_depth:
                raise _invalid(f"values nested deeper than {self.max_depth} levels")
            self._containers.append([] if tag == "array" else {})
        elif tag == "member":
            self._members.append([_EMPTY, _EMPTY])
        elif tag == "param":
            self._param = _EMPTY
        elif tag == "methodName":
            if self.method is not None:
                raise _invalid("more than one <methodName>")
        elif tag == "params":
            if self._seen_params:
                raise _invalid("more than one <params>")
            self._seen_params = True
        tags.append(tag)
        self._text = []

    def characters(self, content: str) -> None:
        """Collect text; it only matters inside scalars, names and untagged values."""
        self._text.append(content)

    def end(self, name: str) -> None:
        """Close the element and hand its value to the enclosing one."""
        tag = self._tags.pop()
        text = "".join(self._text)
        self._text = []
        decode = SCALARS.get(tag)
        if decode is not None:
            self._slots[-1] = decode(text)
        elif tag == "value":
            value = self._slots.pop()
            self._deliver(text if value is _EMPTY else value)
        elif tag == "array" or tag == "struct":
            self._slots[-1] = self._containers.pop()
        elif tag == "member":
            key, value = self._members.pop()
            if key is _EMPTY or value is _EMPTY:
                raise _invalid("<member> needs a <name> and a <value>")
            self._containers[-1][key] = value
        elif tag == "name":
            member = self._members[-1]
            if member[0] is not _EMPTY:
                raise _invalid("more than one <name> in a <member>")
            member[0] = text
        elif tag == "param":
            if self._param is _EMPTY:
                raise _invalid("<param> without a <value>")
            self.params.append(self._param)
        elif tag == "methodName":
            self.method = text.strip()

    def _deliver(self, value: Any) -> None:
        parent = self._tags[-1]
        if parent == "param":
            if self._param is not _EMPTY:
                raise _invalid("more than one <value> in a <param>")
            self._param = value
        elif parent == "member":
            member = self._members[-1]
            if member[1] is not _EMPTY:
                raise _invalid("more than one <value> in a <member>")
            member[1] = value
        else:  # <data> or <array>
            self._containers[-1].append(value)


class _DefusedReader(DefusedExpatParser):
    """defusedxml's expat driver (DTDs, entities, external references forbidden) feeding a builder.

    Element events go straight from expat to the builder instead of through the SAX
    wrappers: that halves the cost of parsing, and this runs for every request.
    """

    def __init__(self, builder: _CallBuilder) -> None:
        super().__init__(forbid_dtd=True, forbid_entities=True, forbid_external=True)
        self._builder = builder

    def reset(self) -> None:
        """Create the expat parser (defusedxml installs its guards here), then route events."""
        super().reset()
        expat = self._parser
        expat.buffer_text = True
        expat.StartElementHandler = self._builder.start
        expat.EndElementHandler = self._builder.end
        expat.CharacterDataHandler = self._builder.characters


def parse_call(body: bytes, limits: RequestLimits = DEFAULT_LIMITS) -> tuple[str, tuple[Any, ...]]:
    """Return ``(method_name, params)`` for an XML-RPC request body.

    Raises :class:`ProtocolError`: ``-32700`` when the body is not well-formed XML,
    ``-32600`` when it is XML but not an acceptable methodCall (DTDs and entity
    declarations included, and values nested deeper than ``limits.max_depth``).
    """
    builder = _CallBuilder(limits.max_depth)
    parser = _DefusedReader(builder)
    try:
        parser.feed(body)
        parser.close()
    except SAXParseException as exc:
        # getMessage() is expat's fixed phrase, without line, column or input text.
        raise ProtocolError(PARSE_ERROR, f"parse error: not well-formed XML ({exc.getMessage()})") from None
    except DefusedXmlException:
        raise _invalid("DTDs, entity declarations and external references are not allowed") from None
    except RecursionError:  # cannot happen with the stacks above; refuse rather than crash
        raise _invalid("document nested too deeply") from None
    if builder.method is None:
        raise _invalid("<methodCall> without a <methodName>")
    if not builder.method:
        raise _invalid("empty <methodName>")
    return builder.method, tuple(builder.params)
