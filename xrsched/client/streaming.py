"""The streaming methodResponse parser: any document, with precise errors.

:func:`xrsched.client.wire.decode_response` reads plain answers with ElementTree's C parser
(:mod:`xrsched.rpc.treeparse`) and comes here for everything else: defusedxml's expat driver
with DTDs, entity declarations and external references refused, the methodResponse grammar
checked at each start tag and array/struct nesting capped. Kept apart so that ``xrsched run``
does not load the SAX machinery until an answer needs it.
"""

from __future__ import annotations

from typing import Any
from xml.sax import SAXParseException

from defusedxml.common import DefusedXmlException

from xrsched.client.errors import MalformedResponse
from xrsched.client.wire import DEFAULT_MAX_DEPTH, as_fault, malformed
from xrsched.rpc.faults import ProtocolError
from xrsched.rpc.valuebuilder import EMPTY, DefusedReader, ValueBuilder


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

    def error(self, message: str) -> MalformedResponse:
        """MalformedResponse with the reason."""
        return malformed(message)

    def unexpected(self, tag: str, parent: str) -> MalformedResponse:
        """MalformedResponse naming the misplaced element."""
        return malformed(f"unexpected <{tag[:40]}> inside <{parent or 'document'}>")

    def open_envelope(self, tag: str) -> None:
        """Only one <params> or <fault>."""
        if tag == "params" or tag == "fault":
            if self._answered:
                raise malformed("more than one <params> or <fault>")
            self._answered = True
            self.is_fault = tag == "fault"

    def close_envelope(self, tag: str, text: str) -> None:
        """A <param> or <fault> must have carried a value."""
        if (tag == "param" or tag == "fault") and self.result is EMPTY:
            raise malformed(f"<{tag}> without a <value>")

    def deliver_top(self, parent: str, value: Any) -> None:
        """The result (or the fault struct)."""
        if self.result is not EMPTY:
            raise malformed("more than one result value")
        self.result = value


def stream_response(body: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The value of any methodResponse document, or the fault; MalformedResponse with the exact reason."""
    builder = _ResponseBuilder(max_depth)
    parser = DefusedReader(builder)
    try:
        parser.feed(body)
        parser.close()
    except SAXParseException as exc:
        raise malformed(f"not well-formed XML ({exc.getMessage()})") from None
    except DefusedXmlException:
        raise malformed("DTDs, entity declarations and external references are not allowed") from None
    except LookupError:  # the XML declaration names an encoding Python does not know
        raise malformed("unknown character encoding") from None
    except ProtocolError as exc:  # a scalar the decoders refused
        raise malformed(exc.message.removeprefix("invalid request: ")) from None
    if builder.result is EMPTY:
        raise malformed("no <params> or <fault> with a value")
    if builder.is_fault:
        return as_fault(builder.result)
    return builder.result
