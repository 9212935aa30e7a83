"""The common case parsed in C: plain XML-RPC documents through ElementTree, checked by a short walk.

The streaming parser (:mod:`xrsched.rpc.parse`) calls back into Python for every
element; for an ``add_task`` of 90 elements that is most of a call's cost. Documents that
*cannot* carry a DTD go through ElementTree's C parser instead, and a walk over the tree
builds the values:

* **Safety.** Markup declarations (``<!DOCTYPE``, ``<!ENTITY``), and with them entity
  expansion and external references, only exist behind ``<!``. A body is taken here only
  when it contains no ``<!`` at all, no NUL byte (so no UTF-16/32, where ``<!`` would be
  spelled differently) and no declared encoding other than UTF-8, ASCII or Latin-1. Without
  a DTD, expat knows only the five predefined entities and character references. Bodies
  over :data:`TREE_LIMIT` bytes never come here, so the tree stays small; everything else
  goes through defusedxml as before.
* **Same answers.** The walk accepts only the plain shapes of the grammar (the envelope,
  ``value``, ``array``/``data``, ``struct``/``member``/``name`` and the scalars). Anything
  else (an unknown or misplaced element, a repeated part, nesting past ``max_depth``, a scalar
  a decoder refuses, a prefix without a namespace declaration) returns None, and the caller
  parses the body again with the streaming parser, which gives the precise error. A document
  is therefore either accepted with exactly the values the streaming parser would build, or
  answered by the streaming parser itself.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError, XMLParser

from xrsched.rpc.faults import ProtocolError
from xrsched.rpc.values import SCALARS

#: Bodies larger than this are streamed instead (bounds the size of the tree).
TREE_LIMIT = 2 * 1024 * 1024
#: Encodings expat reads natively and that spell ``<!`` as ASCII does.
_PLAIN_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"})
_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")


class _Unplain(Exception):
    """The document is not one the walk handles; the streaming parser decides."""


#: What the walk raises on a document it should leave to the streaming parser: a shape it does
#: not handle, or a scalar a decoder refuses. Anything else is a bug and propagates.
_STAND_ASIDE = (_Unplain, ProtocolError)


def is_plain(body: bytes) -> bool:
    """True when ``body`` can hold no markup declaration and is small enough for a tree."""
    if len(body) > TREE_LIMIT or b"\x00" in body:
        return False
    # A one-byte search runs at memchr's speed; a search for "<!" stops at every "<" (some
    # 1,600 in a worker's 16-call request): it runs only when the body holds a "!" at all.
    if b"!" in body and b"<!" in body:
        return False
    if body.startswith((b"<?xml", b"\xef\xbb\xbf<?xml")):
        declared = _DECLARED_ENCODING.match(body)
        if declared is not None and declared.group(1).decode("ascii").lower() not in _PLAIN_ENCODINGS:
            return False
    return True


def _root(body: bytes, tag: str) -> Element | None:
    """The tree of a plain, well-formed ``body`` whose root is ``<tag>``, else None."""
    if not is_plain(body):
        return None
    parser = XMLParser()  # noqa: S314 - only for bodies without "<!": no DTD, no entities to expand
    try:
        parser.feed(body)
        root = parser.close()
    except ParseError:
        return None
    return root if _local(root.tag) == tag else None


def _local(tag: str) -> str:
    """The element name without its namespace (``{uri}nil`` → ``nil``)."""
    return tag[tag.rfind("}") + 1 :] if tag[0] == "{" else tag


class _ValueTreeWalk:
    """Walks the ``<value>`` elements of a tree and builds their values, raising
    :class:`_Unplain` at anything unusual (and a scalar decoder's :class:`ProtocolError`)."""

    __slots__ = ("max_depth",)

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth

    def value(self, element: Element, depth: int) -> Any:
        """The value of a ``<value>`` element; ``depth`` counts the open arrays and structs."""
        size = len(element)
        if size == 0:
            return element.text or ""
        if size > 1:
            raise _Unplain
        child = element[0]
        tag = child.tag
        if tag[0] == "{":
            tag = _local(tag)
        if tag not in _CONTAINERS:
            decode = SCALARS.get(tag)
            if decode is None or len(child):
                raise _Unplain
            return decode(child.text or "")
        if depth >= self.max_depth:
            raise _Unplain
        if tag == "struct":
            return self._struct(child, depth + 1)
        return self._array(child, depth + 1)

    def _struct(self, element: Element, depth: int) -> dict[str, Any]:
        members: dict[str, Any] = {}
        for member in element:
            if len(member) != 2:
                raise _Unplain
            name, value = member
            # Plain tags compare equal at once; only namespaced ones need _local.
            if (
                (member.tag != "member" and _local(member.tag) != "member")
                or (name.tag != "name" and _local(name.tag) != "name")
                or (value.tag != "value" and _local(value.tag) != "value")
                or len(name)
            ):
                raise _Unplain
            members[name.text or ""] = self.value(value, depth)
        return members

    def _array(self, element: Element, depth: int) -> list[Any]:
        items: list[Any] = []
        for part in element:
            tag = part.tag
            if tag[0] == "{":
                tag = _local(tag)
            if tag == "data":
                for item in part:
                    if item.tag != "value" and _local(item.tag) != "value":
                        raise _Unplain
                    items.append(self.value(item, depth))
            elif tag == "value":
                items.append(self.value(part, depth))
            else:
                raise _Unplain
        return items

    def params(self, element: Element) -> list[Any]:
        """The values of a ``<params>`` element: each ``<param>`` holds exactly one ``<value>``."""
        values = []
        for param in element:
            if _local(param.tag) != "param" or len(param) != 1 or _local(param[0].tag) != "value":
                raise _Unplain
            values.append(self.value(param[0], 0))
        return values


_CONTAINERS = frozenset({"struct", "array"})


def parse_call_tree(body: bytes, max_depth: int) -> tuple[str, tuple[Any, ...]] | None:
    """``(method, params)`` of a plain, valid methodCall; None when the streaming parser must decide."""
    root = _root(body, "methodCall")
    if root is None:
        return None
    walk = _ValueTreeWalk(max_depth)
    method: str | None = None
    params: list[Any] | None = None
    try:
        for part in root:
            tag = _local(part.tag)
            if tag == "methodName" and method is None and len(part) == 0:
                method = (part.text or "").strip()
            elif tag == "params" and params is None:
                params = walk.params(part)
            else:
                raise _Unplain
    except _STAND_ASIDE:  # anything odd is for the streaming parser to judge
        return None
    if not method:
        return None
    return method, tuple(params or ())


def parse_response_tree(body: bytes, max_depth: int) -> tuple[bool, Any] | None:
    """``(is_fault, value)`` of a plain, valid methodResponse; None when the streaming parser must decide."""
    root = _root(body, "methodResponse")
    if root is None or len(root) != 1:
        return None
    part = root[0]
    tag = _local(part.tag)
    walk = _ValueTreeWalk(max_depth)
    try:
        if tag == "params":
            values = walk.params(part)
            if len(values) != 1:
                return None
            return False, values[0]
        if tag == "fault" and len(part) == 1 and _local(part[0].tag) == "value":
            return True, walk.value(part[0], 0)
    except _STAND_ASIDE:  # anything odd is for the streaming parser to judge
        return None
    return None
