"""When and how long to wait before repeating a call: tenacity with exponential backoff and jitter.

Only errors whose ``retryable`` flag is set are repeated: connection failures, timeouts,
``429`` and ``503`` (as faults or HTTP statuses) and gateway errors from a proxy. Faults that
mean the request itself is wrong (400, 403, 404, 409, -326xx) and 401 are raised at once.
A ``Retry-After`` the server sent is honoured up to ``max_retry_after``.

A :class:`Patience` shared by every call of a client (the worker sets one) bounds an outage
as a whole, and logs it as a few lines instead of one per retry.

The first attempt of a call runs without tenacity, which is imported only once an attempt
has failed in a way worth repeating: importing it (and the asyncio it pulls in) costs about a
tenth of a second, which every ``xrsched run`` would otherwise pay before its first task.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from xrsched.client.endpoint import ClientStats
from xrsched.client.errors import AuthenticationFailed, ClientError, SchedulerFault

if TYPE_CHECKING:
    import tenacity

    from xrsched.client.failover import Route

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


class Patience:
    """How long the calls of one client go on retrying while its server does not answer.

    Shared by every call and thread of the client, so that an outage has one clock: it starts at
    the first failed attempt of any call and ends at the next answer (a final fault is an answer
    too; 503 and 429 are not).
    ``left()`` is what remains of ``limit`` seconds; retries stop when nothing is left. The
    outage is logged at WARNING on its first failure and then once per ``summary_every`` seconds;
    every other failed attempt only at DEBUG.
    """

    def __init__(self, limit: float, summary_every: float = 10.0) -> None:
        if limit <= 0 or summary_every <= 0:
            raise ValueError("limit and summary_every must be > 0 seconds")
        self.limit = limit
        self.summary_every = summary_every
        self._lock = threading.Lock()
        #: ``time.monotonic()`` of the outage's first failure; None while the server answers.
        self.since: float | None = None
        self._logged = 0.0
        self._failures = 0

    def left(self) -> float:
        """Seconds of the outage still allowed (``limit`` when there is no outage)."""
        since = self.since
        return self.limit if since is None else self.limit - (time.monotonic() - since)

    def failed(self, what: str, error: BaseException, started: float | None = None) -> float:
        """Count a failed attempt of ``what`` that began at ``started`` (``time.monotonic()``;
        default now), logging it if due; the seconds left. An outage starts when its first failed
        attempt began: a connect that timed out already spent part of the patience."""
        now = time.monotonic()
        with self._lock:
            self._failures += 1
            if self.since is None:
                self.since, self._logged, self._failures = min(now, started or now), now, 1
                log.warning("scheduler unreachable: %s failed: %s; retrying for up to %gs", what, error, self.limit)
            elif now - self._logged >= self.summary_every and now - self.since < self.limit:  # not when giving up
                self._logged = now
                log.warning("scheduler still unreachable after %.0fs (%d failed attempts; last: %s)",
                            now - self.since, self._failures, error)  # fmt: skip
            else:
                log.debug("%s failed: %s", what, error)
            return self.limit - (now - self.since)

    def answered(self) -> None:
        """The server answered: the outage, if any, is over."""
        if self.since is None:
            return
        with self._lock:
            if self.since is not None:
                log.info("scheduler reachable again after %.1fs", time.monotonic() - self.since)
                self.since = None


def _answered(exc: BaseException | None) -> bool:
    """Whether an attempt that ended with ``exc`` (None: it succeeded) was served: a final fault
    is an answer, a 503 or 429 is not (a server that only ever says "unavailable" is as lost)."""
    return exc is None or (isinstance(exc, SchedulerFault | AuthenticationFailed) and not exc.retryable)


class _FirstAttempt:
    """The first try of a call: keeps a retryable error for later instead of raising it."""

    def __init__(self, patience: Patience | None, route: Route | None) -> None:
        self.error: ClientError | None = None
        self.patience = patience
        self.route = route

    def __enter__(self) -> _FirstAttempt:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if self.patience is not None and _answered(exc):
            self.patience.answered()
        if isinstance(exc, ClientError) and exc.retryable:
            self.error = exc
            if self.route is not None:
                self.route.failed(exc)
            return True
        return False


class Attempts:
    """The attempts of one logical call, used as ``for attempt in attempts: with attempt: ...``.

    The first attempt is plain; after a retryable failure the rest go through
    :class:`tenacity.Retrying` (stop after ``retries`` more attempts, at the deadline or when
    the ``patience`` has run out; waits from :func:`retry_delay` counting on from the first
    failure, never past what is left of the patience).

    With a ``route`` (a client given several URLs, :mod:`xrsched.client.failover`) every
    retryable failure is reported to it, which may move the client to another URL; an attempt
    that goes to a URL this call has not tried yet goes at once, without a wait or a word from
    the patience (the route logs the move). The budget is the same: each URL tried is an attempt.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        stats: ClientStats,
        what: str,
        patience: Patience | None = None,
        route: Route | None = None,
    ) -> None:
        self.policy = policy
        self.stats = stats
        self.what = what
        self.patience = patience
        self.route = route

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self._attempts()
        except ClientError as exc:
            final = exc if self.route is None else self.route.final(exc)
            if final is exc:
                raise
            raise final from exc

    def _attempts(self) -> Iterator[Any]:
        started = time.monotonic()
        first = _FirstAttempt(self.patience, self.route)
        yield first
        error = first.error
        if error is None:
            return
        policy = self.policy
        elapsed = time.monotonic() - started
        at_once = self.route is not None and self.route.at_once
        left = float("inf")
        if self.patience is not None and not at_once:
            left = self.patience.failed(self.what, error, started)
        if policy.retries == 0 or left <= 0 or (policy.deadline is not None and elapsed >= policy.deadline):
            raise error
        delay = 0.0 if at_once else min(retry_delay(policy, 1, error), left)
        self.stats.add("retries")
        if self.patience is None and not at_once:
            log.warning("%s failed (attempt 1): %s; retrying in %.2fs", self.what, error, delay)
        time.sleep(delay)
        yield from _rest(policy, self.stats, self.what, time.monotonic() - started, self.patience, self.route)
        if self.patience is not None:
            self.patience.answered()


def _rest(
    policy: RetryPolicy,
    stats: ClientStats,
    what: str,
    elapsed: float,
    patience: Patience | None,
    route: Route | None = None,
) -> tenacity.Retrying:
    """Attempts 2 and later, through tenacity (imported here, on the first retry only)."""
    import tenacity

    stop = tenacity.stop_after_attempt(policy.retries)
    if policy.deadline is not None:
        stop = stop | tenacity.stop_after_delay(max(0.0, policy.deadline - elapsed))

    def after(state: tenacity.RetryCallState) -> None:  # every retryable failure, before stop and wait
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if route is not None and isinstance(exc, ClientError):
            route.failed(exc)

    def wait(state: tenacity.RetryCallState) -> float:
        if route is not None and route.at_once:
            return 0.0
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        delay = retry_delay(policy, state.attempt_number + 1, exc)
        if patience is not None and exc is not None and is_retryable(exc):
            delay = min(delay, max(0.0, patience.failed(what, exc)))
        return delay

    if patience is not None:
        stop = tenacity.stop_any(stop, lambda state: patience.left() <= 0)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        stats.add("retries")
        if patience is not None or (route is not None and route.at_once):
            return  # the patience logs the outage as a whole, the route a move to another URL
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning("%s failed (attempt %d): %s; retrying in %.2fs", what, state.attempt_number + 1, exc, delay)

    return tenacity.Retrying(
        stop=stop,
        wait=wait,
        retry=tenacity.retry_if_exception(is_retryable),
        after=after,
        before_sleep=before_sleep,
        reraise=True,
    )
