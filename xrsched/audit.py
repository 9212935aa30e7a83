"""The audit log: one JSON object per line for every invocation and every refused request.

A record says who (peer, identity, role) called what (method) with which outcome (``"ok"``, a
fault code or an HTTP status), how long it took and under which request id. It never holds a
secret or a parameter dump: fields whose names look like credentials are dropped, and extra
values are cut short.

Records are chained (:mod:`xrsched.audit_chain`): each carries ``seq``, the SHA-256 of the line
before it (``prev``) and, with a key, an HMAC (``mac``), so ``xrsched audit verify`` can show
edits, deletions, insertions and reordering. The chain continues across reopening (SIGHUP,
logrotate) and restarts: at open the writer reads the last line of the file, or of ``<file>.1``
when the file is new, and remembers the last hash while it runs.

Writing must not take the scheduler down: a failed write marks the log unhealthy (the health
document shows it), is logged once on ``xrsched.audit``, and the next record tries to reopen
the file, so auditing resumes by itself when the disk recovers.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii as _encode_string
from pathlib import Path
from typing import Any

from xrsched.audit_chain import CHAIN_FIELDS, Chain, read_tail, tail_of_file

log = logging.getLogger("xrsched.audit")

FIELD_ORDER = ("ts", "peer", "identity", "role", "method", "outcome", "duration_ms", "request_id")
MAX_VALUE_LENGTH = 200
MAX_EXTRA_FIELDS = 16
SENSITIVE_NAME = re.compile(r"token|secret|passw|authori[sz]ation|credential|cookie|api_?key", re.IGNORECASE)
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


_PREVIOUS = ',"rotation":"previous"'
_second_cache: list[Any] = [-1, ""]


def _utc_now() -> str:
    """ISO 8601 UTC with milliseconds; the date part is formatted once per second (hot path)."""
    now = time.time()
    second = int(now)
    if second != _second_cache[0]:
        _second_cache[0] = second
        _second_cache[1] = _dt.datetime.fromtimestamp(second, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{_second_cache[1]}.{int((now - second) * 1000):03d}Z"


def _json_text(value: str | None) -> str:
    if value is None:
        return "null"
    return _encode_string(value if len(value) <= MAX_VALUE_LENGTH else value[: MAX_VALUE_LENGTH - 3] + "...")


def _short(value: Any) -> str | int | float | bool | None:
    """A JSON scalar no longer than MAX_VALUE_LENGTH characters."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_VALUE_LENGTH else text[: MAX_VALUE_LENGTH - 3] + "..."


def build_record(fields: dict[str, Any]) -> dict[str, Any]:
    """The record :meth:`AuditLog.record` writes: known fields first, secrets dropped, values short."""
    record: dict[str, Any] = {"ts": _utc_now()}
    dropped: list[str] = []
    extras = 0
    known = [k for k in FIELD_ORDER if k in fields]
    for name in known + sorted(k for k in fields if k not in FIELD_ORDER):
        if name in CHAIN_FIELDS:
            dropped.append(name)  # only the chain writes these
        elif name == "identity" or not SENSITIVE_NAME.search(name):
            if name not in FIELD_ORDER:
                extras += 1
                if extras > MAX_EXTRA_FIELDS or not _FIELD_NAME.fullmatch(name):
                    dropped.append(name[:40])
                    continue
            value = fields[name]
            if name == "duration_ms" and isinstance(value, int | float) and math.isfinite(value):
                value = round(float(value), 3)
            record[name] = _short(value)
        else:
            dropped.append(name)
    if dropped:
        record["dropped_fields"] = ",".join(dropped)
    return record


class AuditLog:
    """Append-only JSON-lines audit file; ``AuditLog(None)`` accepts records and writes nothing.

    ``key`` (bytes, see :func:`~xrsched.audit_chain.read_key`) adds an HMAC to every record.
    """

    def __init__(self, path: Path | None, *, key: bytes | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.chain = Chain(key)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._healthy = True
        self._partial = False  # a failed write may have left half a line behind
        self._held = threading.local()  # per thread: the records of an open batch()
        self.dropped = 0  # records lost while the file could not be written
        if self.path is not None:
            with self._lock:
                self._open()

    @property
    def healthy(self) -> bool:
        """False while records cannot be written (cleared by the next successful write)."""
        return self._healthy

    @property
    def is_open(self) -> bool:
        """Whether the file is open now (False after :meth:`close` or a failed write)."""
        return self._fd is not None

    def _open(self) -> bool:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            tail = read_tail(self._fd)
        except OSError as exc:
            self._fail(exc)
            return False
        if tail is not None:
            self.chain.resume(tail)
        elif self.chain.last is None:  # a new file at start-up: continue the rotated one's chain
            rotated = tail_of_file(self.path.with_name(self.path.name + ".1"))
            if rotated is not None:
                self.chain.resume(rotated)
        # A line torn by a crash or a failed write gets its newline before the next record.
        self._partial = tail is not None and tail.torn
        return True

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):  # nothing more to do with an fd that cannot close
                os.close(self._fd)
            self._fd = None

    def _fail(self, exc: OSError) -> None:
        self._close()
        if self._healthy:
            log.error("cannot write audit log %s: %s; will retry on the next record", self.path, exc)
        self._healthy = False

    def _write(self, data: bytes) -> tuple[int, OSError | None]:
        """Write all of ``data``: how many bytes reached the file, and the error that stopped it."""
        assert self._fd is not None
        view = memoryview(data)
        done = 0
        while done < len(data):
            try:
                done += os.write(self._fd, view[done:])
            except OSError as exc:
                return done, exc
        return done, None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold this thread's records until the block ends, then append them with one write.

        For one request's records (a multicall audits every entry): the records keep their
        order and the chain its exactness, they land together, and the caller leaves the block
        before it answers, so no acknowledged call lacks its record. Nested blocks join the
        outermost one.
        """
        if self.path is None or getattr(self._held, "lines", None) is not None:
            yield
            return
        lines: list[str] = []
        self._held.lines = lines
        try:
            yield
        finally:
            self._held.lines = None
            if lines:
                self._append_lines(lines)

    def record(self, **fields: Any) -> None:
        """Append one record (see :func:`build_record`); never raises for I/O errors."""
        if self.path is None:
            return
        self._append(json.dumps(build_record(fields), ensure_ascii=True, separators=(",", ":")) + "\n")

    def record_call(
        self,
        peer: str | None,
        identity: str | None,
        role: str | None,
        method: str,
        outcome: str | int,
        duration_ms: float,
        request_id: str,
        *,
        previous_secret: bool = False,
    ) -> None:
        """Append the record of one call: the same line :meth:`record` writes for these fields,
        built without the generic checks (the names are fixed and carry no secret).
        ``previous_secret`` adds ``"rotation":"previous"``: the caller used a rotated token's
        old secret during its grace period."""
        if self.path is None:
            return
        result = str(outcome) if isinstance(outcome, int) and not isinstance(outcome, bool) else _json_text(outcome)
        duration = round(float(duration_ms), 3) if math.isfinite(duration_ms) else 0.0
        self._append(
            f'{{"ts":"{_utc_now()}","peer":{_json_text(peer)},"identity":{_json_text(identity)},'
            f'"role":{_json_text(role)},"method":{_json_text(method)},"outcome":{result},'
            f'"duration_ms":{duration!r},"request_id":{_json_text(request_id)}'
            f"{_PREVIOUS if previous_secret else ''}}}\n"
        )

    def _append(self, line: str) -> None:
        held = getattr(self._held, "lines", None)
        if held is not None:
            held.append(line)
        else:
            self._append_lines((line,))

    def _append_lines(self, lines: list[str] | tuple[str, ...]) -> None:
        with self._lock:
            if self._fd is None and not self._open():
                self.dropped += len(lines)
                return
            sealed = [self._seal(line) for line in lines]
            # A line torn by an earlier failed write gets its newline before these records.
            lead = b"\n" if self._partial else b""
            done, error = self._write(lead + b"".join(sealed))
            if error is not None:
                self.dropped += self._lost(sealed, done - len(lead))
                # The next record reopens the file: the chain goes on from what reached it.
                self._fail(error)
                return
            self._partial = False
            if not self._healthy:
                log.warning("audit log %s is writable again (%d record(s) lost)", self.path, self.dropped)
                self._healthy = True

    def _seal(self, line: str) -> bytes:
        sealed = self.chain.seal(line)
        self.chain.written(sealed)
        return sealed

    @staticmethod
    def _lost(sealed: list[bytes], done: int) -> int:
        """How many of ``sealed`` did not reach the file whole when ``done`` bytes of them did."""
        whole = 0
        while whole < len(sealed) and done >= len(sealed[whole]):
            done -= len(sealed[whole])
            whole += 1
        return len(sealed) - whole

    def reopen(self) -> bool:
        """Close and reopen the file (SIGHUP after logrotate moved it); returns whether it opened."""
        if self.path is None:
            return True
        with self._lock:
            self._close()
            self._log_chain("reopening")
            return self._open()

    def _log_chain(self, when: str) -> None:
        """Say where the chain stands: an operator can note the hash (``verify --anchor``)."""
        if self.chain.last is not None:
            log.info("audit log %s %s: seq %d, last record hash %s", self.path, when, self.chain.seq, self.chain.last)

    def close(self) -> None:
        """Close the file; a later record reopens it."""
        with self._lock:
            if self._fd is not None:
                self._log_chain("closed")
            self._close()
