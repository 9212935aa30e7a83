"""After a start from a snapshot, the service has the DONE tasks left cold built a slice per hold
of its lock (the maintenance thread right after start, or a call that may look up many tasks
arriving earlier), never all of them inside one call; and every reply is the one a start from
the rows gives.

Each test starts two services on copies of one real SQLite file written by a clean stop: one
reads its snapshot (DONE tasks cold, ``xrsched.core.coldtasks``), the other its rows (the
snapshot removed). The lock of the first is wrapped to note how many cold tasks each hold of it
built (``TaskTable.built``, counted by the table itself).
"""

from __future__ import annotations

import gc
import shutil
import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.core.restarts import records
from tests.store.test_recovery import CONFIG, Clock
from tests.waiting import wait_for
from xrsched.core import PUBLIC_METHODS, Scheduler
from xrsched.core.coldtasks import TaskTable
from xrsched.core.restore import meta_of
from xrsched.core.scheduler import MANY_TASK_METHODS
from xrsched.service import SchedulerService
from xrsched.store import SQLiteStore, load_into
from xrsched.store.records import encode_meta, encode_task, encode_worker

#: DONE tasks in the state: all cold after a start from its snapshot.
COLD = 30
#: Cold tasks built per hold of the lock in these tests.
SLICE = 4


class BuildsPerHold:
    """The service's lock, noting how many cold tasks each hold of it built."""

    def __init__(self, service: SchedulerService) -> None:
        self._lock = service._lock
        self._table = service.core.tasks
        assert isinstance(self._table, TaskTable)
        self.holds: list[int] = []
        self._at = 0
        service._lock = self  # type: ignore[assignment]

    def __enter__(self) -> None:
        self._lock.acquire()
        self._at = self._table.built

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.holds.append(self._table.built - self._at)
        self._lock.release()


def build_state(path: Path, clock: Clock) -> None:
    """Chains of DONE tasks (D00..D29), PENDING tasks behind them, a FAILED and a RUNNING one;
    closed cleanly, so with a snapshot."""
    service = open_service(path, clock, snapshot_on_close=True)
    call = service.call
    call("add_worker", "w0", {"workers": 2, "host": "h0"})
    for i in range(COLD):
        deps = [f"D{i - 1:02d}"] if i % 3 else None
        call("add_task", task_id=f"D{i:02d}", worker="w0", family="Done", params={"n": str(i)}, deps=deps,
             status="DONE")  # fmt: skip
    call("add_task", task_id="P0", worker="w0", family="Pend", deps=["D29"])
    call("add_task", task_id="P1", worker="w0", family="Pend", deps=["P0", "D10"])
    call("add_task", task_id="F0", worker="w1", family="Fail", status="FAILED", expl="Traceback: boom")
    call("add_task", task_id="R0", worker="w1", family="Run", priority=10, resources={"r": 1})
    assert call("get_work", worker="w1", host="h1")["task_id"] == "R0"
    call("send_scheduler_message", "w1", "R0", "hello")
    clock.now += 100  # past the cooldown that keeps a DONE task DONE
    service.close()


def open_service(path: Path, clock: Clock, *, snapshot_on_close: bool = False, **options: Any) -> SchedulerService:
    store = SQLiteStore(path, snapshot_on_close=snapshot_on_close)
    core = Scheduler(CONFIG, {"r": 2})
    load_into(store, core, clock())
    return SchedulerService(core, clock=clock, store=store, **options)


@pytest.fixture
def state(tmp_path: Path) -> tuple[Path, Clock]:
    clock = Clock()
    path = tmp_path / "built" / "state.sqlite3"
    path.parent.mkdir()
    build_state(path, clock)
    return path, clock


@pytest.fixture
def twins(state, tmp_path: Path):
    """(from the snapshot, from the rows, the builds per hold of the first), on copies of the state."""
    path, clock = state
    lazy_path, eager_path = tmp_path / "lazy.sqlite3", tmp_path / "eager.sqlite3"
    shutil.copy(path, lazy_path)
    shutil.copy(path, eager_path)
    with sqlite3.connect(eager_path) as db:
        db.execute("DELETE FROM meta WHERE key='snapshot'")
    db.close()
    lazy = open_service(lazy_path, clock, thaw_slice=SLICE)
    eager = open_service(eager_path, clock)
    assert lazy.core.cold_tasks_left() == COLD and eager.core.cold_tasks_left() == 0
    yield lazy, eager, BuildsPerHold(lazy)
    lazy.close()
    eager.close()


def stored(service: SchedulerService) -> dict[str, Any]:
    """Every record as the store would write it, cold tasks read without building them."""
    policy = service.core.config.retry_policy
    return {
        "tasks": {task_id: encode_task(task, policy) for task_id, task in records(service.core).items()},
        "workers": {worker.id: encode_worker(worker) for worker in service.core.workers.values()},
        "meta": encode_meta(meta_of(service.core)),
    }


def kw(**values: Any) -> dict[str, Any]:
    return values


#: One call of every public method (positional arguments, or keyword arguments from kw()).
CALLS: dict[str, tuple[Any, ...] | dict[str, Any]] = {
    "add_task": kw(task_id="D05", worker="w2", status="PENDING"),
    "add_worker": ("w3", {"host": "h3"}),
    "add_task_batcher": ("w0", "Pend", ["n"]),
    "announce_scheduling_failure": kw(task_name="X", family="X", params={}, expl="e", worker="w0"),
    "get_work": kw(worker="w0", host="h0"),
    "ping": kw(worker="w0"),
    "count_pending": ("w0",),
    "set_task_status_message": ("D03", "half way"),
    "get_task_status_message": ("D03",),
    "set_task_progress_percentage": ("D03", 50),
    "get_task_progress_percentage": ("D03",),
    "decrease_running_task_resources": ("R0", {"r": 1}),
    "get_running_task_resources": ("R0",),
    "send_scheduler_message": ("w1", "R0", "again"),
    "add_scheduler_message_response": ("R0", "m1", "yes"),
    "get_scheduler_message_response": ("R0", "m1"),
    "report_task_statistics": ("D03", {"rows": 1}),
    "task_list": kw(),
    "worker_list": kw(),
    "resource_list": kw(),
    "task_search": ("D",),
    "graph": kw(),
    "dep_graph": ("P1",),
    "inverse_dep_graph": ("D00",),
    "fetch_error": ("F0",),
    "overview": kw(),
    "task_page": kw(search="done", limit=20),
    "task_info": ("D10",),
    "has_task_history": kw(),
    "is_pause_enabled": kw(),
    "is_paused": kw(),
    "pause": kw(),
    "unpause": kw(),
    "prune": kw(),
    "disable_worker": ("w0",),
    "set_worker_processes": ("w0", 3),
    "re_enable_task": ("D03",),
    "mark_as_done": ("P0",),
    "forgive_failures": ("F0",),
    "update_resources": kw(r=3),
    "update_resource": ("r", 4),
}


def call(service: SchedulerService, name: str) -> Any:
    arguments = CALLS[name]
    if isinstance(arguments, dict):
        return service.call(name, **arguments)
    return service.call(name, *arguments)


def test_every_public_method_is_called_here():
    assert set(CALLS) == set(PUBLIC_METHODS)


@pytest.mark.parametrize("name", PUBLIC_METHODS)
def test_each_method_right_after_a_snapshot_start_builds_at_most_a_slice_per_hold(twins, name):
    lazy, eager, builds = twins
    reply, eager_reply = call(lazy, name), call(eager, name)
    assert max(builds.holds, default=0) <= SLICE, builds.holds
    lazy_state, eager_state = stored(lazy), stored(eager)
    if name == "send_scheduler_message":  # a new random message id, kept with the worker
        reply, eager_reply = reply.keys(), eager_reply.keys()
        lazy_state, eager_state = lazy_state["tasks"], eager_state["tasks"]
    assert reply == eager_reply
    assert lazy_state == eager_state
    if name in MANY_TASK_METHODS:  # these have every cold task built first
        assert lazy.core.cold_tasks_left() == 0 and sum(builds.holds) == COLD


def test_the_first_search_builds_every_cold_task_a_slice_per_hold_before_it_runs(twins):
    lazy, eager, builds = twins
    found = lazy.call("task_search", "D1")
    assert set(found["DONE"]) == {f"D1{i}" for i in range(10)}
    assert found == eager.call("task_search", "D1")
    assert builds.holds[:-1] == [SLICE] * (COLD // SLICE) + [COLD % SLICE]  # then the search: nothing to build
    assert builds.holds[-1] == 0 and lazy.core.cold_tasks_left() == 0
    assert lazy.call("graph") == eager.call("graph")
    assert lazy.call("task_list", limit=False) == eager.call("task_list", limit=False)


def test_the_maintenance_thread_builds_the_cold_tasks_in_slices_right_after_it_starts(state, tmp_path):
    path, clock = state
    service = open_service(path, clock, thaw_slice=SLICE, maintenance_interval=3600)
    builds = BuildsPerHold(service)
    service.start()
    try:
        wait_for(lambda: service.core.cold_tasks_left() == 0, 30, "every cold task built")
        service.stop()
        assert builds.holds == [SLICE] * (COLD // SLICE) + [COLD % SLICE]
        assert dict.get(service.core.tasks, "D00") is not None  # built, not only listed as cold
        listing = service.call("task_list", limit=False)
        assert builds.holds[-1] == 0  # the listing had nothing left to build
        assert set(listing) == {f"D{i:02d}" for i in range(COLD)} | {"P0", "P1", "F0", "R0"}
    finally:
        service.close()


def test_calls_during_the_thaw_and_after_it_answer_as_a_start_from_the_rows(twins):
    """Slices built between changes (some to cold tasks, some to their dependencies): every
    listing and the records equal those of the twin started from the rows."""
    lazy, eager, builds = twins
    steps: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("add_task", (), kw(task_id="D04", worker="w2", status="FAILED", expl="again")),  # D05 depends on it
        ("add_task", (), kw(task_id="D20", worker="w2", status="DISABLED")),
        ("mark_as_done", ("P0",), {}),
        ("add_task", (), kw(task_id="D05", worker="w0", status="PENDING")),
        ("re_enable_task", ("D20",), {}),
    ]
    for name, args, kwargs in steps:
        with lazy._lock:
            lazy.core.build_cold_tasks(3)
        assert lazy.call(name, *args, **kwargs) == eager.call(name, *args, **kwargs)
        assert stored(lazy) == stored(eager)
    assert lazy.core.cold_tasks_left() > 0
    for name in ("task_list", "task_search", "graph", "overview", "task_page", "worker_list"):
        arguments = ("D",) if name == "task_search" else ()
        assert lazy.call(name, *arguments) == eager.call(name, *arguments), name
    assert lazy.core.cold_tasks_left() == 0 and max(builds.holds) <= SLICE


def test_the_tasks_built_in_slices_are_kept_out_of_the_collectors_full_passes(twins):
    """As those loaded at start are (``gc.freeze``): else a full collection while they are built
    scans all built so far, inside one call (a second at 700,000 tasks)."""
    lazy, _, _ = twins
    frozen = gc.get_freeze_count()
    lazy.call("task_search", "D")
    built = dict.get(lazy.core.tasks, "D00")
    assert built is not None and gc.get_freeze_count() >= frozen + COLD
    assert not any(obj is built for obj in gc.get_objects())  # in no generation a collection scans


@pytest.mark.parametrize("how", ["maintenance", "prune", "worker_list", "resource_list", "task_info"])
def test_a_restored_worker_dropped_while_tasks_are_cold_has_them_built_a_slice_per_hold(state, twins, how):
    """A restored worker that never comes back is dropped ``worker_disconnect_delay`` after the
    start, and dropping it edits every task it holds, the cold ones too: they are built a slice
    per hold of the lock first (by the maintenance pass, or by the call that would drop it),
    not all inside the hold that drops it."""
    _, clock = state
    lazy, eager, builds = twins
    clock.now += CONFIG.worker_disconnect_delay + 1
    for service in (lazy, eager):
        if how == "maintenance":
            service.run_maintenance()
        else:
            service.call(how, *(("P0",) if how == "task_info" else ()))
    assert "w0" not in lazy.core.workers and "w0" not in eager.core.workers
    assert builds.holds and max(builds.holds) <= SLICE, builds.holds
    assert lazy.core.cold_tasks_left() == 0
    assert stored(lazy) == stored(eager)
