"""The ready heaps keep no entry for a removed task beyond a bound set by what they still hold.

Heap entries are invalidated lazily; a removed task's entries name a record the scheduler no
longer knows, and would keep it in memory until the next sweep. These tests run tasks through
a real ``Scheduler`` (register, run, done, removed by ``prune`` past ``remove_delay``) and look
at what the heaps still hold.
"""

from __future__ import annotations

from tests.core.conftest import T0, add, finish, make, run
from tests.core.restarts import restarted
from xrsched.core import Scheduler
from xrsched.core.ready import REMOVAL_SWEEP_FLOOR
from xrsched.core.states import PENDING, RUNNING

#: Drops the silent worker at T0 + 2 and the tasks it left 1 s later.
QUICK = {"remove_delay": 1, "worker_disconnect_delay": 1}


def heap_entries(s: Scheduler) -> list[tuple]:
    """Every entry of every ready heap, global and per worker."""
    heaps = [*s.global_buckets.values(), *(h for w in s.workers.values() for h in w.buckets.values())]
    return [entry for heap in heaps for entry in heap]


def entries_of_removed(s: Scheduler) -> list[tuple]:
    """The heap entries whose task the scheduler no longer knows."""
    return [entry for entry in heap_entries(s) if s.tasks.get(entry[4].id) is not entry[4]]


def run_all(s: Scheduler, worker: str, count: int, now: float) -> None:
    """Let ``worker`` take and finish ``count`` tasks, one at a time."""
    for _ in range(count):
        task_id = run(s, worker, now)
        assert task_id is not None
        finish(s, task_id, worker, now)


def test_a_quiet_scheduler_keeps_no_entry_of_a_removed_task():
    s = make(**QUICK)
    for i in range(300):
        add(s, f"T_{i}", worker="w1")
    run_all(s, "w1", 300, T0)
    assert len(heap_entries(s)) >= 300  # the global heap: assistants never came to pop them
    s.prune(now=T0 + 2)  # w1 is dropped: its tasks lose their last stakeholder
    s.prune(now=T0 + 4)  # ... and are removed
    assert not s.tasks
    assert heap_entries(s) == []


def test_removed_tasks_leave_the_heaps_while_other_tasks_stay_ready():
    s = make(**QUICK)
    for i in range(500):
        add(s, f"Old_{i}", worker="w1")
    run_all(s, "w1", 500, T0)
    for i in range(20):
        add(s, f"New_{i}", worker="w2", now=T0 + 1.9)
    s.prune(now=T0 + 2)  # w1 is dropped, w2 stays
    s.ping(worker="w2", now=T0 + 2.5)
    s.prune(now=T0 + 3.1)  # w1's tasks are removed
    assert len(s.tasks) == 20
    live = len(heap_entries(s)) - len(entries_of_removed(s))
    assert live == 40  # each new task: w2's heap and the global one
    assert len(entries_of_removed(s)) <= (live + len(s.workers) + REMOVAL_SWEEP_FLOOR) // 2


def test_the_entry_count_the_sweep_reads_matches_the_heaps():
    s = make(**QUICK)
    for i in range(50):
        add(s, f"A_{i}", worker="w1")
        add(s, f"A_{i}", worker="w2")
    run_all(s, "w1", 30, T0)
    s.disable_worker(worker="w2", now=T0)
    assert s._heap_entries == len(heap_entries(s))
    s.prune(now=T0 + 2)
    s.prune(now=T0 + 4)
    assert s._heap_entries == len(heap_entries(s))


def test_a_restored_scheduler_counts_the_entries_it_rebuilt():
    old = make(**QUICK)
    for i in range(40):
        add(old, f"A_{i}", worker="w1")
        add(old, f"A_{i}", worker="w2")
    s = restarted(old, T0, via_snapshot=False)
    assert len(heap_entries(s)) == 120  # w1's heap, w2's and the global one
    assert s._heap_entries == 120


def test_a_sweep_while_another_task_is_edited_leaves_that_task_ready():
    s = make()
    add(s, "A", worker="w1")
    task = s.tasks["A"]
    with s.edit(task):  # A is between two states, as inside a call that edits it twice
        task.status = RUNNING
        s._pushes = s._compact_at  # the next push is due to sweep
        add(s, "B", worker="w1")  # ... and comes while A's edit is open
        task.status = PENDING  # A ends as ready as it began: it is not pushed again
    assert {run(s, "w1", T0), run(s, "w1", T0)} == {"A", "B"}
