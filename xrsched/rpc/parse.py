"""Parse XML-RPC ``methodCall`` and ``methodResponse`` documents from bytes, safely.

Plain documents (no ``<!`` anywhere, see :mod:`xrsched.rpc.treeparse`) are read by
ElementTree's C parser. Everything else is streamed once through defusedxml's expat driver
(:class:`DefusedReader`): DTDs, entity declarations and external references are refused before
any expansion (no billion laughs, no XXE). :class:`ValueBuilder` builds the values on explicit
stacks, checking the grammar and counting the depth at each start tag, so a 100,000-deep
document is refused at ``max_depth + 1`` without recursing; its subclasses add the
``methodCall`` and ``methodResponse`` envelopes. Namespace prefixes are dropped (``ex:nil`` is
``nil``), as CPython's client does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any
from xml.sax import SAXParseException

from defusedxml.common import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from xrsched.rpc.faults import INVALID_REQUEST, PARSE_ERROR, ProtocolError, printable
from xrsched.rpc.limits import DEFAULT_LIMITS, RequestLimits
from xrsched.rpc.treeparse import parse_call_tree
from xrsched.rpc.values import SCALARS

#: Children allowed inside the value elements (envelopes add their own).
VALUE_GRAMMAR: dict[str, frozenset[str]] = {
    "value": frozenset(SCALARS) | {"array", "struct"},
    # Some clients leave out <data>; accepting <value> directly under <array> costs nothing.
    "array": frozenset({"data", "value"}),
    "data": frozenset({"value"}),
    "struct": frozenset({"member"}),
    "member": frozenset({"name", "value"}),
}
_NO_CHILDREN: frozenset[str] = frozenset()
EMPTY: Any = object()  # a slot with nothing in it yet
_PENDING: Any = object()  # a <value> whose typed child has started but not ended


def invalid(message: str) -> ProtocolError:
    """-32600 with ``message``."""
    return ProtocolError(INVALID_REQUEST, f"invalid request: {message}")


class ValueBuilder(ABC):
    """Checks the grammar and builds values; subclasses handle the envelope around them."""

    #: Envelope grammar: parent tag ("" for the root) -> allowed children.
    ENVELOPE: dict[str, frozenset[str]] = {}

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self._grammar = {**VALUE_GRAMMAR, **self.ENVELOPE}
        self._envelope_tags = ({*self.ENVELOPE}.union(*self.ENVELOPE.values())) - {"", "value"}
        self._tags: list[str] = []
        self._text: list[str] = []
        self._slots: list[Any] = []  # one per open <value>
        self._containers: list[Any] = []  # open arrays (list) and structs (dict)
        self._members: list[list[Any]] = []  # open <member>: [name, value]

    # ----------------------------------------------------------- subclass hooks

    def error(self, message: str) -> ProtocolError:
        """-32600 for a document that breaks the grammar."""
        return invalid(message)

    def unexpected(self, tag: str, parent: str) -> ProtocolError:
        """-32600 naming an element that may not appear inside ``parent``."""
        where = f"inside <{parent}>" if parent else "as the root element"
        return invalid(f"unexpected element <{printable(tag, 40)}> {where}")

    @abstractmethod
    def open_envelope(self, tag: str) -> None:
        """An envelope element starts (the grammar was checked already)."""

    @abstractmethod
    def close_envelope(self, tag: str, text: str) -> None:
        """An envelope element ends."""

    @abstractmethod
    def deliver_top(self, parent: str, value: Any) -> None:
        """A complete value directly inside an envelope element ``parent``."""

    # ----------------------------------------------------------- expat events

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """Check ``name`` may appear here and open whatever it needs."""
        tag = name[name.rfind(":") + 1 :]
        tags = self._tags
        parent = tags[-1] if tags else ""
        if tag not in self._grammar.get(parent, _NO_CHILDREN):
            raise self.unexpected(tag, parent)
        if parent == "value":
            if self._slots[-1] is not EMPTY:
                raise self.error("more than one value inside <value>")
            self._slots[-1] = _PENDING
        if tag == "value":
            self._slots.append(EMPTY)
        elif tag == "array" or tag == "struct":
            if len(self._containers) >= self.max_depth:
                raise self.error(f"values nested deeper than {self.max_depth} levels")
            self._containers.append([] if tag == "array" else {})
        elif tag == "member":
            self._members.append([EMPTY, EMPTY])
        elif tag in self._envelope_tags:
            self.open_envelope(tag)
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
            self._deliver(text if value is EMPTY else value)
        elif tag == "array" or tag == "struct":
            self._slots[-1] = self._containers.pop()
        elif tag == "member":
            key, value = self._members.pop()
            if key is EMPTY or value is EMPTY:
                raise self.error("<member> needs a <name> and a <value>")
            self._containers[-1][key] = value
        elif tag == "name":
            member = self._members[-1]
            if member[0] is not EMPTY:
                raise self.error("more than one <name> in a <member>")
            member[0] = text
        elif tag in self._envelope_tags:
            self.close_envelope(tag, text)

    def _deliver(self, value: Any) -> None:
        parent = self._tags[-1]
        if parent == "member":
            member = self._members[-1]
            if member[1] is not EMPTY:
                raise self.error("more than one <value> in a <member>")
            member[1] = value
        elif parent == "data" or parent == "array":
            self._containers[-1].append(value)
        else:
            self.deliver_top(parent, value)


class DefusedReader(DefusedExpatParser):
    """defusedxml's expat driver (DTDs, entities, external references forbidden) feeding a builder.

    Element events go straight from expat to the builder instead of through the SAX
    wrappers: that halves the cost of parsing, and this runs for every call.
    """

    def __init__(self, builder: ValueBuilder) -> None:
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
    declarations included, and values nested deeper than ``limits.max_depth``). Whatever
    :func:`~xrsched.rpc.treeparse.parse_call_tree` does not accept, :func:`stream_call` judges.
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
