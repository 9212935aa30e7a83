"""The per-peer limit on failed sign-ins."""

from __future__ import annotations

from xrsched.dashboard.limiter import FailureLimiter


def test_a_peer_is_held_back_after_its_attempts_until_the_window_passes():
    limiter = FailureLimiter(attempts=3, window=60.0)
    for now in (0.0, 1.0, 2.0):
        assert limiter.retry_after("10.0.0.1", now) == 0.0
        limiter.failed("10.0.0.1", now)
    assert limiter.retry_after("10.0.0.1", 3.0) == 57.0
    assert limiter.retry_after("10.0.0.2", 3.0) == 0.0  # other peers are not affected
    assert limiter.retry_after("10.0.0.1", 60.5) == 0.0  # the first failure left the window
    limiter.failed("10.0.0.1", 60.6)  # three failures within a minute again (1, 2, 60.6)
    assert limiter.retry_after("10.0.0.1", 60.7) > 0


def test_many_peers_do_not_grow_it_without_bound():
    limiter = FailureLimiter(attempts=2, window=10.0)
    for i in range(10_000):
        limiter.failed(f"peer{i}", float(i))
    assert len(limiter._failures) <= 4096
