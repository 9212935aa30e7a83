"""Who is calling: check an ``Authorization`` header or a client certificate against the tokens.

Rules (DESIGN §3):

- ``Authorization: Bearer <secret>``, or HTTP Basic with the token id as the user name and the
  secret as the password. An empty Basic user name (``:secret``) is treated like Bearer, for
  clients that can only put credentials in a URL; any other user name must be the id of the
  token whose secret is given, so a mismatch is refused.
- A header that is present wins: if it is wrong the request is refused even when a client
  certificate was presented. Without a header, a verified client certificate whose subject CN
  is mapped in ``[certificates]`` authenticates as that mapping's identity.
- Hashes are compared with :func:`hmac.compare_digest` against every token (no early exit).
- Expired tokens are refused.
- After ``xrsched token rotate`` the old secret is accepted until its grace ends (checked on
  every call, so it stops by itself), and the identity says so (:attr:`Identity.previous_secret`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from xrsched.auth.roles import Role
from xrsched.auth.tokenfile import CertificateMapping, TokenFileError, TokenRecord, read_tokens
from xrsched.auth.tokens import hash_secret
from xrsched.auth.tokenwatch import FileSignature, file_signature

log = logging.getLogger("xrsched.server")

MAX_HEADER_LENGTH = 4096
#: Refusal reasons that a newer tokens file could turn into a success.
_UNKNOWN = frozenset({"invalid token", "certificate not mapped"})


@dataclass(frozen=True)
class Identity:
    """An authenticated caller. ``kind`` is ``"token"``, ``"certificate"`` or ``"oidc"`` (an
    identity provider's JWT, :mod:`xrsched.auth.oidc`)."""

    id: str
    role: Role
    kind: str
    #: The caller used a token's pre-rotation secret, still in its grace period (audited).
    previous_secret: bool = field(default=False, compare=False)

    @property
    def principal(self) -> str:
        """``kind:id``: unique across kinds (use it as the owner of worker ids)."""
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class AuthResult:
    """The outcome of a check: an identity, or None and a short reason for the audit log."""

    identity: Identity | None
    reason: str


@dataclass(frozen=True)
class _Table:
    tokens: MappingProxyType[str, TokenRecord]
    certificates: MappingProxyType[str, CertificateMapping]


def _table_from(path: Path) -> _Table:
    data = read_tokens(path)
    return _Table(MappingProxyType(dict(data.tokens)), MappingProxyType(dict(data.certificates)))


def _split_header(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    return (scheme.lower(), value) if value else None


def _decode_basic(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, secret = decoded.partition(":")
    return (user, secret) if sep else None


def basic_user(header: str) -> str:
    """The user name (token id) of a Basic ``Authorization`` header, printable and cut to 64
    characters; "" for any other header. For log lines: never returns the secret."""
    parts = _split_header(header[:MAX_HEADER_LENGTH])
    if parts is None or parts[0] != "basic":
        return ""
    basic = _decode_basic(parts[1])
    if basic is None:
        return ""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in basic[0][:64])


class TokenStore:
    """The tokens table a server checks credentials against; reloadable while requests run.

    Reads take a reference to an immutable snapshot, so :meth:`reload` never blocks them and a
    request sees either the old table or the new one, never a mix. The file is re-read on
    SIGHUP (:meth:`reload`) and whenever it changed (:meth:`reload_if_changed`: the server
    calls it every second, and :meth:`check` before refusing a token it does not know).
    """

    def __init__(self, path: Path, table: _Table, signature: FileSignature = None) -> None:
        self.path = Path(path)
        self._table = table
        self._seen = signature
        self._reload_lock = threading.Lock()
        #: Called after every successful re-read, whatever triggered it (SIGHUP, the periodic
        #: look, or an unknown secret): the server releases revoked tokens' worker ids there.
        self.on_reload: list[Callable[[], None]] = []

    @classmethod
    def load(cls, path: Path) -> TokenStore:
        """Read the tokens file; raises :class:`TokenFileError` if it is missing or invalid."""
        signature = file_signature(Path(path))  # taken first: a change while reading is seen next time
        return cls(Path(path), _table_from(Path(path)), signature)

    def __len__(self) -> int:
        return len(self._table.tokens)

    def reload(self) -> TokenFileError | None:
        """Re-read the file (on SIGHUP). On error keep the current table, log and return the error."""
        with self._reload_lock:
            return self._reload_locked(file_signature(self.path))

    def reload_if_changed(self) -> bool:
        """Re-read the file if it changed since it was last read; True if it did.

        Costs one ``stat`` when nothing changed. A bad new file is logged once and the current
        tokens stay in force until the file changes again.
        """
        if file_signature(self.path) == self._seen:
            return False
        with self._reload_lock:
            signature = file_signature(self.path)
            if signature == self._seen:
                return False  # another thread just reloaded it
            self._reload_locked(signature)
        return True

    def _reload_locked(self, signature: FileSignature) -> TokenFileError | None:
        self._seen = signature
        try:
            table = _table_from(self.path)
        except TokenFileError as exc:
            log.error("tokens file not reloaded, keeping the previous tokens: %s", exc.message)
            return exc
        self._table = table
        log.info("tokens file %s reloaded: %d token(s)", self.path, len(table.tokens))
        for listener in self.on_reload:
            listener()
        return None

    def principals(self, role: Role, now: float) -> frozenset[str]:
        """The principals (:attr:`Identity.principal`) that hold ``role`` now: unexpired tokens
        and mapped certificates. The server keeps worker-id claims only for these."""
        table = self._table
        tokens = {f"token:{r.id}" for r in table.tokens.values() if r.role is role and not r.expired(now)}
        certificates = {f"certificate:{m.identity}" for m in table.certificates.values() if m.role is role}
        return frozenset(tokens | certificates)

    def expiring(self, now: float, within: float) -> list[tuple[str, float]]:
        """``(token id, expiry)`` of the unexpired tokens that expire within ``within`` seconds,
        soonest first (for the health document)."""
        soon = [
            (record.id, at)
            for record in self._table.tokens.values()
            if (at := record.expires_at) is not None and now < at <= now + within
        ]
        return sorted(soon, key=lambda item: (item[1], item[0]))

    def authenticate(self, authorization_header: str | None, peer_cert_cn: str | None, now: float) -> Identity | None:
        """The caller's identity, or None if the credentials are missing, wrong or expired."""
        return self.check(authorization_header, peer_cert_cn, now).identity

    def check(self, authorization_header: str | None, peer_cert_cn: str | None, now: float) -> AuthResult:
        """Like :meth:`authenticate` but also says why a request was refused.

        Before refusing a secret or certificate it does not know, it re-reads the tokens file
        if that changed: a token just added with ``xrsched token add`` works at once.
        """
        result = self._check(self._table, authorization_header, peer_cert_cn, now)
        if result.reason in _UNKNOWN and self.reload_if_changed():
            result = self._check(self._table, authorization_header, peer_cert_cn, now)
        return result

    def _check(
        self, table: _Table, authorization_header: str | None, peer_cert_cn: str | None, now: float
    ) -> AuthResult:
        if authorization_header is None:
            if peer_cert_cn is not None:
                mapping = table.certificates.get(peer_cert_cn)
                if mapping is not None:
                    return AuthResult(Identity(mapping.identity, mapping.role, "certificate"), "ok")
                return AuthResult(None, "certificate not mapped")
            return AuthResult(None, "no credentials")
        if len(authorization_header) > MAX_HEADER_LENGTH:
            return AuthResult(None, "malformed authorization")
        parts = _split_header(authorization_header)
        if parts is None:
            return AuthResult(None, "malformed authorization")
        scheme, value = parts
        if scheme == "bearer":
            user, secret = "", value
        elif scheme == "basic":
            basic = _decode_basic(value)
            if basic is None:
                return AuthResult(None, "malformed authorization")
            user, secret = basic
        else:
            return AuthResult(None, "unsupported authorization scheme")
        record, previous = self._match(table, secret)
        if record is None or (user and user != record.id):
            return AuthResult(None, "invalid token")
        if record.expired(now):
            return AuthResult(None, "expired token")
        if previous and not record.previous_valid(now):
            return AuthResult(None, "rotated-out secret (grace period over)")
        return AuthResult(Identity(record.id, record.role, "token", previous_secret=previous), "ok")

    @staticmethod
    def _match(table: _Table, secret: str) -> tuple[TokenRecord | None, bool]:
        """The token whose current or previous secret this is, and whether it was the previous."""
        digest = hash_secret(secret).encode()
        found, previous = None, False
        for record in table.tokens.values():
            # No early exit: the time taken does not depend on where (or whether) a match is.
            if hmac.compare_digest(digest, record.hash.encode()):
                found, previous = record, False
            if record.previous_hash is not None and hmac.compare_digest(digest, record.previous_hash.encode()):
                found, previous = record, True
        return found, previous
