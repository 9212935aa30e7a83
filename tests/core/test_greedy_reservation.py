"""The fair pass against Luigi's own scheduler: each scenario runs the same calls on
``luigi.scheduler.Scheduler`` (in process) and on xrsched's core, and both must hand out the
same task, which must be the one Luigi 3.8's greedy reservation gives (issue 14).

Luigi reads ``time.time()``; the xrsched side is given the same real clock, read per call, so
both see the same order of events. Only ranks and liveness matter here, never exact times.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from xrsched.core import Scheduler, SchedulerConfig

luigi_scheduler = pytest.importorskip("luigi.scheduler")


class Both:
    """A Luigi scheduler and an xrsched core driven with the same calls."""

    def __init__(self, resources: dict[str, int]) -> None:
        self.luigi = luigi_scheduler.Scheduler(resources=dict(resources), disable_persist=10, retry_delay=100)
        self.ours = Scheduler(SchedulerConfig(), dict(resources))

    def add_worker(self, worker: str, processes: int) -> None:
        """Declare how many tasks ``worker`` runs at once."""
        self.luigi.add_worker(worker=worker, info={"workers": processes})
        self.ours.add_worker(worker=worker, info={"workers": processes}, now=time.time())

    def add(self, worker: str, task_id: str, **kwargs: Any) -> None:
        """Register ``task_id`` (PENDING) for ``worker``."""
        self.luigi.add_task(worker=worker, task_id=task_id, family=task_id, **kwargs)
        self.ours.add_task(worker=worker, task_id=task_id, family=task_id, now=time.time(), **kwargs)

    def run(self, worker: str) -> str | None:
        """Ask both for work as ``worker``; they must agree. The id handed out."""
        theirs = self.luigi.get_work(worker=worker)["task_id"]
        ours = self.ours.get_work(worker=worker, now=time.time())["task_id"]
        assert ours == theirs, f"xrsched handed out {ours!r}, Luigi {theirs!r}"
        return ours


def test_busy_worker_still_reserves_for_its_higher_pending_task():
    # The example: X runs A (4) and waits for B (5, R=1) with one process. B outranks
    # A, so the walk reserves R for B before it meets A: Y's C (1, R=1) must wait.
    both = Both({"R": 1})
    both.add_worker("X", 1)
    both.add("X", "A", priority=4)
    assert both.run("X") == "A"
    both.add("X", "B", priority=5, resources={"R": 1})
    both.add("Y", "C", priority=1, resources={"R": 1})
    assert both.run("Y") is None


def test_a_running_task_that_outranks_the_pending_one_uses_up_the_slot():
    # Same, but A (10) outranks B: the walk meets A first, X's one slot is gone, nothing is
    # reserved for B, and C runs.
    both = Both({"R": 1})
    both.add_worker("X", 1)
    both.add("X", "A", priority=10)
    assert both.run("X") == "A"
    both.add("X", "B", priority=5, resources={"R": 1})
    both.add("Y", "C", priority=1, resources={"R": 1})
    assert both.run("Y") == "C"


def test_the_asking_workers_own_waiting_task_reserves_too():
    # B (10) needs r=2 of 2 while another worker holds 1: B cannot start, but it is reserved
    # for this worker, so C (r=1) must not take the unit B will need.
    both = Both({"r": 2})
    both.add("other", "D", resources={"r": 1})
    assert both.run("other") == "D"
    both.add("me", "B", priority=10, resources={"r": 2})
    both.add("me", "C", resources={"r": 1})
    assert both.run("me") is None


def test_a_running_task_that_outranks_the_waiting_one_leaves_it_unreserved():
    # The holder D (20) outranks B: B cannot fit after it, so nothing is reserved and C runs.
    both = Both({"r": 2})
    both.add("other", "D", priority=20, resources={"r": 1})
    assert both.run("other") == "D"
    both.add("me", "B", priority=10, resources={"r": 2})
    both.add("me", "C", resources={"r": 1})
    assert both.run("me") == "C"


def test_lower_ranked_running_tasks_hold_nothing_back_in_the_walk():
    # "locker" (0) holds lock; "high" (10, db+lock) ranks above it, so the walk reserves db and
    # lock for high before it meets locker: low (1, db) waits although high cannot start now.
    both = Both({"db": 1, "lock": 1})
    both.add_worker("w3", 1)
    both.add("w3", "locker", resources={"lock": 1})
    assert both.run("w3") == "locker"
    assert both.run("w1") is None  # w1 asks once: a live worker
    both.add("w1", "high", priority=10, resources={"db": 1, "lock": 1})
    both.add("w2", "low", priority=1, resources={"db": 1})
    assert both.run("w2") is None


def test_a_higher_ranked_holder_makes_the_waiting_task_unfit_and_frees_the_rest():
    both = Both({"db": 1, "lock": 1})
    both.add_worker("w3", 1)
    both.add("w3", "locker", priority=20, resources={"lock": 1})
    assert both.run("w3") == "locker"
    assert both.run("w1") is None
    both.add("w1", "high", priority=10, resources={"db": 1, "lock": 1})
    both.add("w2", "low", priority=1, resources={"db": 1})
    assert both.run("w2") == "low"


def test_a_running_task_on_a_resource_the_candidate_does_not_need_still_counts():
    # X holds a; Y (a+b) cannot fit after it, so Y reserves nothing and Z (b) runs.
    both = Both({"a": 1, "b": 1})
    both.add_worker("w1", 3)
    both.add("w1", "X", resources={"a": 1})
    both.add("w1", "Y", resources={"a": 1, "b": 1})
    both.add("w1", "Z", resources={"b": 1})
    assert both.run("w1") == "X"
    assert both.run("w1") == "Z"


def test_a_worker_with_two_processes_reserves_for_two_tasks():
    both = Both({"R": 3})
    both.add_worker("X", 2)
    assert both.run("X") is None
    both.add("X", "B1", priority=9, resources={"R": 1}, deps=["never"])
    both.add("X", "P1", priority=8, resources={"R": 1})
    both.add("X", "P2", priority=7, resources={"R": 1})
    both.add("X", "P3", priority=6, resources={"R": 1})
    both.add("Y", "C", priority=1, resources={"R": 1})
    # X's two slots reserve R for P1 and P2; one unit is left for C.
    assert both.run("Y") == "C"
    both.add("Y", "C2", priority=1, resources={"R": 1})
    assert both.run("Y") is None


def test_only_the_ranks_above_the_candidate_count():
    both = Both({"R": 1})
    both.add_worker("X", 1)
    assert both.run("X") is None
    both.add("X", "low", priority=1, resources={"R": 1})
    both.add("Y", "high", priority=5, resources={"R": 1})
    assert both.run("Y") == "high"
