"""The tokens file: parse and validate it with :mod:`tomllib`, write it back atomically.

Format (TOML; only hashes of secrets, never the secrets)::

    [tokens."ci-worker"]
    role = "worker"                       # viewer | worker | operator | admin
    hash = "sha256:<64 hex digits>"
    created = 2026-11-22T03:24:00Z
    expires = 2027-01-01                  # optional: a date (midnight UTC) or a date-time
    previous_hash = "sha256:<64 hex>"     # optional, after `xrsched token rotate`: the old
    previous_until = 2026-12-07T08:00:00Z # secret, accepted until this time (both or neither)

    [certificates."build-host-7"]         # subject CN of a client certificate
    identity = "build-host-7"             # optional, defaults to the CN
    role = "worker"

Writing re-renders the whole file, so comments added by hand are not kept.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xrsched.atomicfile import write_atomic
from xrsched.auth.roles import Role

TOKEN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
HASH_RE = re.compile(r"sha256:[0-9a-f]{64}")
_TOKEN_KEYS = frozenset({"role", "hash", "created", "expires", "previous_hash", "previous_until"})
_CERT_KEYS = frozenset({"identity", "role"})
_HEADER = (
    "# xrsched tokens file: SHA-256 hashes of token secrets, never the secrets themselves.\n"
    "# Manage it with `xrsched token add|list|rotate|revoke`; the server re-reads it when it changes.\n"
)


class TokenFileError(Exception):
    """The tokens file cannot be used; the message names the file and the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Expiry = _dt.datetime | _dt.date


@dataclass(frozen=True)
class TokenRecord:
    """One token as stored: id, role, hash of the secret, creation and optional expiry."""

    id: str
    role: Role
    hash: str
    created: _dt.datetime | None = None
    expires: Expiry | None = None
    #: After a rotation: the hash of the old secret and when it stops working (both or neither).
    previous_hash: str | None = None
    previous_until: _dt.datetime | None = None

    def previous_valid(self, now: float) -> bool:
        """Whether the pre-rotation secret is still accepted at ``now`` (epoch seconds)."""
        return self.previous_until is not None and now < self.previous_until.timestamp()

    @property
    def expires_at(self) -> float | None:
        """Expiry as epoch seconds (a bare date means midnight UTC at its start), or None."""
        return None if self.expires is None else as_utc(self.expires).timestamp()

    def expired(self, now: float) -> bool:
        """Whether the token is no longer valid at ``now`` (epoch seconds)."""
        at = self.expires_at
        return at is not None and now >= at


@dataclass(frozen=True)
class CertificateMapping:
    """A client certificate subject CN mapped to an identity and a role."""

    cn: str
    identity: str
    role: Role


@dataclass
class TokensFile:
    """The whole parsed file."""

    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    certificates: dict[str, CertificateMapping] = field(default_factory=dict)


def as_utc(value: Expiry) -> _dt.datetime:
    """A date or datetime as an aware UTC datetime (naive values are taken to be UTC)."""
    if not isinstance(value, _dt.datetime):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)


def parse_expiry(text: str) -> Expiry:
    """Parse ``2027-01-01`` or an RFC 3339 date-time (``Z`` or offset; naive means UTC)."""
    text = text.strip()
    try:
        if len(text) == 10:
            return _dt.date.fromisoformat(text)
        return as_utc(_dt.datetime.fromisoformat(text.replace("z", "Z")))
    except ValueError:
        raise ValueError(f"not a date or RFC 3339 date-time: {text!r}") from None


def check_token_id(token_id: str) -> str:
    """Return ``token_id`` if it is 1-64 of ``A-Z a-z 0-9 _ . @ -`` starting alphanumeric."""
    if not isinstance(token_id, str) or not TOKEN_ID_RE.fullmatch(token_id):
        raise ValueError(
            f"invalid token id {token_id!r}: use 1-64 letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    return token_id


def _time(value: object, where: str, *, allow_date: bool) -> Expiry:
    if isinstance(value, str):
        parsed = parse_expiry(value)
        if isinstance(parsed, _dt.datetime) or allow_date:
            return parsed
    elif isinstance(value, _dt.datetime):
        return as_utc(value)
    elif isinstance(value, _dt.date) and allow_date:
        return value
    raise ValueError(f"{where} must be a date-time{' or a date' if allow_date else ''}")


def _parse_token(token_id: str, raw: object) -> TokenRecord:
    check_token_id(token_id)
    if not isinstance(raw, dict):
        raise ValueError("must be a table")
    unknown = set(raw) - _TOKEN_KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("role", "hash"):
        if not isinstance(raw.get(key), str):
            raise ValueError(f"'{key}' is missing or not a string")
    if not HASH_RE.fullmatch(raw["hash"]):
        raise ValueError("'hash' must be 'sha256:' followed by 64 lower-case hex digits")
    created = raw.get("created")
    expires = raw.get("expires")
    previous_hash, previous_until = _parse_previous(raw)
    return TokenRecord(
        id=token_id,
        role=Role.parse(raw["role"]),
        hash=raw["hash"],
        created=None if created is None else as_utc(_time(created, "'created'", allow_date=False)),
        expires=None if expires is None else _time(expires, "'expires'", allow_date=True),
        previous_hash=previous_hash,
        previous_until=previous_until,
    )


def _parse_previous(raw: dict[str, object]) -> tuple[str | None, _dt.datetime | None]:
    """``previous_hash`` and ``previous_until`` of a rotated token: both or neither."""
    previous_hash, until = raw.get("previous_hash"), raw.get("previous_until")
    if previous_hash is None and until is None:
        return None, None
    if previous_hash is None or until is None:
        raise ValueError("'previous_hash' and 'previous_until' go together")
    if not isinstance(previous_hash, str) or not HASH_RE.fullmatch(previous_hash):
        raise ValueError("'previous_hash' must be 'sha256:' followed by 64 lower-case hex digits")
    if previous_hash == raw["hash"]:
        raise ValueError("'previous_hash' is the same as 'hash'")
    return previous_hash, as_utc(_time(until, "'previous_until'", allow_date=False))


def _parse_certificate(cn: str, raw: object) -> CertificateMapping:
    if not isinstance(raw, dict):
        raise ValueError("must be a table")
    unknown = set(raw) - _CERT_KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
    identity = raw.get("identity", cn)
    if not isinstance(identity, str) or not identity:
        raise ValueError("'identity' must be a non-empty string")
    if not isinstance(raw.get("role"), str):
        raise ValueError("'role' is missing or not a string")
    return CertificateMapping(cn=cn, identity=identity, role=Role.parse(raw["role"]))


def parse_tokens(text: str, path: Path) -> TokensFile:
    """Parse and validate tokens-file text; every error names ``path`` and the entry at fault."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TokenFileError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(doc) - {"tokens", "certificates"}
    if unknown:
        raise TokenFileError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    result = TokensFile()
    for section, parse, target in (
        ("tokens", _parse_token, result.tokens),
        ("certificates", _parse_certificate, result.certificates),
    ):
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise TokenFileError(f"{path}: '{section}' must be a table")
        for key, raw in table.items():
            try:
                target[key] = parse(key, raw)
            except ValueError as exc:
                raise TokenFileError(f"{path}: {section}.{key!r}: {exc}") from None
    seen: dict[str, str] = {}
    for record in result.tokens.values():
        for digest in (record.hash, record.previous_hash):
            if digest is None:
                continue
            if digest in seen:
                raise TokenFileError(f"{path}: tokens {seen[digest]!r} and {record.id!r} have the same hash")
            seen[digest] = record.id
    return result


def read_tokens(path: Path) -> TokensFile:
    """Read and validate the tokens file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenFileError(f"{path}: no such tokens file") from None
    except UnicodeDecodeError:
        raise TokenFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise TokenFileError(f"{path}: cannot read the tokens file ({exc.strerror or exc})") from None
    return parse_tokens(text, path)


def _toml_str(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_time(value: Expiry) -> str:
    if not isinstance(value, _dt.datetime):
        return value.isoformat()
    return as_utc(value).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def render_tokens(data: TokensFile) -> str:
    """Render ``data`` as TOML that :func:`parse_tokens` reads back to the same values."""
    lines = [_HEADER]
    for rec in data.tokens.values():
        lines.append(f"[tokens.{_toml_str(rec.id)}]")
        lines.append(f"role = {_toml_str(rec.role.label)}")
        lines.append(f"hash = {_toml_str(rec.hash)}")
        if rec.created is not None:
            lines.append(f"created = {_toml_time(rec.created)}")
        if rec.expires is not None:
            lines.append(f"expires = {_toml_time(rec.expires)}")
        if rec.previous_hash is not None and rec.previous_until is not None:
            lines.append(f"previous_hash = {_toml_str(rec.previous_hash)}")
            lines.append(f"previous_until = {_toml_time(rec.previous_until)}")
        lines.append("")
    for cert in data.certificates.values():
        lines.append(f"[certificates.{_toml_str(cert.cn)}]")
        lines.append(f"identity = {_toml_str(cert.identity)}")
        lines.append(f"role = {_toml_str(cert.role.label)}")
        lines.append("")
    return "\n".join(lines)


def write_tokens(path: Path, data: TokensFile) -> None:
    """Write the file atomically (:func:`~xrsched.atomicfile.write_atomic`) with mode 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, render_tokens(data).encode("utf-8"), permissions=0o600)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` so concurrent ``xrsched token`` runs don't race."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise TokenFileError(f"{lock_path}: cannot create the lock file ({exc.strerror or exc})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
