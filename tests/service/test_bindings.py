"""Worker-id claims over time: forgotten with their worker, released on revoke, never leaked."""

from __future__ import annotations

import pytest

from xrsched.core import Scheduler, SchedulerConfig
from xrsched.core.errors import Forbidden
from xrsched.service import Caller, SchedulerService
from xrsched.service.context import CURRENT_CALLER

TEAM_A = Caller("team-a", restricted=True)
TEAM_C = Caller("team-c", restricted=True)


def call_as(service: SchedulerService, caller: Caller, name: str, *args, **kwargs):
    token = CURRENT_CALLER.set(caller)
    try:
        return service.call(name, *args, **kwargs)
    finally:
        CURRENT_CALLER.reset(token)


@pytest.fixture
def clocked():
    clock = [1000.0]
    core = Scheduler(SchedulerConfig(worker_disconnect_delay=5))
    return SchedulerService(core, clock=lambda: clock[0]), clock


def test_a_dropped_workers_id_is_free_again_and_its_old_token_loses_it(clocked):
    service, clock = clocked
    call_as(service, TEAM_A, "ping", worker="wa")
    clock[0] += 3
    call_as(service, TEAM_A, "add_task", task_id="A2", worker="wa2")  # keeps wa2 alive
    clock[0] += 3
    service.run_maintenance()  # wa was silent past worker_disconnect_delay: dropped
    assert service.claims() == {"wa2": "team-a"}
    call_as(service, TEAM_C, "add_task", task_id="C1", worker="wa")  # the id is free for anyone
    assert service.claims() == {"wa": "team-c", "wa2": "team-a"}
    # Team A no longer acts through wa: C1 is not one of its tasks...
    with pytest.raises(Forbidden, match="not held"):
        call_as(service, TEAM_A, "set_task_status_message", "C1", "pwned")
    with pytest.raises(Forbidden, match="another token"):
        call_as(service, TEAM_A, "ping", worker="wa")
    # ...while it still owns the tasks of its other, live worker id.
    call_as(service, TEAM_A, "set_task_status_message", "A2", "fine")
    assert service.core.tasks["A2"].status_message == "fine"


def test_releasing_a_tokens_claims_leaves_it_no_authority_over_their_tasks():
    service = SchedulerService()
    call_as(service, TEAM_A, "add_task", task_id="A1", worker="wa")
    call_as(service, TEAM_A, "add_task", task_id="A2", worker="wa2")
    assert sorted(service.release_claims({"team-c"})) == ["wa", "wa2"]
    assert service.claims() == {}
    call_as(service, TEAM_C, "ping", worker="wa")
    with pytest.raises(Forbidden):
        call_as(service, TEAM_A, "add_task", task_id="A1", worker="wa", status="DONE")
    with pytest.raises(Forbidden, match="not held"):
        call_as(service, TEAM_A, "set_task_progress_percentage", "A2", 10)


def test_a_non_pending_report_other_than_done_or_failed_is_refused_as_a_change():
    service = SchedulerService()
    call_as(service, TEAM_A, "add_task", task_id="A1", worker="wa")
    with pytest.raises(Forbidden, match="may not change task 'A1'"):
        call_as(service, TEAM_C, "add_task", task_id="A1", worker="wc", status="DISABLED")
    assert service.core.tasks["A1"].status == "PENDING"


def test_suspended_from_an_old_client_registers_like_pending():
    service = SchedulerService()
    call_as(service, TEAM_A, "add_task", task_id="A1", worker="wa")
    call_as(service, TEAM_C, "add_task", task_id="A1", worker="wc", status="SUSPENDED")
    assert "wc" in service.core.tasks["A1"].stakeholders
