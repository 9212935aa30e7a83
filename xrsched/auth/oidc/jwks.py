"""The identity provider's signing keys: a JWK Set read from a file or fetched over HTTPS.

The keys are cached. They are fetched again on a schedule (``refresh_interval``, sooner after a
failure) and when a token names a key id the cache does not hold (the provider rotated its
keys), but never twice within ``min_refresh_interval``: a flood of tokens with made-up key ids
costs the provider at most one request per interval. A failed fetch keeps the cached keys in
force and is reported by :meth:`KeySet.state` (the health document turns ``degraded``).

HTTPS fetches verify the provider's certificate with :func:`xrsched.tls.client_context` (the
``[oidc] ca`` file, else the system store) and follow no redirects.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from jwt import PyJWK
from jwt.exceptions import InvalidKeyError, PyJWKError, PyJWKSetError

from xrsched.tls import TLSConfigError, client_context

log = logging.getLogger("xrsched.server")

MAX_JWKS_BYTES = 1024 * 1024
FETCH_TIMEOUT = 5.0
#: After a failed fetch, the next scheduled try comes this soon (or min_refresh_interval if longer).
RETRY_AFTER_FAILURE = 30.0

#: JWK key types with a public key (RSA, elliptic curves, Edwards curves): never "oct".
_PUBLIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
#: key id -> the usable signing keys with that id ("" for keys without one).
Keys = MappingProxyType[str, tuple[PyJWK, ...]]


class JwksError(Exception):
    """The key set cannot be had or used; the message says where and why, in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class KeySetState:
    """What the health document shows about the keys: how many, and how the last fetch went."""

    keys: int
    #: Epoch seconds of the last fetch attempt (None before the first one).
    last_refresh: float | None
    #: Whether that attempt succeeded.
    ok: bool
    #: Why it failed ("" when it did not).
    error: str = ""


def parse_jwks(data: bytes, where: str) -> Keys:
    """The signing keys of a JWK Set document; JwksError if it is not one or has none usable."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise JwksError(f"{where}: not JSON") from None
    raw_keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(raw_keys, list):
        raise JwksError(f"{where}: not a JWK Set (no 'keys' list)")
    keys: dict[str, list[PyJWK]] = {}
    for raw in raw_keys:
        if not isinstance(raw, dict) or raw.get("use", "sig") != "sig" or raw.get("kty") not in _PUBLIC_KEY_TYPES:
            continue  # encryption keys, shared secrets ("oct") and junk are not ours to use
        try:
            key = PyJWK(raw)
        except (PyJWKError, PyJWKSetError, InvalidKeyError):
            continue  # a key we cannot verify with (an unknown curve, a malformed modulus): skip it
        keys.setdefault(str(raw.get("kid", "")), []).append(key)
    if not keys:
        raise JwksError(f"{where}: no usable signing key in the set")
    return MappingProxyType({kid: tuple(found) for kid, found in keys.items()})


def _fetch_https(url: str, ca: Path | None, timeout: float) -> bytes:
    """GET the key set: no redirects, at most MAX_JWKS_BYTES, all of it within ``timeout``
    (a provider that drips its answer cannot hold a refresh, and the requests behind it, longer)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise JwksError(f"{url}: not an https:// URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        context = client_context(ca)
    except TLSConfigError as exc:
        raise JwksError(f"{url}: {exc.message}") from None
    deadline = time.monotonic() + timeout
    connection = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=context)
    try:
        connection.request("GET", path, headers={"Accept": "application/json", "User-Agent": "xrsched"})
        response = connection.getresponse()
        if response.status != 200:
            raise JwksError(f"{url}: HTTP {response.status} {response.reason}")
        return _read_body(response, url, deadline, timeout)
    except (OSError, http.client.HTTPException) as exc:
        raise JwksError(f"{url}: {type(exc).__name__}: {exc}".rstrip(": ")) from None
    finally:
        connection.close()


def _read_body(response: http.client.HTTPResponse, url: str, deadline: float, timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(64 * 1024):
        size += len(chunk)
        if size > MAX_JWKS_BYTES:
            raise JwksError(f"{url}: the key set is larger than {MAX_JWKS_BYTES} bytes")
        if time.monotonic() > deadline:
            raise JwksError(f"{url}: the key set did not arrive within {timeout:g}s")
        chunks.append(chunk)
    return b"".join(chunks)


def _read_file(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_JWKS_BYTES + 1)
    except OSError as exc:
        raise JwksError(f"JWKS file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_JWKS_BYTES:
        raise JwksError(f"JWKS file {path}: larger than {MAX_JWKS_BYTES} bytes")
    return data


def load_jwks(location: str, *, ca: Path | None = None, timeout: float = FETCH_TIMEOUT) -> Keys:
    """Read (a path) or fetch (an ``https://`` URL) the key set at ``location`` and parse it."""
    if location.lower().startswith("https://"):
        return parse_jwks(_fetch_https(location, ca, timeout), location)
    path = Path(location).expanduser()
    return parse_jwks(_read_file(path), f"JWKS file {path}")


class KeySet:
    """The cached keys of one provider, refreshed on a schedule and on demand (rate-bounded).

    Thread-safe: lookups read an immutable snapshot; one refresh runs at a time, and callers
    that asked meanwhile see its result instead of fetching again.
    """

    def __init__(
        self,
        location: str,
        *,
        ca: Path | None = None,
        refresh_interval: float = 3600.0,
        min_refresh_interval: float = 30.0,
        timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self.location = location
        self.ca = ca
        self.refresh_interval = refresh_interval
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._keys: Keys = MappingProxyType({})
        self._state = KeySetState(keys=0, last_refresh=None, ok=False, error="not loaded yet")
        self._lock = threading.Lock()
        #: Called after every fetch that changed the keys (the verifier forgets cached tokens).
        self.on_change: list[Callable[[], None]] = []

    @property
    def is_url(self) -> bool:
        """Whether the keys come over HTTPS (else from a file)."""
        return self.location.lower().startswith("https://")

    def load_at_start(self, now: float) -> None:
        """The first load. A file that cannot be used raises JwksError (the server does not
        start); an unreachable URL is logged, shown in health and retried on schedule."""
        if not self.refresh(now, why="start-up", warn=self.is_url) and not self.is_url:
            raise JwksError(self._state.error)

    def state(self) -> KeySetState:
        """The keys' state for the health document."""
        return self._state

    def find(self, kid: str | None, algorithm: str, now: float) -> PyJWK | None:
        """The key for a token's ``kid`` and ``alg``; an unknown id triggers one (bounded) refresh."""
        key = self._lookup(self._keys, kid, algorithm)
        if key is None:
            # Look again whether or not this call fetched: a refresh that ran while it waited
            # for the lock may have brought the key, and then the rate bound skips a new fetch.
            self.refresh(now, why="a token names an unknown key id")
            key = self._lookup(self._keys, kid, algorithm)
        return key

    @staticmethod
    def _lookup(keys: Keys, kid: str | None, algorithm: str) -> PyJWK | None:
        if kid is None:
            # A token without a key id is accepted only when the choice is unambiguous.
            candidates = [k for found in keys.values() for k in found if k.algorithm_name == algorithm]
            return candidates[0] if len(candidates) == 1 else None
        return next((k for k in keys.get(kid, ()) if k.algorithm_name == algorithm), None)

    def refresh_if_due(self, now: float) -> None:
        """Fetch again if the schedule says so (called about once a second by the server)."""
        state = self._state
        if state.last_refresh is None:
            due = True
        else:
            wait = self.refresh_interval if state.ok else max(RETRY_AFTER_FAILURE, self.min_refresh_interval)
            due = now - state.last_refresh >= min(wait, self.refresh_interval)
        if due:
            self.refresh(now, why="scheduled")

    def refresh(self, now: float, *, why: str = "asked", warn: bool = True) -> bool:
        """Fetch the keys now unless the last attempt is younger than ``min_refresh_interval``.

        Returns True if a fetch was made and succeeded. A failure keeps the cached keys and is
        logged (unless ``warn`` is False: the caller reports it).
        """
        with self._lock:
            last = self._state.last_refresh
            if last is not None and now - last < self.min_refresh_interval:
                return False
            try:
                keys = load_jwks(self.location, ca=self.ca, timeout=self.timeout)
            except JwksError as exc:
                self._state = KeySetState(len(self._all(self._keys)), now, ok=False, error=exc.message)
                if warn:
                    log.warning(
                        "oidc: key set not refreshed (%s), keeping %d cached key(s): %s",
                        why,
                        self._state.keys,
                        exc.message,
                    )
                return False
            changed = self._fingerprint(keys) != self._fingerprint(self._keys)
            self._keys = keys
            self._state = KeySetState(len(self._all(keys)), now, ok=True)
        if changed:
            log.info("oidc: loaded %d signing key(s) from %s (%s)", self._state.keys, self.location, why)
            for listener in self.on_change:
                listener()
        return True

    @staticmethod
    def _all(keys: Keys) -> list[PyJWK]:
        return [key for found in keys.values() for key in found]

    @staticmethod
    def _fingerprint(keys: Keys) -> frozenset[tuple[str, str, str]]:
        return frozenset(
            (kid, key.algorithm_name, json.dumps(key.Algorithm.to_jwk(key.key, as_dict=True), sort_keys=True))
            for kid, found in keys.items()
            for key in found
        )
