"""The service facade: thread safety, clock, exposed signatures, ownership, maintenance."""

from __future__ import annotations

import inspect
import threading
import time

import pytest

from tests.waiting import join_all
from xrsched.core import Scheduler, SchedulerConfig
from xrsched.core.errors import Forbidden
from xrsched.service import Caller, SchedulerService
from xrsched.service.context import CURRENT_CALLER


def as_caller(caller):
    """Run the block as ``caller`` (what the RPC glue does per request)."""

    class _Scope:
        def __enter__(self):
            self.token = CURRENT_CALLER.set(caller)

        def __exit__(self, *exc):
            CURRENT_CALLER.reset(self.token)

    return _Scope()


def test_exposed_methods_have_luigi_signatures_without_now():
    service = SchedulerService()
    methods = service.methods()
    add_task = inspect.signature(methods["add_task"])
    assert "now" not in add_task.parameters
    assert list(add_task.parameters)[:4] == ["task_id", "status", "runnable", "deps"]
    assert methods["get_work"].__doc__.startswith("Hand ")
    ping = inspect.signature(methods["ping"])
    assert next(iter(ping.parameters)) == "worker"


def test_clock_never_goes_backwards():
    readings = iter([100.0, 50.0, 120.0])
    service = SchedulerService(clock=lambda: next(readings))
    assert [service.now(), service.now(), service.now()] == [100.0, 100.0, 120.0]


def test_concurrent_get_work_hands_each_task_to_one_worker_only():
    service = SchedulerService()
    for i in range(400):
        service.call("add_task", task_id=f"T{i}", worker="seed", family="F")
    for n in range(8):
        for i in range(400):
            service.call("add_task", task_id=f"T{i}", worker=f"w{n}", family="F")
    handed: list[str] = []
    lock = threading.Lock()

    def drain(worker):
        for _ in range(400 + 1):  # a worker can be handed each task at most once
            reply = service.call("get_work", worker=worker)
            if reply["task_id"] is None:
                return
            with lock:
                handed.append(reply["task_id"])
            service.call("add_task", task_id=reply["task_id"], worker=worker, status="DONE")

    threads = [threading.Thread(target=drain, args=(f"w{n}",), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    join_all(threads, 60)
    assert sorted(handed) == sorted(f"T{i}" for i in range(400))


def test_worker_id_belongs_to_the_first_token():
    service = SchedulerService()
    with as_caller(Caller("team-a", restricted=True)):
        service.call("ping", worker="wa")
        service.call("ping", worker="wa2")  # one token, many worker ids
    with as_caller(Caller("team-b", restricted=True)), pytest.raises(Forbidden, match="another token"):
        service.call("get_work", worker="wa")
    with as_caller(Caller("ops", restricted=False)):
        service.call("ping", worker="wa")  # operators act for anyone


def test_worker_token_cannot_finish_or_fail_another_teams_task():
    service = SchedulerService()
    with as_caller(Caller("team-a", restricted=True)):
        service.call("add_task", task_id="A1", worker="wa", family="A")
    with as_caller(Caller("team-b", restricted=True)):
        with pytest.raises(Forbidden, match="may not finish"):
            service.call("add_task", task_id="A1", worker="wb", status="DONE")
        with pytest.raises(Forbidden, match="may not fail"):
            service.call("add_task", task_id="A1", worker="wb", status="FAILED")
        with pytest.raises(Forbidden):
            service.call("set_task_status_message", "A1", "pwned")
        # Registering a shared upstream task is open to everyone...
        service.call("add_task", task_id="A1", worker="wb", family="A")
        # ...and once registered, B may report it (e.g. its output already exists).
        service.call("add_task", task_id="A1", worker="wb", status="DONE")
    assert service.core.tasks["A1"].status == "DONE"


def test_positional_arguments_are_checked_for_ownership_too():
    service = SchedulerService()
    with as_caller(Caller("team-a", restricted=True)):
        service.call("add_task", "A1", worker="wa")
    with as_caller(Caller("team-b", restricted=True)), pytest.raises(Forbidden):
        service.call("set_task_progress_percentage", "A1", 50)


def test_maintenance_thread_prunes_silent_workers():
    clock = [1000.0]
    core = Scheduler(SchedulerConfig(worker_disconnect_delay=5))
    service = SchedulerService(core, clock=lambda: clock[0], maintenance_interval=0.01)
    service.call("add_task", task_id="T", worker="w")
    service.call("get_work", worker="w")
    service.start()
    try:
        clock[0] += 10
        deadline = time.monotonic() + 5
        while "w" in core.workers and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        service.stop()
    assert "w" not in core.workers
    assert core.tasks["T"].status == "FAILED"


def test_counts_for_health():
    service = SchedulerService()
    service.call("add_task", task_id="A", worker="w", deps=["B"])
    assert service.counts() == {
        "tasks": 2,
        "pending": 1,
        "running": 0,
        "failed": 0,
        "disabled": 0,
        "workers": 1,
    }


def _with_request_id(request_id):
    from xrsched.requestid import CURRENT_REQUEST_ID

    class _Scope:
        def __enter__(self):
            self.token = CURRENT_REQUEST_ID.set(request_id)

        def __exit__(self, *exc):
            CURRENT_REQUEST_ID.reset(self.token)

    return _Scope()


def test_a_retried_get_work_gets_the_first_answer_and_no_second_task():
    service = SchedulerService()
    service.call("add_task", task_id="A", worker="w")
    service.call("add_task", task_id="B", worker="w")
    with _with_request_id("req-1"):
        first = service.call("get_work", worker="w")
    with _with_request_id("req-1"):
        again = service.call("get_work", worker="w")
    assert again == first
    running = [t.id for t in service.core.tasks.values() if t.status == "RUNNING"]
    assert running == [first["task_id"]]
    with _with_request_id("req-2"):
        assert service.call("get_work", worker="w")["task_id"] != first["task_id"]


def test_a_request_id_reused_for_another_method_is_a_conflict():
    from xrsched.core.errors import Conflict

    service = SchedulerService()
    with _with_request_id("same"):
        service.call("ping", worker="w")
    with _with_request_id("same"), pytest.raises(Conflict):
        service.call("add_task", task_id="A", worker="w")


def test_request_ids_are_per_caller():
    service = SchedulerService()
    service.call("add_task", task_id="A", worker="wa")
    service.call("add_task", task_id="B", worker="wb")
    with as_caller(Caller("team-a", restricted=True)), _with_request_id("r"):
        a = service.call("get_work", worker="wa")
    with as_caller(Caller("team-b", restricted=True)), _with_request_id("r"):
        b = service.call("get_work", worker="wb")
    assert (a["task_id"], b["task_id"]) == ("A", "B")
