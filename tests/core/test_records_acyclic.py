"""The core's records hold no reference cycles: a task or worker record the scheduler lets go
of is freed by reference counting alone, with the garbage collector switched off.

What makes freezing them safe (``gc.freeze``, :mod:`xrsched.store.durability`): a frozen object
is never scanned by the collector again, so a frozen record caught in a cycle would never be
freed; one freed by reference counting is freed frozen or not.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from tests.core.conftest import T0, make
from xrsched.core import Scheduler
from xrsched.core.model import Task, Worker

TASKS = 300
WORKERS = 4
#: Every id this test makes starts so: other tests' records (or their threads) do not count.
MINE = "acyclic-"


@contextmanager
def collector_off() -> Iterator[None]:
    """No collection meanwhile: whatever is freed is freed by reference counting."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def records_alive() -> int:
    """This test's Task and Worker objects alive in the process, frozen ones included."""
    gc.unfreeze()  # frozen objects are in no generation gc.get_objects() lists
    return sum(1 for obj in gc.get_objects() if type(obj) in (Task, Worker) and obj.id.startswith(MINE))


def run_everything(sched: Scheduler) -> float:
    """Chains of tasks (each needing the one before, some also a shared task) registered by
    several workers, run to DONE (some failing once first); returns the time at the end."""
    now = T0
    for w in range(WORKERS):
        sched.add_worker(worker=f"{MINE}w{w}", info={"host": f"h{w}"}, now=now)
    for i in range(TASKS):
        deps = [f"{MINE}T{i - 1}"] if i % 10 else []
        if i % 7 == 0 and i:
            deps.append(f"{MINE}T0")
        sched.add_task(worker=f"{MINE}w{i % WORKERS}", task_id=f"{MINE}T{i}", family="F", params={"i": str(i)},
                       deps=deps, priority=i % 3, resources={"r": 1}, now=now)  # fmt: skip
    failed: set[str] = set()
    done = 0
    while done < TASKS:
        now += 1
        for w in range(WORKERS):
            task_id = sched.get_work(worker=f"{MINE}w{w}", host=f"h{w}", now=now)["task_id"]
            if task_id is None:
                continue
            status = "FAILED" if task_id.endswith("3") and task_id not in failed else "DONE"
            failed.add(task_id)
            sched.add_task(worker=f"{MINE}w{w}", task_id=task_id, status=status, expl="boom" * (status == "FAILED"),
                           now=now)  # fmt: skip
            done += status == "DONE"
        now += sched.config.retry_delay * (not done % 50)
        sched.prune(now=now)
    return now


def test_records_dropped_by_the_scheduler_are_freed_by_reference_counting():
    sched = make({"r": 2}, retry_delay=5, remove_delay=10, worker_disconnect_delay=20)
    with collector_off():
        baseline = records_alive()
        now = run_everything(sched)
        assert records_alive() == baseline + TASKS + WORKERS
        gc.freeze()  # as the server does: records frozen while alive are still freed
        sched.prune(now=now + 21)  # the workers fall silent and are dropped ...
        sched.prune(now=now + 32)  # ... then their tasks, nobody holding them, are removed
        assert not sched.tasks and not sched.workers
        # Removed tasks still named by stale entries of the shared ready heap stay until those
        # are dropped: an assistant's ask drops them (so does the heaps' periodic sweep).
        sched.get_work(worker=f"{MINE}assistant", assistant=True, now=now + 33)
        assert records_alive() == baseline + 1  # the assistant
        del sched
        assert records_alive() == baseline
