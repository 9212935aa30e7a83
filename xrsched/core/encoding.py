"""The JSON text that task parameters and stored records are kept in (pure, no I/O)."""

from __future__ import annotations

import base64
import json
from typing import Any

from .errors import BadValue

#: The JSON text of no parameters.
NO_PARAMS = "{}"
_BYTES_TAG = "$xrsched-bytes"


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {_BYTES_TAG: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot store a {type(value).__name__}")


def _revive(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _BYTES_TAG in obj:
        return base64.b64decode(obj[_BYTES_TAG])
    return obj


_ENCODER = json.JSONEncoder(default=_jsonable, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> str:
    """Compact JSON that keeps bytes (tagged base64) and refuses nan/inf: how records are stored."""
    return _ENCODER.encode(value)


def loads(text: str) -> Any:
    """The inverse of :func:`dumps`."""
    if _BYTES_TAG in text:
        return json.loads(text, object_hook=_revive)
    return json.loads(text)


def params_text(params: dict[str, Any]) -> str:
    """The stored form of task parameters (BadValue if a value cannot be kept: nan, inf...)."""
    if not params:
        return NO_PARAMS
    try:
        return dumps(params)
    except (TypeError, ValueError) as exc:
        raise BadValue(f"params: {exc}") from None
