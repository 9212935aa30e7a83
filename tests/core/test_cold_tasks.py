"""DONE tasks restored cold (from a snapshot) behave exactly as DONE tasks restored from rows.

Two schedulers are restored from the same records: one from the rows (every task built), one
from a snapshot (DONE tasks built on first lookup, ``xrsched.core.coldtasks``), taken then or
earlier, with the rows changed since on top. The same calls go to both; their replies, their
records and every index must stay equal.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from xrsched.core import Scheduler, SchedulerConfig
from xrsched.core.coldtasks import TaskTable
from xrsched.core.errors import SchedulerError
from xrsched.core.states import DISABLED, DONE, FAILED, PENDING
from xrsched.store.records import encode_task

from .restarts import records, restarted, rows_of

CONFIG = SchedulerConfig(
    retry_delay=5,
    remove_delay=10,
    worker_disconnect_delay=8,
    disable_window=100,
    retry_count=2,
    disable_persist=20,
    stable_done_cooldown_secs=2,
)
TASKS = [f"T{i}" for i in range(8)]
WORKERS = ["w0", "w1", "w2"]
T0 = 1000.0


def fingerprint(sched: Scheduler) -> dict[str, Any]:
    """Every record and every index, in a comparable form (cold tasks read without building them)."""
    tasks = records(sched)
    policy = sched.config.retry_policy
    return {
        "rows": {tid: encode_task(t, policy) for tid, t in tasks.items()},
        "derived": {tid: (t.unmet, t.blocked, t.gen) for tid, t in tasks.items()},
        "count": len(sched.tasks),
        "by_status": {status: set(ids) for status, ids in sched.by_status.items()},
        "dependents": {dep: set(sched.dependents(dep)) for dep in sched.rdeps},
        "workers": {
            w.id: (w.n_pending, w.n_unique, w.n_last, w.n_pend_all, w.n_uniq_all, set(w.related), set(w.reg_running))
            for w in sched.workers.values()
        },
        "ready": sched.n_ready,
        "used": {k: v for k, v in sched.used.items() if v},
        "running": sched.running_by_worker,
        "deadlines": sorted((when, kind, key) for when, _, kind, key in sched.deadlines._heap),
        "seq": sched.next_seq(),
    }


def cold_ids(sched: Scheduler) -> list[str]:
    return sched.tasks.cold_ids() if isinstance(sched.tasks, TaskTable) else []


def graph(now: float) -> Scheduler:
    """T0 <- T1 <- T2 (a chain, all DONE), T3 DONE with no deps, T4 PENDING on T2, T5 DONE on T0 and T3."""
    sched = Scheduler(CONFIG, resources={"db": 1})
    for task_id, deps, status in [
        ("T0", [], DONE),
        ("T1", ["T0"], DONE),
        ("T2", ["T1"], DONE),
        ("T3", [], DONE),
        ("T4", ["T2"], PENDING),
        ("T5", ["T0", "T3"], DONE),
    ]:
        sched.add_task(task_id=task_id, worker="w0", deps=deps, status=status, now=now)
    sched.add_task(task_id="T6", worker="w1", status=PENDING, now=now)
    return sched


@pytest.fixture
def twins() -> tuple[Scheduler, Scheduler]:
    old = graph(T0)
    return restarted(old, T0 + 1, via_snapshot=False), restarted(old, T0 + 1, via_snapshot=True)


def both(twins: tuple[Scheduler, Scheduler], method: str, **kwargs: Any) -> Any:
    """Call ``method`` on both schedulers; the replies and the states must be equal."""
    eager, lazy = twins
    replies = []
    for sched in twins:
        try:
            replies.append(getattr(sched, method)(**kwargs))
        except SchedulerError as exc:  # an error must be the same error on both
            replies.append((type(exc), str(exc)))
    assert replies[0] == replies[1]
    assert fingerprint(eager) == fingerprint(lazy)
    return replies[1]


def test_restore_leaves_done_tasks_cold_and_counts_them(twins):
    eager, lazy = twins
    assert sorted(cold_ids(lazy)) == ["T0", "T1", "T2", "T3", "T5"]
    assert len(lazy.tasks) == len(eager.tasks) == 7
    assert "T2" in lazy.tasks and "T9" not in lazy.tasks
    assert lazy.by_status[DONE] == eager.by_status[DONE]
    assert set(lazy.dependents("T0")) == {"T1", "T5"}  # the reverse index holds cold dependents
    assert sorted(cold_ids(lazy)) == ["T0", "T1", "T2", "T3", "T5"], "nothing above built a task"
    assert fingerprint(eager) == fingerprint(lazy)


def test_a_lookup_builds_only_the_task_asked_for(twins):
    _, lazy = twins
    task = lazy.tasks["T1"]
    assert task.status == DONE and task.deps == ("T0",) and (task.unmet, task.blocked) == (0, 0)
    assert lazy.tasks.get("T1") is task
    assert sorted(cold_ids(lazy)) == ["T0", "T2", "T3", "T5"]
    assert lazy.tasks.get("T9") is None
    with pytest.raises(KeyError):
        lazy.tasks["T9"]


def test_a_done_task_re_added_as_pending_is_counted_against_its_dependencies(twins):
    # T1 fails again: T2 (cold, DONE) depends on it; re-adding T2 must see T1 unmet.
    both(twins, "add_task", task_id="T1", worker="w0", status=PENDING, now=T0 + 10)
    assert "T2" in cold_ids(twins[1])
    both(twins, "add_task", task_id="T2", worker="w0", status=PENDING, now=T0 + 11)
    assert twins[1].tasks["T2"].unmet == 1
    reply = both(twins, "get_work", worker="w0", now=T0 + 12)
    assert reply["task_id"] == "T1"


def test_a_done_task_re_run_and_its_dependents_asking(twins):
    both(twins, "add_task", task_id="T0", worker="w2", status=FAILED, now=T0 + 10)
    assert "T1" in cold_ids(twins[1]) and "T5" in cold_ids(twins[1])
    both(twins, "inverse_dep_graph", task_id="T0", now=T0 + 11)
    both(twins, "dep_graph", task_id="T5", now=T0 + 11)
    both(twins, "add_task", task_id="T0", worker="w2", status=DONE, now=T0 + 12)
    both(twins, "get_work", worker="w0", now=T0 + 13)


def test_a_disabled_dependency_blocks_a_cold_task_built_later(twins):
    both(twins, "add_task", task_id="T3", worker="w0", status=DISABLED, now=T0 + 10)
    both(twins, "add_task", task_id="T5", worker="w0", status=PENDING, now=T0 + 11)
    assert twins[1].tasks["T5"].blocked == 1
    both(twins, "re_enable_task", task_id="T3", now=T0 + 12)


def test_cold_tasks_nobody_holds_are_pruned_on_time():
    old = graph(T0)
    # w0's record is gone: its DONE tasks lose their only stakeholder and are removed after remove_delay.
    eager = restarted(old, T0 + 1, via_snapshot=False, drop="w0")
    lazy = restarted(old, T0 + 1, via_snapshot=True, drop="w0")
    assert fingerprint(eager) == fingerprint(lazy)
    assert "T3" in cold_ids(lazy)
    both((eager, lazy), "prune", now=T0 + 1 + CONFIG.remove_delay + 1)
    assert "T3" not in lazy.tasks and "T3" not in lazy.by_status[DONE]


def test_listing_builds_the_tasks_it_lists(twins):
    both(twins, "task_list", status=DONE, now=T0 + 2)
    assert not cold_ids(twins[1])


def test_a_whole_graph_or_a_search_builds_every_task_at_once(twins):
    both(twins, "add_task", task_id="T1", worker="w0", status=PENDING, now=T0 + 10)  # builds T1 and T0
    lazy = twins[1]
    assert sorted(cold_ids(lazy)) == ["T2", "T3", "T5"] and lazy.tasks.cold_count == 3 and len(lazy.tasks) == 7
    both(twins, "graph", now=T0 + 11)
    assert not cold_ids(lazy) and lazy.tasks.cold_count == 0 and len(lazy.tasks) == 7
    both(twins, "task_search", task_str="T", now=T0 + 12)


def test_a_snapshot_without_done_tasks_restores_nothing_cold():
    old = Scheduler(CONFIG, resources={"db": 1})
    old.add_task(task_id="P", worker="w0", now=T0)
    eager = restarted(old, T0 + 1, via_snapshot=False)
    lazy = restarted(old, T0 + 1, via_snapshot=True)
    assert not cold_ids(lazy) and fingerprint(eager) == fingerprint(lazy)


def test_tasks_changed_since_the_snapshot_come_from_their_rows():
    old = graph(T0)
    before = rows_of(old)
    old.add_task(task_id="T2", worker="w0", status=FAILED, now=T0 + 10)  # was DONE: cold in the snapshot
    old.add_task(task_id="T7", worker="w2", deps=["T5"], now=T0 + 10)  # new; w2 becomes a stakeholder of T5
    old.add_task(task_id="T6", worker="w1", status=DONE, now=T0 + 10)  # was PENDING
    eager = restarted(old, T0 + 11, via_snapshot=False)
    lazy = restarted(old, T0 + 11, via_snapshot=True, snapshot_rows=before)
    assert sorted(cold_ids(lazy)) == ["T0", "T1", "T3"]
    assert lazy.tasks.cold_count == 3 and len(lazy.tasks) == 8
    assert lazy.tasks.hot("T2").status == FAILED and lazy.tasks.hot("T6").status == DONE
    assert lazy.tasks.hot("T5").stakeholders == ("w0", "w2")
    assert fingerprint(eager) == fingerprint(lazy)
    both((eager, lazy), "add_task", task_id="T4", worker="w0", status=PENDING, now=T0 + 12)
    both((eager, lazy), "get_work", worker="w0", now=T0 + 13)


def test_a_task_deleted_since_the_snapshot_is_gone_with_its_edges():
    old = graph(T0)
    before = rows_of(old)
    old.prune(now=T0 + 100)  # w0 and w1 fell silent: dropped, their tasks get removal times
    old.prune(now=T0 + 200)  # and are removed (T5 among them, on T0 and T3)
    assert "T5" not in old.tasks
    old.add_task(task_id="T0", worker="w2", status=DONE, now=T0 + 201)  # one comes back
    eager = restarted(old, T0 + 202, via_snapshot=False)
    lazy = restarted(old, T0 + 202, via_snapshot=True, snapshot_rows=before)
    assert sorted(lazy.tasks) == ["T0"]
    assert "T5" not in lazy.tasks and "T5" not in lazy.by_status[DONE]
    assert fingerprint(eager) == fingerprint(lazy)


def test_a_restore_from_rows_is_unchanged():
    assert not isinstance(restarted(graph(T0), T0 + 1, via_snapshot=False).tasks, TaskTable)


class Twins(RuleBasedStateMachine):
    """Random calls to two schedulers restored from the same records, one with cold tasks."""

    def __init__(self) -> None:
        super().__init__()
        self.twins: tuple[Scheduler, Scheduler] = (Scheduler(CONFIG), Scheduler(CONFIG))
        self.now = T0

    @initialize(
        statuses=st.lists(st.sampled_from([DONE, DONE, DONE, PENDING, FAILED]), min_size=8, max_size=8),
        chain=st.lists(st.booleans(), min_size=8, max_size=8),
        owners=st.lists(st.sampled_from(WORKERS), min_size=8, max_size=8),
        dropped=st.sampled_from([None, None, "w2"]),
        later=st.lists(
            st.tuples(st.integers(0, 9), st.sampled_from([PENDING, DONE, FAILED]), st.sampled_from(WORKERS)),
            max_size=6,
        ),
        prune=st.booleans(),
    )
    def start(self, statuses, chain, owners, dropped, later, prune):
        """Both from the same records; the snapshot taken before the ``later`` calls (and maybe
        a prune that removes tasks), which come from the rows on top of it."""
        old = Scheduler(CONFIG, resources={"db": 1})
        for index, task_id in enumerate(TASKS):
            deps = [TASKS[index - 1]] if index and chain[index] else []
            old.add_task(task_id=task_id, worker=owners[index], deps=deps, status=statuses[index], now=self.tick())
        before = rows_of(old)
        for index, status, worker in later:
            deps = [f"T{index - 1}"] if index else []
            old.add_task(task_id=f"T{index}", worker=worker, deps=deps, status=status, now=self.tick(5))
        if prune:
            old.prune(now=self.tick(25))
        now = self.tick()
        self.twins = (
            restarted(old, now, via_snapshot=False, drop=dropped),
            restarted(old, now, via_snapshot=True, drop=dropped, snapshot_rows=before),
        )

    def tick(self, seconds: float = 0.5) -> float:
        self.now += seconds
        return self.now

    @rule(
        worker=st.sampled_from(WORKERS),
        index=st.integers(0, 7),
        status=st.sampled_from([PENDING, DONE, FAILED, DISABLED]),
        dep=st.integers(0, 7),
    )
    def add_task(self, worker, index, status, dep):
        deps = [TASKS[dep]] if dep < index else None
        both(self.twins, "add_task", task_id=TASKS[index], worker=worker, status=status, deps=deps, now=self.tick())

    @rule(worker=st.sampled_from(WORKERS))
    def get_work(self, worker):
        both(self.twins, "get_work", worker=worker, now=self.tick())

    @rule(seconds=st.sampled_from([1, 3, 9, 12, 25]))
    def time_passes(self, seconds):
        both(self.twins, "prune", now=self.tick(seconds))

    @rule(index=st.integers(0, 7), action=st.sampled_from(["mark_as_done", "forgive_failures", "re_enable_task"]))
    def operator(self, index, action):
        both(self.twins, action, task_id=TASKS[index], now=self.tick())

    @rule(index=st.integers(0, 7), query=st.sampled_from(["dep_graph", "inverse_dep_graph", "fetch_error"]))
    def ask(self, index, query):
        both(self.twins, query, task_id=TASKS[index], now=self.tick())

    @invariant()
    def equal(self):
        assert fingerprint(self.twins[0]) == fingerprint(self.twins[1])


Twins.TestCase.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_twins = Twins.TestCase
