"""XML-RPC bytes for the client: ``methodCall`` documents out, ``methodResponse`` documents in.

Requests are written with the server's own value writer (:func:`xrsched.rpc.marshal.dump_value`),
so both sides agree on what goes on the wire: no ``<nil/>`` (``None`` keyword arguments are
left out, which means "the server's default"), ``<i8>`` past 32 bits, never ``nan``.

Responses are read in one streaming pass through defusedxml's expat driver (DTDs, entity
declarations and external references refused, so no billion-laughs or XXE), with the
methodResponse grammar checked at each start tag and array/struct nesting capped. Scalars
are decoded by the server's liberal decoders (:data:`xrsched.rpc.values.SCALARS`), so
``<nil/>``, ``<ex:nil/>`` and ``<i8>`` from other servers read fine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax import SAXParseException

from defusedxml.common import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from xrsched.client.errors import EncodeError, MalformedResponse, SchedulerFault, fault_error
from xrsched.requestid import REQUEST_ID_MEMBER
from xrsched.rpc.faults import ProtocolError
from xrsched.rpc.marshal import MarshalError, dump_value, escape_text
from xrsched.rpc.values import SCALARS

STARSTAR = "__starstar"
MULTICALL = "system.multicall"
DEFAULT_MAX_DEPTH = 100

_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
_VALUE_CHILDREN = frozenset(SCALARS) | {"array", "struct"}
_ALLOWED: dict[str, frozenset[str]] = {
    "": frozenset({"methodResponse"}),
    "methodResponse": frozenset({"params", "fault"}),
    "params": frozenset({"param"}),
    "param": frozenset({"value"}),
    "fault": frozenset({"value"}),
    "value": _VALUE_CHILDREN,
    "array": frozenset({"data", "value"}),
    "data": frozenset({"value"}),
    "struct": frozenset({"member"}),
    "member": frozenset({"name", "value"}),
}
_NONE: frozenset[str] = frozenset()
_EMPTY: Any = object()  # a slot with nothing in it yet
_PENDING: Any = object()  # a <value> whose typed child has started but not ended


def keyword_struct(kwargs: Mapping[str, Any], request_id: str | None) -> dict[str, Any]:
    """The trailing ``__starstar`` struct carrying ``kwargs`` (None values left out) and the id."""
    struct: dict[str, Any] = {STARSTAR: True}
    for name, value in kwargs.items():
        if value is not None:
            struct[name] = value
    if request_id is not None:
        struct[REQUEST_ID_MEMBER] = request_id
    return struct


def encode_call(method: str, params: Sequence[Any]) -> bytes:
    """A complete methodCall document for ``method(*params)``; EncodeError for unsendable values."""
    try:
        values = "".join(f"<param>{dump_value(p)}</param>" for p in params)
    except (MarshalError, RecursionError) as exc:
        raise EncodeError(f"{method}: cannot send the arguments: {exc}") from None
    return (
        f"{_HEADER}<methodCall><methodName>{escape_text(method)}</methodName><params>{values}</params></methodCall>\n"
    ).encode()


def _malformed(message: str) -> MalformedResponse:
    return MalformedResponse(f"malformed XML-RPC response: {message}")


class _ResponseBuilder:
    """Expat event handler that checks the methodResponse grammar and builds the value."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.result: Any = _EMPTY
        self.is_fault = False
        self._tags: list[str] = []
        self._text: list[str] = []
        self._slots: list[Any] = []  # one per open <value>
        self._containers: list[Any] = []  # open arrays (list) and structs (dict)
        self._members: list[list[Any]] = []  # open <member>: [name, value]
        self._answered = False  # <params> or <fault> seen

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """Check ``name`` may appear here and open whatever it needs."""
        tag = name[name.rfind(":") + 1 :]
        parent = self._tags[-1] if self._tags else ""
        if tag not in _ALLOWED.get(parent, _NONE):
            raise _malformed(f"unexpected <{tag[:40]}> inside <{parent or 'document'}>")
        if parent == "value":
            if self._slots[-1] is not _EMPTY:
                raise _malformed("more than one value inside <value>")
            self._slots[-1] = _PENDING
        if tag == "value":
            self._slots.append(_EMPTY)
        elif tag == "array" or tag == "struct":
            if len(self._containers) >= self.max_depth:
                raise _malformed(f"values nested deeper than {self.max_depth} levels")
            self._containers.append([] if tag == "array" else {})
        elif tag == "member":
            self._members.append([_EMPTY, _EMPTY])
        elif tag == "params" or tag == "fault":
            if self._answered:
                raise _malformed("more than one <params> or <fault>")
            self._answered = True
            self.is_fault = tag == "fault"
        self._tags.append(tag)
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
                raise _malformed("<member> needs a <name> and a <value>")
            self._containers[-1][key] = value
        elif tag == "name":
            if self._members[-1][0] is not _EMPTY:
                raise _malformed("more than one <name> in a <member>")
            self._members[-1][0] = text
        elif (tag == "param" or tag == "fault") and self.result is _EMPTY:
            raise _malformed(f"<{tag}> without a <value>")

    def _deliver(self, value: Any) -> None:
        parent = self._tags[-1]
        if parent == "param" or parent == "fault":
            if self.result is not _EMPTY:
                raise _malformed("more than one result value")
            self.result = value
        elif parent == "member":
            if self._members[-1][1] is not _EMPTY:
                raise _malformed("more than one <value> in a <member>")
            self._members[-1][1] = value
        else:  # <data> or <array>
            self._containers[-1].append(value)


class _DefusedReader(DefusedExpatParser):
    """defusedxml's expat driver (DTDs, entities, external references forbidden) feeding a builder."""

    def __init__(self, builder: _ResponseBuilder) -> None:
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


def decode_response(body: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The value a methodResponse carries, or the fault as a :class:`SchedulerFault`.

    A fault is *returned*, not raised, so multicall code and single calls can share this;
    a document that is not an acceptable methodResponse raises :class:`MalformedResponse`.
    """
    builder = _ResponseBuilder(max_depth)
    parser = _DefusedReader(builder)
    try:
        parser.feed(body)
        parser.close()
    except SAXParseException as exc:
        raise _malformed(f"not well-formed XML ({exc.getMessage()})") from None
    except DefusedXmlException:
        raise _malformed("DTDs, entity declarations and external references are not allowed") from None
    except ProtocolError as exc:  # a scalar the decoders refused
        raise _malformed(exc.message.removeprefix("invalid request: ")) from None
    if builder.result is _EMPTY:
        raise _malformed("no <params> or <fault> with a value")
    if builder.is_fault:
        return as_fault(builder.result)
    return builder.result


def as_fault(value: Any) -> SchedulerFault:
    """The exception for a ``{faultCode, faultString}`` struct (from a fault or a multicall entry)."""
    if not isinstance(value, dict):
        raise _malformed("a fault must be a struct")
    code, text = value.get("faultCode"), value.get("faultString", "")
    if type(code) is not int or not isinstance(text, str):
        raise _malformed("a fault needs an integer faultCode and a string faultString")
    return fault_error(code, text)
