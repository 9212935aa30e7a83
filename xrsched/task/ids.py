"""Deterministic task ids: family, a readable summary of the parameters, and a content hash.

The id is built the way Luigi builds it, so a task written for Luigi keeps its id here:
``<family>_<summary>_<hash>``, where *summary* joins the first 16 characters of the values of
the first three parameters (by name) with ``_`` (anything outside ``[A-Za-z0-9_]`` becomes
``_``), and *hash* is the first 10 hex digits of the MD5 of the parameters as compact JSON with
sorted keys. MD5 is used as a fingerprint, not for security; ``hash()`` is never used, so ids
are the same in every process and Python version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii

#: How many parameters (in name order) contribute to the readable part of an id.
SUMMARY_PARAMS = 3
#: How many leading characters of each of those values are kept.
SUMMARY_VALUE_CHARS = 16
#: How many hex digits of the fingerprint are kept.
HASH_CHARS = 10

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_quoted = encode_basestring_ascii


def params_fingerprint(str_params: Mapping[str, str]) -> str:
    """Full hex MD5 of the serialized parameters as canonical JSON (sorted keys, no spaces)."""
    try:
        # What json.dumps(..., separators=(",", ":"), sort_keys=True) writes for string keys and
        # values, without building an encoder per call: every task built makes its id this way.
        # The encoder refuses anything but a string (TypeError): those go through json.dumps.
        canonical = "{" + ",".join([_quoted(key) + ":" + _quoted(str_params[key]) for key in sorted(str_params)]) + "}"
    except TypeError:
        canonical = json.dumps(dict(str_params), separators=(",", ":"), sort_keys=True)
    return hashlib.md5(canonical.encode("utf-8"), usedforsecurity=False).hexdigest()


def params_summary(str_params: Mapping[str, str]) -> str:
    """The readable middle of a task id: a few truncated values, made safe for file names."""
    names = sorted(str_params)[:SUMMARY_PARAMS]
    joined = "_".join(str_params[name][:SUMMARY_VALUE_CHARS] for name in names)
    return _UNSAFE.sub("_", joined)


def task_id_str(task_family: str, str_params: Mapping[str, str]) -> str:
    """The id of the task of ``task_family`` whose id-relevant parameters serialize to ``str_params``.

    >>> task_id_str("Copy", {"day": "2024-01-31"})
    'Copy_2024_01_31_8981085c39'
    """
    digest = params_fingerprint(str_params)[:HASH_CHARS]
    return f"{task_family}_{params_summary(str_params)}_{digest}"
