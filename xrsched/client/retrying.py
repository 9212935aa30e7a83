"""When and how long to wait before repeating a call: tenacity with exponential backoff and jitter.

Only errors whose ``retryable`` flag is set are repeated: connection failures, timeouts,
``429`` and ``503`` (as faults or HTTP statuses) and gateway errors from a proxy. Faults that
mean the request itself is wrong (400, 403, 404, 409, -326xx) and 401 are raised at once.
A ``Retry-After`` the server sent is honoured up to ``max_retry_after``.

The first attempt of a call runs without tenacity, which is imported only once an attempt
has failed in a way worth repeating: importing it (and the asyncio it pulls in) costs about a
tenth of a second, which every ``xrsched run`` would otherwise pay before its first task.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from xrsched.client.errors import ClientError
from xrsched.client.transport import ClientStats

if TYPE_CHECKING:
    import tenacity

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


def retry_delay(policy: RetryPolicy, attempt: int, exc: BaseException | None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first): the server's
    ``Retry-After`` (capped) when it gave one, else exponential backoff with jitter."""
    asked = getattr(exc, "retry_after", None)
    if asked is not None:
        return min(float(asked), policy.max_retry_after)
    exponent = min(attempt - 1, 32)
    delay = min(policy.max_backoff, policy.backoff * 2**exponent)
    return min(policy.max_backoff, delay + random.uniform(0, policy.backoff))


class _FirstAttempt:
    """The first try of a call: keeps a retryable error for later instead of raising it."""

    def __init__(self) -> None:
        self.error: ClientError | None = None

    def __enter__(self) -> _FirstAttempt:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if isinstance(exc, ClientError) and exc.retryable:
            self.error = exc
            return True
        return False


class Attempts:
    """The attempts of one logical call, used as ``for attempt in attempts: with attempt: ...``.

    The first attempt is plain; after a retryable failure the rest go through
    :class:`tenacity.Retrying` (stop after ``retries`` more attempts or at the deadline, waits
    from :func:`retry_delay` counting on from the first failure).
    """

    def __init__(self, policy: RetryPolicy, stats: ClientStats, what: str) -> None:
        self.policy = policy
        self.stats = stats
        self.what = what

    def __iter__(self) -> Iterator[Any]:
        started = time.monotonic()
        first = _FirstAttempt()
        yield first
        error = first.error
        if error is None:
            return
        policy = self.policy
        elapsed = time.monotonic() - started
        if policy.retries == 0 or (policy.deadline is not None and elapsed >= policy.deadline):
            raise error
        delay = retry_delay(policy, 1, error)
        self.stats.add("retries")
        log.warning("%s failed (attempt 1): %s; retrying in %.2fs", self.what, error, delay)
        time.sleep(delay)
        yield from _rest(policy, self.stats, self.what, time.monotonic() - started)


def _rest(policy: RetryPolicy, stats: ClientStats, what: str, elapsed: float) -> tenacity.Retrying:
    """Attempts 2 and later, through tenacity (imported here, on the first retry only)."""
    import tenacity

    stop = tenacity.stop_after_attempt(policy.retries)
    if policy.deadline is not None:
        stop = stop | tenacity.stop_after_delay(max(0.0, policy.deadline - elapsed))

    def wait(state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        return retry_delay(policy, state.attempt_number + 1, outcome.exception() if outcome is not None else None)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        stats.add("retries")
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning("%s failed (attempt %d): %s; retrying in %.2fs", what, state.attempt_number + 1, exc, delay)

    return tenacity.Retrying(
        stop=stop,
        wait=wait,
        retry=tenacity.retry_if_exception(is_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )


def retrying(policy: RetryPolicy, stats: ClientStats, what: str) -> Attempts:
    """The attempts of one logical call (``what`` names it in the log); see :class:`Attempts`."""
    return Attempts(policy, stats, what)
