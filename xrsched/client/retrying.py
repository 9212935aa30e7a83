"""When and how long to wait before repeating a call: tenacity with exponential backoff and jitter.

Only errors whose ``retryable`` flag is set are repeated: connection failures, timeouts,
``429`` and ``503`` (as faults or HTTP statuses) and gateway errors from a proxy. Faults that
mean the request itself is wrong (400, 403, 404, 409, -326xx) and 401 are raised at once.
A ``Retry-After`` the server sent is honoured up to ``max_retry_after``.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import tenacity

from xrsched.client.errors import ClientError
from xrsched.client.transport import ClientStats

log = logging.getLogger("xrsched.client")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is repeated.

    - ``retries``: attempts after the first (0 turns retrying off).
    - ``backoff``: first delay in seconds; each further delay doubles, up to ``max_backoff``,
      plus a random jitter of up to ``backoff`` seconds so that many workers do not retry
      in step after a server restart.
    - ``max_retry_after``: cap on a server-requested ``Retry-After``.
    - ``deadline``: optional bound on the whole call, sleeps included (seconds).
    """

    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 60.0
    deadline: float | None = None

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("retries must be >= 0")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError("backoff, max_backoff and max_retry_after must be >= 0")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError("deadline must be > 0 seconds")


def is_retryable(exc: BaseException) -> bool:
    """Whether repeating the call that raised ``exc`` can help."""
    return isinstance(exc, ClientError) and exc.retryable


class _Wait(tenacity.wait.wait_base):
    """The server's ``Retry-After`` (capped) when it gave one, else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        policy = self._policy
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            return min(float(asked), policy.max_retry_after)
        exponent = min(retry_state.attempt_number - 1, 32)
        delay = min(policy.max_backoff, policy.backoff * 2**exponent)
        return min(policy.max_backoff, delay + random.uniform(0, policy.backoff))


def retrying(policy: RetryPolicy, stats: ClientStats, what: str) -> tenacity.Retrying:
    """A fresh :class:`tenacity.Retrying` for one logical call (``what`` names it in the log)."""
    stop = tenacity.stop_after_attempt(policy.retries + 1)
    if policy.deadline is not None:
        stop = stop | tenacity.stop_after_delay(policy.deadline)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        stats.add("retries")
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning("%s failed (attempt %d): %s; retrying in %.2fs", what, state.attempt_number, exc, delay)

    return tenacity.Retrying(
        stop=stop,
        wait=_Wait(policy),
        retry=tenacity.retry_if_exception(is_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
