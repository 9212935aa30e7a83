"""Check the audit chain (:mod:`xrsched.audit_chain`) across files given oldest first.

The first bad line is reported with its file and line number, and what is wrong there:

- an edited line: with a key, its own ``mac`` fails; without one, the next line's ``prev`` does
  not match it while ``seq`` runs on without a gap, so the edited line is the one named;
- deleted lines: ``seq`` jumps at the line after the gap;
- an inserted line: it repeats or skips a ``seq``, or, when it fits the numbering, the line
  after it names the line before it as ``prev``;
- reordered lines: ``seq`` goes backwards or jumps at the first line moved;
- a file cut in the middle of a line: its last line has no newline;
- a file cut at a line boundary: only the next file's first record (its ``prev`` and ``seq``)
  or an anchor (a record hash noted earlier) shows it.

A line that is not a record but is chained by the record after it (its hash is that record's
``prev``) was torn by a failed write and completed by the writer: it is reported as a note.
Records before the first chained one in the first file were written before the chain existed
(an upgraded server) and are counted, not checked.
"""

from __future__ import annotations

import errno
import gzip
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from xrsched.audit_chain import GENESIS, line_hash, mac_of, split_mac

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Problem:
    """The first bad line: where it is and what is wrong with it."""

    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class Report:
    """The outcome of :func:`verify`."""

    records: int = 0
    unchained: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_prev: str | None = None
    last_hash: str | None = None
    notes: list[str] = field(default_factory=list)
    problem: Problem | None = None

    @property
    def intact(self) -> bool:
        """Whether no check failed."""
        return self.problem is None


@dataclass
class _Line:
    path: Path
    number: int
    data: bytes  # with its newline, when it has one
    hash: str
    record: dict[str, Any] | None


def _open(path: Path) -> BinaryIO:
    """The file's bytes; a ``.gz`` file (logrotate's ``compress``) is read decompressed."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _lines(paths: list[Path]) -> Iterator[_Line]:
    """Every line of every file in order; OSError for a file that cannot be read."""
    for path in paths:
        try:
            with _open(path) as handle:
                for number, data in enumerate(handle, start=1):
                    yield _Line(path, number, data, line_hash(data), _record(data))
        except EOFError:
            raise OSError(errno.EIO, "the compressed file ends early", str(path)) from None


def _record(data: bytes) -> dict[str, Any] | None:
    if not data.endswith(b"\n"):
        return None
    try:
        record = json.loads(data)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("prev"), str):
        return None
    seq = record.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not _HEX64.fullmatch(record["prev"]):
        return None
    return record


class _Checker:
    """Walks the lines once, keeping the two previous lines (enough to tell an insertion)."""

    def __init__(self, key: bytes | None, anchor: str | None) -> None:
        self.key = key
        self.anchor = anchor
        self.anchor_seen = False
        self.report = Report()
        self.before: _Line | None = None  # the last chained (or torn) line
        self.before_that: _Line | None = None
        self.torn: _Line | None = None  # a torn line waiting for the next record to chain it
        self.macs_unchecked = False
        self.conflict: tuple[_Line, _Line] | None = None  # two lines with the same predecessor

    def run(self, paths: list[Path]) -> Report:
        for line in _lines(paths):
            problem = self._check(line)
            if problem is not None:
                self.report.problem = problem
                return self.report
            if line.hash == self.anchor:
                self.anchor_seen = True
        self._finish()
        return self.report

    def _finish(self) -> None:
        report = self.report
        if self.conflict is not None:
            second = self.conflict[1]
            report.problem = Problem(second.path, second.number, "inserted: a record that claims the place of another")
        elif self.torn is not None:
            report.problem = Problem(self.torn.path, self.torn.number, _incomplete(self.torn) or "not an audit record")
        elif report.records == 0 and report.unchained == 0:
            report.notes.append("no records")
        elif report.records == 0:
            report.problem = Problem(self.before.path if self.before else Path("-"), 0, "no chained record at all")
        elif self.anchor is not None and not self.anchor_seen:
            report.problem = Problem(
                self.before.path if self.before else Path("-"),
                self.before.number if self.before else 0,
                f"no record has the anchor hash {self.anchor}: records were cut off the end "
                "(truncated before the anchored record) or the chain was rewritten",
            )
        if self.macs_unchecked:
            report.notes.append("records carry MACs that were not checked (give the key to check them)")

    def _check(self, line: _Line) -> Problem | None:
        if self.conflict is not None:
            return self._resolve(line)
        record = line.record
        if record is None:
            return self._not_a_record(line)
        problem = self._check_mac(line, record) or self._check_link(line, record)
        if problem is not None or self.conflict is not None:
            return problem
        self._accept(line, record)
        return None

    def _resolve(self, line: _Line) -> Problem:
        """Two lines claim the same place; the one the next line chains to is the real one."""
        first, second = self.conflict or (line, line)
        prev = line.record["prev"] if line.record is not None else None
        inserted = first if prev == second.hash else second
        return Problem(inserted.path, inserted.number, "inserted: a record that claims the place of another")

    def _not_a_record(self, line: _Line) -> Problem | None:
        if self.report.records == 0 and self.torn is None:
            if _incomplete(line):
                return Problem(line.path, line.number, _incomplete(line) or "")
            self.report.unchained += 1  # written before the chain existed: the prefix of the first file
            self.before_that, self.before = self.before, line
            return None
        if self.torn is not None:
            return Problem(self.torn.path, self.torn.number, _incomplete(self.torn) or "not an audit record")
        self.torn = line
        return None

    def _check_mac(self, line: _Line, record: dict[str, Any]) -> Problem | None:
        parts = split_mac(line.data.rstrip(b"\n"))
        if self.key is None:
            self.macs_unchecked = self.macs_unchecked or parts is not None
            return None
        if parts is None:
            return Problem(line.path, line.number, "no mac, but a key was given (a record forged or stripped)")
        signed, mac = parts
        # As bytes: compare_digest refuses str with non-ASCII characters (a mangled mac).
        if not hmac.compare_digest(mac_of(self.key, signed).encode(), mac.encode()):
            return Problem(line.path, line.number, "mac does not match: the record was altered (or the key is wrong)")
        return None

    def _check_link(self, line: _Line, record: dict[str, Any]) -> Problem | None:
        seq, prev = record["seq"], record["prev"]
        before = self.before
        if self.torn is not None:
            if prev != self.torn.hash:
                return Problem(self.torn.path, self.torn.number, "not an audit record")
            self.report.notes.append(f"{self.torn.path}:{self.torn.number}: a record cut short by a failed write")
            self.torn = None
        elif before is None:
            if prev == GENESIS and seq != 1:
                return Problem(line.path, line.number, f"the chain starts here but seq is {seq}, not 1")
            return None
        elif prev != before.hash:
            return self._broken_link(line, seq, prev)
        last = self.report.last_seq
        if last is not None and seq != last + 1:
            return self._bad_seq(line, seq, last)
        return None

    def _broken_link(self, line: _Line, seq: int, prev: str) -> Problem | None:
        before = self.before
        assert before is not None
        last = self.report.last_seq
        if line.data == before.data:
            return Problem(line.path, line.number, "inserted: a copy of the line before it")
        if self.before_that is not None and prev == self.before_that.hash:
            self.conflict = (before, line)  # the next line tells which of the two was inserted
            return None
        if last is not None and seq > last + 1:
            return Problem(
                line.path,
                line.number,
                f"{seq - last - 1} record(s) missing before this line (seq {last + 1}..{seq - 1}): "
                f"deleted or moved, or {_where(before, line)}",
            )
        if last is not None and seq <= last:
            return Problem(line.path, line.number, f"out of order: seq {seq} after {last} (moved or inserted)")
        if prev == GENESIS:
            return Problem(line.path, line.number, "the chain starts again here (a new chain was begun)")
        return Problem(
            before.path,
            before.number,
            f"altered: its SHA-256 is not the prev of the next record while seq runs on "
            f"(this line changed, or the prev of line {line.number})",
        )

    def _bad_seq(self, line: _Line, seq: int, last: int) -> Problem:
        if seq > last + 1:
            return Problem(line.path, line.number, f"{seq - last - 1} record(s) missing before this line")
        return Problem(line.path, line.number, f"out of order: seq {seq} after {last} (moved or inserted)")

    def _accept(self, line: _Line, record: dict[str, Any]) -> None:
        report = self.report
        if report.records == 0:
            report.first_seq = record["seq"]
            report.first_prev = record["prev"]
        report.records += 1
        report.last_seq = record["seq"]
        report.last_hash = line.hash
        self.before_that, self.before = self.before, line


def _where(before: _Line, line: _Line) -> str:
    if before.path != line.path:
        return f"the end of {before.path} was cut off"
    return "lines were cut off"


def _incomplete(line: _Line) -> str | None:
    if line.data.endswith(b"\n"):
        return None
    return "incomplete last line (the file was cut in the middle of a record, or a write is in progress)"


def verify(paths: list[Path], *, key: bytes | None = None, anchor: str | None = None) -> Report:
    """Check the chain through ``paths`` (oldest first; ``.gz`` files are read decompressed).
    Raises OSError for an unreadable file (a damaged ``.gz`` one included).

    ``anchor``: a record hash noted earlier; the check fails unless a record with that hash is
    still in the chain (catches cutting records off the end back past it).
    """
    files = [Path(p) for p in paths]
    for path in files:  # every file readable before any verdict: "unreadable" wins over "broken"
        with _open(path) as handle:
            handle.read(1)
    return _Checker(key, anchor).run(files)
