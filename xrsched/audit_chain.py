"""The hash chain that makes the audit log tamper-evident.

Every record ends with three fields the writer adds (in this order, last in the line):

- ``seq``: 1 for the first record ever written, then one more per record, across files;
- ``prev``: the SHA-256 (hex) of the previous record's exact bytes, the line *including* its
  newline (for the first record ever: 64 zeros, :data:`GENESIS`); the first record of a new
  file names the last line of the file before it, so the chain runs across rotations;
- ``mac`` (only with an audit key): HMAC-SHA256 with the key over the line's bytes up to, not
  including, ``,"mac":"…"`` plus the closing ``}`` (so it covers ``seq`` and ``prev``).

What the chain can show (``xrsched audit verify``): an edited, deleted, inserted or reordered
line breaks ``prev`` or ``seq`` at that place. What it cannot show alone: somebody who can
write the file can recompute every hash after an edit (the key's MAC stops that), and cutting
records off the end leaves a shorter chain that is still whole; that shows only against
something kept elsewhere, e.g. the next rotated file's first ``prev``, or a hash noted earlier
(``verify --anchor``; the server logs its last hash when it reopens or closes the log).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from xrsched.audit_read import complete_end, reverse_lines

GENESIS = "0" * 64
#: The three fields the chain adds; callers may not pass fields with these names.
CHAIN_FIELDS = frozenset({"seq", "prev", "mac"})
MIN_KEY_BYTES = 16
_SEQ_LOOKBACK = 1024 * 1024
_MAC_SUFFIX_LENGTH = len(',"mac":""}') + 64


class AuditKeyError(Exception):
    """The audit key file cannot be used; the message names the file and the problem."""


def read_key(path: Path) -> bytes:
    """The HMAC key in ``path``: its bytes without surrounding whitespace, at least 16 of them.

    Refused when group or others may read or write the file (as ssh refuses a private key): a
    key others can read lets them forge records.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise AuditKeyError(f"audit key {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(f"audit key {path}: group or others may access it; chmod 600 it")
    key = data.strip()
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyError(f"audit key {path}: too short (at least {MIN_KEY_BYTES} bytes; 32 random bytes are best)")
    return key


def line_hash(data: bytes) -> str:
    """The ``prev`` the next record carries: SHA-256 hex of a whole line, newline included."""
    return hashlib.sha256(data).hexdigest()


def mac_of(key: bytes, signed: bytes) -> str:
    """HMAC-SHA256 hex of the signed part of a line (see the module docstring)."""
    return hmac.new(key, signed, hashlib.sha256).hexdigest()


def split_mac(line: bytes) -> tuple[bytes, str] | None:
    """``(signed bytes, mac hex)`` of a line without its newline, or None if it has no mac."""
    if len(line) < _MAC_SUFFIX_LENGTH or not line.endswith(b'"}'):
        return None
    suffix = line[-_MAC_SUFFIX_LENGTH:]
    if not suffix.startswith(b',"mac":"'):
        return None
    return line[:-_MAC_SUFFIX_LENGTH] + b"}", suffix[8:-2].decode("ascii", "replace")


def _seq_of(line: bytes) -> int | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    seq = record.get("seq") if isinstance(record, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


@dataclass
class Tail:
    """Where a chain stands at the end of a file."""

    last: str  # line_hash of the file's last line (a torn last line counts as ending in "\n")
    seq: int | None  # seq of the last whole record, None if none has one
    torn: bool  # the file ends in the middle of a line


def read_tail(fd: int) -> Tail | None:
    """The chain state at the end of the open file ``fd``; None for an empty file."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    end = complete_end(fd, size)
    fragment = os.pread(fd, size - end, end)
    seq = None
    last = None
    # An old log from before the chain has no seq anywhere: look back a bounded way only.
    for _, line in reverse_lines(fd, end, [_SEQ_LOOKBACK]):
        last = last or line_hash(line + b"\n")
        seq = _seq_of(line)
        if seq is not None:
            break
    if fragment:
        return Tail(line_hash(fragment + b"\n"), seq, True)
    return Tail(last or GENESIS, seq, False)


def tail_of_file(path: Path) -> Tail | None:
    """:func:`read_tail` of a file by name; None if it is missing, empty or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return read_tail(fd)
    finally:
        os.close(fd)


class Chain:
    """The writer's side: seals each line with ``seq``, ``prev`` and ``mac``.

    Not thread-safe: :class:`~xrsched.audit.AuditLog` calls it under its lock.
    """

    def __init__(self, key: bytes | None = None) -> None:
        # Keyed once: copying a keyed HMAC is cheaper than keying one per record.
        self._mac = None if key is None else hmac.new(key, digestmod=hashlib.sha256)
        self.last: str | None = None  # None until known (from a file or a first write)
        self.seq = 0

    def resume(self, tail: Tail) -> None:
        """Continue after the last line of a file."""
        self.last = tail.last
        if tail.seq is not None:
            self.seq = tail.seq

    def seal(self, line: str) -> bytes:
        """``line`` (one JSON object and ``\\n``) with the chain fields added, as bytes."""
        body = f'{line[:-2]},"seq":{self.seq + 1},"prev":"{self.last or GENESIS}"'
        if self._mac is not None:
            mac = self._mac.copy()
            mac.update((body + "}").encode("ascii"))
            body += f',"mac":"{mac.hexdigest()}"'
        return (body + "}\n").encode("ascii")

    def written(self, data: bytes) -> None:
        """Note that ``data`` (what :meth:`seal` returned) is now in the file."""
        self.seq += 1
        self.last = line_hash(data)
