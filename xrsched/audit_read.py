"""Read the audit log newest first, from the end of the file, with filters and a page cursor.

Used by ``xrsched audit tail`` and the server method ``audit_search``. The reader never loads a
whole file: it reads backwards in chunks from the end (or from a cursor) and stops once it has
``limit`` matching records or has read ``max_bytes``, whichever comes first, so one call costs
the same on a 10 GB log as on a small one. When the current file is exhausted it goes on into
its rotated predecessor ``<file>.1`` (logrotate's default name; compressed files are not read).

A cursor names a file by device and inode plus a byte offset, so it stays right while the
server appends, and after a rotation renames the file to ``.1``; a checksum of the file's first
bytes (which never change in an append-only file) tells a reused inode number apart.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK = 64 * 1024
#: A line longer than this is not an audit record (records are a few hundred bytes): the
#: reader stops in that file rather than buffer it.
MAX_LINE = 1024 * 1024
#: Bytes read per search at most (bounded work per call; the cursor continues the scan).
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
_CURSOR = re.compile(r"(\d{1,20}):(\d{1,20}):(\d{1,20}):([0-9a-f]{8})")
#: Bytes at the start of a file that a cursor fingerprints (an inode number can be reused).
_FINGERPRINT_BYTES = 256


class CursorError(ValueError):
    """A ``before`` cursor that is not one this reader made."""


@dataclass(frozen=True)
class RecordFilter:
    """Which records to keep; None means "any".

    ``identity`` matches the whole identity (``token:ops``) or the part after the kind
    (``ops``); ``method`` is exact, or a shell pattern when it holds ``*``, ``?`` or ``[``;
    ``outcome`` is ``ok``, ``error`` (anything but ok) or an exact outcome (``403``,
    ``-32602``); ``since``/``until`` are epoch seconds (inclusive/exclusive).
    """

    identity: str | None = None
    method: str | None = None
    outcome: str | int | None = None
    since: float | None = None
    until: float | None = None

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` passes every filter that is set."""
        return (
            self._identity_ok(record.get("identity"))
            and self._method_ok(record.get("method"))
            and self._outcome_ok(record.get("outcome"))
            and self._time_ok(record.get("ts"))
        )

    def _identity_ok(self, value: Any) -> bool:
        if self.identity is None:
            return True
        if not isinstance(value, str):
            return False
        return value == self.identity or value.partition(":")[2] == self.identity

    def _method_ok(self, value: Any) -> bool:
        if self.method is None:
            return True
        if not isinstance(value, str):
            return False
        if any(ch in self.method for ch in "*?["):
            return fnmatch.fnmatchcase(value, self.method)
        return value == self.method

    def _outcome_ok(self, value: Any) -> bool:
        wanted = self.outcome
        if wanted is None:
            return True
        if wanted == "error":
            return value != "ok"
        return str(value) == str(wanted)

    def _time_ok(self, value: Any) -> bool:
        if self.since is None and self.until is None:
            return True
        if not isinstance(value, str):
            return False
        # The writer's fixed format sorts as text in time order: compare without parsing.
        if self.since is not None and value < iso_ts(self.since):
            return False
        return self.until is None or value < iso_ts(self.until)


def iso_ts(epoch: float) -> str:
    """Epoch seconds in the audit log's ``ts`` format (``2026-12-06T06:38:52.123Z``)."""
    moment = _dt.datetime.fromtimestamp(epoch, _dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Page:
    """Records found (newest first) and where the next page starts (None: nothing older)."""

    records: list[dict[str, Any]]
    next: str | None
    note: str | None = None


def chain_of(path: Path) -> list[Path]:
    """The current file and its rotated predecessor, newest first (those that exist)."""
    path = Path(path)
    return [p for p in (path, path.with_name(path.name + ".1")) if p.is_file()]


def _file_key(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def _fingerprint(fd: int, offset: int) -> str:
    return f"{zlib.crc32(os.pread(fd, min(_FINGERPRINT_BYTES, offset), 0)):08x}"


def make_cursor(fd: int, st: os.stat_result, offset: int) -> str:
    """The cursor for "records that start before ``offset`` in the open file ``fd``"."""
    return f"{st.st_dev}:{st.st_ino}:{offset}:{_fingerprint(fd, offset)}"


@dataclass(frozen=True)
class Cursor:
    """A parsed cursor: the file (device, inode), the offset and the fingerprint."""

    file: tuple[int, int]
    offset: int
    fingerprint: str

    def fits(self, fd: int, st: os.stat_result) -> bool:
        """Whether the open file ``fd`` is the one this cursor was made in."""
        return (
            _file_key(st) == self.file
            and self.offset <= st.st_size
            and _fingerprint(fd, self.offset) == self.fingerprint
        )


def parse_cursor(text: str) -> Cursor:
    """The parts of a cursor; CursorError for anything this module did not make."""
    match = _CURSOR.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise CursorError("before: not a cursor returned by a previous page")
    return Cursor((int(match.group(1)), int(match.group(2))), int(match.group(3)), match.group(4))


def reverse_lines(fd: int, end: int, budget: list[int]) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` of each complete line that starts before ``end``, newest first.

    ``end`` must be 0 or just after a newline. ``budget[0]`` (bytes) is decreased by what is
    read; the iteration stops when it runs out.
    """
    buf = b""
    pos = end
    while True:
        cut = buf.rfind(b"\n", 0, len(buf) - 1)
        if cut >= 0:
            yield pos + cut + 1, buf[cut + 1 : -1]
            buf = buf[: cut + 1]
            continue
        if pos == 0:
            if buf:
                yield 0, buf[:-1]
            return
        if budget[0] <= 0 or len(buf) > MAX_LINE:
            return
        size = min(CHUNK, pos)
        pos -= size
        budget[0] -= size
        buf = os.pread(fd, size, pos) + buf


def complete_end(fd: int, size: int) -> int:
    """The offset just after the last newline before ``size`` (a line still being written, or
    one torn by a crash, is not a record yet)."""
    pos = size
    while pos > 0:
        start = max(0, pos - CHUNK)
        cut = os.pread(fd, pos - start, start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        if size - start > MAX_LINE:
            return 0
        pos = start
    return 0


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


class _Scan:
    """One search: walks the files newest first and collects matching records."""

    def __init__(self, files: list[Path], wanted: RecordFilter, limit: int, max_bytes: int) -> None:
        self.files = files
        self.wanted = wanted
        self.limit = limit
        self.budget = [max_bytes]
        self.records: list[dict[str, Any]] = []

    def run(self, start: Cursor | None) -> Page:
        """Scan from ``start`` or from the end of the newest file."""
        opened = self._open_all()
        try:
            first = 0
            if start is not None:
                fitting = [i for i, (fd, st) in enumerate(opened) if start.fits(fd, st)]
                if not fitting:
                    return Page([], None, "the cursor's file is gone (the audit log was rotated twice)")
                first = fitting[0]
            for index in range(first, len(opened)):
                fd, st = opened[index]
                end = start.offset if start is not None and index == first else complete_end(fd, st.st_size)
                resume = self._scan_file(fd, end)
                if resume is not None:
                    return Page(self.records, make_cursor(fd, st, resume))
                if self.full or self.budget[0] <= 0:
                    if index + 1 < len(opened):
                        older_fd, older = opened[index + 1]
                        return Page(self.records, make_cursor(older_fd, older, complete_end(older_fd, older.st_size)))
                    break
            return Page(self.records, None)
        finally:
            for fd, _ in opened:
                os.close(fd)

    def _open_all(self) -> list[tuple[int, os.stat_result]]:
        opened = []
        for path in self.files:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            opened.append((fd, os.fstat(fd)))
        return opened

    @property
    def full(self) -> bool:
        """Whether the page has ``limit`` records."""
        return len(self.records) >= self.limit

    def _scan_file(self, fd: int, end: int) -> int | None:
        """Collect matches before ``end``; the offset to resume at when the page filled up or the
        budget ran out inside this file, None when nothing before the stop is left in it."""
        last = end
        for offset, line in reverse_lines(fd, end, self.budget):
            last = offset
            record = _parse(line)
            if record is not None and self.wanted.matches(record):
                self.records.append(record)
                if self.full:
                    break
        if self.full or self.budget[0] <= 0:
            return last if last > 0 else None
        return None


def search(
    path: Path,
    wanted: RecordFilter | None = None,
    *,
    limit: int = 100,
    before: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    follow_rotated: bool = True,
) -> Page:
    """Up to ``limit`` records of ``path`` (then ``path.1``) matching ``wanted``, newest first.

    ``before`` is the ``next`` cursor of the previous page. Reads at most about ``max_bytes``;
    a page may then hold fewer than ``limit`` records and still have a ``next``.
    """
    start = parse_cursor(before) if before is not None else None
    files = chain_of(path) if follow_rotated else [p for p in (Path(path),) if p.is_file()]
    return _Scan(files, wanted or RecordFilter(), limit, max_bytes).run(start)
