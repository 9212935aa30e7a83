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

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except OSError:
                # Half a line reached the file: end it before the next record so that one stays whole.
                self._partial = self._partial or len(view) < len(data)
                raise
            view = view[written:]

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
        with self._lock:
            if self._fd is None and not self._open():
                self.dropped += 1
                return
            sealed = self.chain.seal(line)
            try:
                self._write(b"\n" + sealed if self._partial else sealed)
            except OSError as exc:
                self.dropped += 1
                self._fail(exc)
                return
            self.chain.written(sealed)
            self._partial = False
            if not self._healthy:
                log.warning("audit log %s is writable again (%d record(s) lost)", self.path, self.dropped)
                self._healthy = True

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
