"""How the worker packs its requests: AskSizer (how many get_work calls) played against simple
graph shapes, and linger_for (how long reports wait for sibling tasks)."""

from __future__ import annotations

import pytest

from xrsched.worker.asking import LINGER, LINGER_WINDOW, AskSizer, linger_for, prefetch_slots, typical_after


def _play(sizer: AskSizer, processes: int, runnable_after_each: int, requests: int) -> list[tuple[int, int]]:
    """A worker whose tasks finish between two requests, against a scheduler that always has
    ``runnable_after_each`` tasks ready: ``(asked, handed)`` per request."""
    log = []
    for _ in range(requests):
        asked = sizer.size(processes)
        handed = min(asked, runnable_after_each)
        sizer.record(asked, handed, processes)
        log.append((asked, handed))
    return log


def test_a_fan_in_fills_every_idle_child_in_one_request():
    assert _play(AskSizer(4), 4, 1000, 5) == [(4, 4)] * 5


def test_a_chain_sends_at_most_one_get_work_too_many():
    log = _play(AskSizer(4), 4, 1, 8)
    assert log[0] == (4, 1)  # the first request cannot know
    assert all(asked <= 2 and handed == 1 for asked, handed in log[1:])


def test_an_ask_limited_by_idle_children_keeps_the_cap():
    """The regression: a fan-in used to alternate a full request with a one-task request."""
    sizer = AskSizer(4)
    sizer.record(4, 2, 4)  # fewer came: the cap drops to 2
    assert sizer.size(3) == 2
    sizer.record(2, 2, 4)  # the cap limited this ask and all came: it doubles
    assert sizer.size(1) == 1
    sizer.record(1, 1, 4)  # only one child was idle: that says nothing, the cap stays 4
    assert sizer.cap == 4 and sizer.size(4) == 4


def test_the_cap_follows_a_bigger_pool_and_never_drops_below_one():
    sizer = AskSizer(2)
    sizer.record(2, 0, 2)
    assert sizer.cap == 1 and sizer.size(0) == 0
    for _ in range(4):
        sizer.record(sizer.size(8), sizer.size(8), 8)  # set_worker_processes grew the pool to 8
    assert sizer.cap == 8


def test_reports_wait_briefly_for_siblings_only():
    now = 100.0
    until = now + LINGER
    assert linger_for(now, until, []) is None  # nothing else running (a chain): send at once
    assert linger_for(now, until, [now - 10.0]) is None  # a long task: never waited for
    assert linger_for(now, until, [now - 10.0, now - LINGER_WINDOW / 2]) == pytest.approx(LINGER)
    assert linger_for(until, until, [until - 0.0001]) is None  # the pause is over


def test_tasks_are_fetched_ahead_only_while_they_are_known_to_be_short():
    assert prefetch_slots(4, None, 0.05) == 0  # nothing finished yet: no idea
    assert prefetch_slots(4, 0.01, 0.05) == 4
    assert prefetch_slots(4, 0.01, 0.0) == 0  # prefetch_below = 0 turns it off
    typical = None
    for _ in range(10):
        typical = typical_after(typical, 0.002)
    assert prefetch_slots(4, typical, 0.05) == 4
    typical = typical_after(typical, 30.0)  # one long task is enough to stop
    assert prefetch_slots(4, typical, 0.05) == 0
