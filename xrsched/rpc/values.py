"""Decoders for XML-RPC scalar values, liberal in what common clients send.

Each decoder takes the element's text and returns the Python value or raises
:class:`~xrsched.rpc.faults.ProtocolError` (-32600) with a short message that never
repeats the offending text (DESIGN §2 lists what is accepted).
"""

from __future__ import annotations

import binascii
import math
import re
from base64 import b64decode
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from xrsched.rpc.faults import INVALID_REQUEST, ProtocolError

_INT = re.compile(r"[+-]?[0-9]{1,40}")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_DATETIME = re.compile(
    r"([0-9]{4})-?([0-9]{2})-?([0-9]{2})[Tt ]([0-9]{2}):?([0-9]{2}):?([0-9]{2})(\.[0-9]{1,9})?"
    r"(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2})?)?"
)
_SPACE = re.compile(r"\s+")
_BOOLEANS = {"0": False, "1": True, "false": False, "true": True}


def _bad(kind: str) -> ProtocolError:
    return ProtocolError(INVALID_REQUEST, f"invalid request: malformed <{kind}> value")


def decode_int(text: str) -> int:
    """``int``, ``i4``, ``i8`` (and the Apache ``i1``/``i2``/``biginteger``) as an int."""
    text = text.strip()
    if not _INT.fullmatch(text):
        raise _bad("int")
    return int(text)


def decode_boolean(text: str) -> bool:
    """``0``, ``1``, ``true`` or ``false`` (any case, surrounding blanks ignored)."""
    value = _BOOLEANS.get(text.strip().lower())
    if value is None:
        raise _bad("boolean")
    return value


def decode_double(text: str) -> float:
    """A finite decimal number; ``nan`` and ``inf`` are refused."""
    text = text.strip()
    if not _DOUBLE.fullmatch(text):
        raise _bad("double")
    value = float(text)
    if not math.isfinite(value):
        raise _bad("double")
    return value


def decode_datetime(text: str) -> float:
    """ISO 8601 with or without dashes and colons, optional fraction, ``Z`` or offset → epoch seconds.

    A time without a zone is taken as UTC: the XML-RPC spec leaves the zone unspecified and
    every xrsched component speaks UTC.
    """
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        raise _bad("dateTime.iso8601")
    year, month, day, hour, minute, second, frac, _z, sign, off_h, off_m = match.groups()
    try:
        offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        zone = timezone(-offset if sign == "-" else offset)
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone)
    except ValueError as exc:
        raise _bad("dateTime.iso8601") from exc
    return moment.timestamp() + (float(frac) if frac else 0.0)


def decode_base64(text: str) -> bytes:
    """Base64 with line breaks and blanks allowed; anything else outside the alphabet is refused."""
    try:
        return b64decode(_SPACE.sub("", text), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad("base64") from exc


SCALARS: dict[str, Callable[[str], Any]] = {
    "int": decode_int,
    "i4": decode_int,
    "i8": decode_int,
    "i1": decode_int,
    "i2": decode_int,
    "biginteger": decode_int,
    "boolean": decode_boolean,
    "string": str,  # taken as it is, blanks included
    "double": decode_double,
    "float": decode_double,
    "dateTime.iso8601": decode_datetime,
    "dateTime": decode_datetime,
    "base64": decode_base64,
    "nil": lambda text: None,  # <nil/> and <ex:nil/>; content, if any, is ignored
}
"""Element name (namespace prefix removed) → decoder. Apache's extension names are included."""
