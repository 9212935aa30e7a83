"""The XML-RPC value grammar, built in one streaming pass; shared by requests and responses.

:class:`ValueBuilder` is an expat event handler for everything inside ``<value>``: scalars
(:data:`xrsched.rpc.values.SCALARS`), arrays and structs, on explicit stacks with the depth
counted at each start tag: a 100,000-deep document is refused at ``max_depth + 1`` without
recursing. Subclasses add the envelope (:mod:`xrsched.rpc.parse`); :class:`DefusedReader` is
the defused expat driver that feeds it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from defusedxml.expatreader import DefusedExpatParser

from xrsched.rpc.faults import INVALID_REQUEST, ProtocolError, printable
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
