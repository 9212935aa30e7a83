"""Token management: make secrets, add, list, rotate and revoke tokens in the tokens file.

Every change takes the file lock, reads and validates the current file, and writes the new one
atomically, so a server re-reading it sees either the old file or the new one.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import secrets
import time
from pathlib import Path

from xrsched.auth.roles import Role
from xrsched.auth.tokenfile import (
    CertificateMapping,
    Expiry,
    TokenFileError,
    TokenRecord,
    TokensFile,
    check_token_id,
    locked,
    read_tokens,
    write_tokens,
)

INITIAL_ADMIN_ID = "admin"


def new_secret() -> str:
    """A fresh token secret: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The stored form of a secret: ``sha256:<hex>``.

    A plain SHA-256 is enough here: secrets are 256 random bits, so there is nothing for a slow
    password KDF (bcrypt, scrypt) to protect against a guesser, and verifying stays cheap on
    every request.
    """
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _role(role: Role | str) -> Role:
    return Role.parse(role.label if isinstance(role, Role) else role)


def _read_or_empty(path: Path) -> TokensFile:
    return read_tokens(path) if Path(path).exists() else TokensFile()


def _utc(now: float | None) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(time.time() if now is None else now, _dt.UTC).replace(microsecond=0)


def add_token(
    path: Path,
    token_id: str,
    role: Role | str,
    expires: Expiry | None = None,
    *,
    now: float | None = None,
) -> str:
    """Add a token to the file (created if missing) and return its secret, shown only this once.

    Raises :class:`TokenFileError` for a bad id or role, an id already in use, or a bad file.
    """
    path = Path(path)
    try:
        check_token_id(token_id)
        parsed_role = _role(role)
    except ValueError as exc:
        raise TokenFileError(f"{path}: {exc}") from None
    with locked(path):
        data = _read_or_empty(path)
        if token_id in data.tokens:
            raise TokenFileError(f"{path}: a token with id {token_id!r} already exists (revoke it first)")
        secret = new_secret()
        data.tokens[token_id] = TokenRecord(
            id=token_id, role=parsed_role, hash=hash_secret(secret), created=_utc(now), expires=expires
        )
        write_tokens(path, data)
    return secret


def rotate_token(path: Path, token_id: str, grace: float, *, now: float | None = None) -> str:
    """Give the token ``token_id`` a new secret and return it (shown only this once).

    The old secret keeps working for ``grace`` seconds (0: it stops at once), so workers can
    pick up the new one first; the role and expiry stay. Rotating again while a grace runs
    ends the older secret at once: only the secret just replaced is kept.
    """
    path = Path(path)
    if not grace >= 0:
        raise TokenFileError(f"{path}: the grace period must not be negative")
    with locked(path):
        data = read_tokens(path)
        record = data.tokens.get(token_id)
        if record is None:
            raise TokenFileError(f"{path}: no token with id {token_id!r}")
        secret = new_secret()
        until = _utc(now) + _dt.timedelta(seconds=grace) if grace > 0 else None
        data.tokens[token_id] = dataclasses.replace(
            record,
            hash=hash_secret(secret),
            previous_hash=record.hash if until is not None else None,
            previous_until=until,
        )
        write_tokens(path, data)
    return secret


def list_tokens(path: Path) -> list[TokenRecord]:
    """The tokens in the file, sorted by id (records carry hashes: callers must not show them)."""
    return sorted(read_tokens(Path(path)).tokens.values(), key=lambda r: r.id)


def revoke_token(path: Path, token_id: str) -> None:
    """Remove the token ``token_id``; a running server stops accepting it within a second."""
    path = Path(path)
    with locked(path):
        data = read_tokens(path)
        if token_id not in data.tokens:
            raise TokenFileError(f"{path}: no token with id {token_id!r}")
        del data.tokens[token_id]
        write_tokens(path, data)


def map_certificate(path: Path, common_name: str, role: Role | str, identity: str | None = None) -> None:
    """Map client certificates with subject CN ``common_name`` to ``identity`` (default: the CN)."""
    path = Path(path)
    try:
        parsed_role = _role(role)
    except ValueError as exc:
        raise TokenFileError(f"{path}: {exc}") from None
    if not common_name:
        raise TokenFileError(f"{path}: the certificate common name must not be empty")
    with locked(path):
        data = _read_or_empty(path)
        data.certificates[common_name] = CertificateMapping(
            cn=common_name, identity=identity or common_name, role=parsed_role
        )
        write_tokens(path, data)


def create_initial_admin(path: Path, *, now: float | None = None) -> str | None:
    """Create the tokens file with one admin token (id ``admin``) if no file exists.

    Returns the new secret, or None when the file already exists (it is left untouched).
    """
    path = Path(path)
    with locked(path):
        if path.exists():
            return None
        secret = new_secret()
        data = TokensFile()
        data.tokens[INITIAL_ADMIN_ID] = TokenRecord(
            id=INITIAL_ADMIN_ID, role=Role.ADMIN, hash=hash_secret(secret), created=_utc(now)
        )
        write_tokens(path, data)
    return secret
