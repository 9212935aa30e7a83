"""The reply cache behind retried calls (DESIGN §4b): bounded, least recently used evicted."""

from __future__ import annotations

import pytest

from xrsched.core.errors import Conflict
from xrsched.requestid import CURRENT_REQUEST_ID
from xrsched.service import SchedulerService
from xrsched.service.replies import DEFAULT_CAPACITY, ReplyCache


def test_a_repeat_gets_the_first_answer_and_a_new_id_nothing():
    cache = ReplyCache(4)
    cache.remember("team-a", "r1", "get_work", {"task_id": "T1"})
    assert cache.lookup("team-a", "r1", "get_work") == (True, {"task_id": "T1"})
    assert cache.lookup("team-a", "r2", "get_work") == (False, None)
    assert cache.lookup("team-b", "r1", "get_work") == (False, None)  # ids are per caller


def test_an_id_reused_for_another_method_is_a_conflict():
    cache = ReplyCache(4)
    cache.remember("c", "r1", "get_work", 1)
    with pytest.raises(Conflict, match="already used for get_work, not ping"):
        cache.lookup("c", "r1", "ping")


def test_the_cache_never_holds_more_than_its_capacity_and_drops_the_oldest_first():
    cache = ReplyCache(3)
    for n in range(1, 11):
        cache.remember("c", f"r{n}", "ping", n)
        assert len(cache) == min(n, 3)
    assert [cache.lookup("c", f"r{n}", "ping") for n in (8, 9, 10)] == [(True, 8), (True, 9), (True, 10)]
    assert all(cache.lookup("c", f"r{n}", "ping") == (False, None) for n in range(1, 8))


def test_a_repeat_keeps_its_answer_from_being_evicted_next():
    cache = ReplyCache(2)
    cache.remember("c", "old", "ping", "old answer")
    cache.remember("c", "new", "ping", "new answer")
    assert cache.lookup("c", "old", "ping") == (True, "old answer")  # now the most recently used
    cache.remember("c", "newest", "ping", "newest answer")
    assert cache.lookup("c", "old", "ping") == (True, "old answer")
    assert cache.lookup("c", "new", "ping") == (False, None)
    assert len(cache) == 2


def test_the_default_capacity_is_large_enough_for_retries_and_bounded():
    assert ReplyCache().capacity == DEFAULT_CAPACITY
    assert 1_000 <= DEFAULT_CAPACITY <= 1_000_000


def _get_work(service: SchedulerService, request_id: str) -> str | None:
    token = CURRENT_REQUEST_ID.set(request_id)
    try:
        return service.call("get_work", worker="w")["task_id"]
    finally:
        CURRENT_REQUEST_ID.reset(token)


def test_a_retry_of_an_evicted_request_id_is_run_again_as_a_new_call():
    service = SchedulerService(reply_capacity=2)
    for n in range(1, 6):
        service.call("add_task", task_id=f"T{n}", worker="w", priority=10 - n)
    assert [_get_work(service, f"r{n}") for n in (1, 2, 3)] == ["T1", "T2", "T3"]
    assert len(service.replies) == 2
    assert _get_work(service, "r3") == "T3"  # still kept: the first answer again
    assert _get_work(service, "r1") == "T4"  # evicted: handled as a new call, a new task
    running = sorted(t for t, task in service.core.tasks.items() if task.status == "RUNNING")
    assert running == ["T1", "T2", "T3", "T4"]
