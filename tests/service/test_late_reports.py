"""A dropped worker's late report through the ownership rules: accepted while nobody else runs
the task, refused once another worker has taken it; its worker id stays its token's meanwhile."""

from __future__ import annotations

import pytest

from tests.service.test_bindings import call_as
from xrsched.core import Scheduler, SchedulerConfig
from xrsched.core.errors import Forbidden
from xrsched.service import Caller, SchedulerService

TEAM_A = Caller("team-a", restricted=True)
TEAM_C = Caller("team-c", restricted=True)


@pytest.fixture
def dropped():
    """Team A's worker wa runs A1 and is dropped (silent past the delay); team C's wc, alive,
    may run A1 too. retry_delay 1 s: A1 is PENDING again a second later."""
    clock = [1000.0]
    core = Scheduler(SchedulerConfig(worker_disconnect_delay=5, retry_delay=1))
    service = SchedulerService(core, clock=lambda: clock[0])
    call_as(service, TEAM_A, "add_task", task_id="A1", worker="wa")
    call_as(service, TEAM_C, "add_task", task_id="A1", worker="wc")
    assert call_as(service, TEAM_A, "get_work", worker="wa")["task_id"] == "A1"
    clock[0] += 6
    call_as(service, TEAM_C, "ping", worker="wc")
    service.run_maintenance()
    assert core.tasks["A1"].status == "FAILED" and "wa" not in core.workers
    return service, clock


@pytest.mark.parametrize("outcome", ["DONE", "FAILED"])
def test_the_dropped_runners_late_report_is_accepted_while_nobody_runs_the_task(dropped, outcome):
    service, clock = dropped
    clock[0] += 2
    service.run_maintenance()  # retry_delay passed: A1 is PENDING, nobody runs it
    assert service.core.tasks["A1"].status == "PENDING"
    call_as(service, TEAM_A, "add_task", task_id="A1", worker="wa", status=outcome)
    assert service.core.tasks["A1"].status == outcome


def another_worker_takes_a1(service, clock):
    """After the retry delay, worker wc (team C) is handed A1, the dropped runner's task."""
    clock[0] += 2
    call_as(service, TEAM_C, "ping", worker="wc")
    service.run_maintenance()
    assert call_as(service, TEAM_C, "get_work", worker="wc")["task_id"] == "A1"


def test_the_late_report_is_refused_once_another_worker_runs_the_task(dropped):
    service, clock = dropped
    another_worker_takes_a1(service, clock)
    with pytest.raises(Forbidden, match="may not finish task 'A1': none of its workers holds it"):
        call_as(service, TEAM_A, "add_task", task_id="A1", worker="wa", status="DONE")
    task = service.core.tasks["A1"]
    assert (task.status, task.worker_running) == ("RUNNING", "wc")


def test_the_late_report_is_refused_once_another_worker_finished_the_task(dropped):
    service, clock = dropped
    another_worker_takes_a1(service, clock)
    call_as(service, TEAM_C, "add_task", task_id="A1", worker="wc", status="DONE")
    with pytest.raises(Forbidden, match="may not fail task 'A1'"):
        call_as(service, TEAM_A, "add_task", task_id="A1", worker="wa", status="FAILED")
    assert service.core.tasks["A1"].status == "DONE"


def test_the_dropped_runners_id_stays_its_tokens_until_the_lost_run_is_reported(dropped):
    service, clock = dropped
    assert service.claims()["wa"] == "team-a"  # kept: only team A may report wa's lost run
    with pytest.raises(Forbidden, match="belongs to another token"):
        call_as(service, TEAM_C, "add_task", task_id="A1", worker="wa", status="DONE")
    assert service.core.tasks["A1"].status == "FAILED"
    call_as(service, TEAM_A, "add_task", task_id="A1", worker="wa", status="DONE")
    clock[0] += 6  # wa falls silent again, with nothing lost this time
    call_as(service, TEAM_C, "ping", worker="wc")
    service.run_maintenance()
    assert "wa" not in service.claims()
