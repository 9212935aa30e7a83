"""The server's identity-provider (OIDC) wiring: the verifier with its first keys, loaded at
start, and the thread that refreshes those keys on their schedule while the server runs."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from xrsched.server import preflight
from xrsched.settings import ServerSettings

if TYPE_CHECKING:
    from xrsched.auth.oidc.verifier import OidcVerifier

log = logging.getLogger("xrsched.server")
#: Seconds between two looks at whether the identity provider's keys are due for a refresh.
OIDC_CHECK_INTERVAL = 1.0


def load_verifier(settings: ServerSettings) -> OidcVerifier | None:
    """The identity-provider verifier with its first keys (a bad JWKS file stops the start;
    an unreachable JWKS URL is retried on schedule and shown in health)."""
    if settings.oidc is None:
        return None
    from xrsched.auth.oidc.jwks import JwksError  # PyJWT is loaded only when configured
    from xrsched.auth.oidc.verifier import OidcVerifier

    verifier = OidcVerifier(settings.oidc)
    try:
        verifier.keys.load_at_start(time.time())
    except JwksError as exc:
        raise preflight.StartupError(f"oidc: {exc.message}") from None
    if not settings.oidc.roles:
        log.warning("oidc: [oidc.roles] is empty: identity-provider tokens authenticate but may call nothing")
    return verifier


def start_key_refresh(oidc: OidcVerifier, stop: threading.Event) -> None:
    """Refresh ``oidc``'s keys in a daemon thread of their own until ``stop`` is set."""
    refresher = threading.Thread(target=_refresh_keys, args=(oidc, stop), name="xrsched-oidc-keys", daemon=True)
    refresher.start()


def _refresh_keys(oidc: OidcVerifier, stop: threading.Event) -> None:
    """Refresh the identity provider's keys on their schedule, off the main loop (a fetch
    from a provider that does not answer may take its whole timeout)."""
    while not stop.wait(OIDC_CHECK_INTERVAL):
        try:
            oidc.keys.refresh_if_due(time.time())
        except Exception:  # a bug here must not end the refreshes for good: log it, try again
            log.exception("oidc: key refresh failed unexpectedly; retrying on schedule")
