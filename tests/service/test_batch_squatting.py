"""The combined id of a batch (the task its runner reports RUNNING with the ``batch_id``) is
predictable and may name a task nobody has registered yet: it belongs to the batch's runner.

Luigi's worker reports the combined task RUNNING with the batch id when ``get_work`` hands it a
batch; its end ends the members. Another token must neither take that id first (a RUNNING
registration of a task it does not hold) nor keep the runner from claiming it.
"""

from __future__ import annotations

import pytest

from tests.service.test_bindings import call_as
from xrsched.core.errors import Forbidden
from xrsched.service import Caller, SchedulerService

TEAM_A = Caller("team-a", restricted=True)
TEAM_C = Caller("team-c", restricted=True)
MEMBERS = ["F_1", "F_2", "F_3"]


def _team_a_batch(service: SchedulerService) -> str:
    """Team A's worker wa registers three batchable F tasks and is handed them as one batch."""
    call_as(service, TEAM_A, "add_task_batcher", "wa", "F", ["p"], 10)
    for n, task_id in enumerate(MEMBERS, 1):
        call_as(service, TEAM_A, "add_task", task_id=task_id, worker="wa", family="F", params={"p": str(n)},
                batchable=True)  # fmt: skip
    work = call_as(service, TEAM_A, "get_work", worker="wa")
    assert sorted(work["batch_task_ids"]) == MEMBERS
    return work["batch_id"]


def _claim(service: SchedulerService, batch_id: str, task_id: str = "F_all", worker: str = "wa") -> None:
    call_as(service, TEAM_A, "add_task", task_id=task_id, worker=worker, status="RUNNING", batch_id=batch_id,
            family="F", params={"p": "1,2,3"})  # fmt: skip


def _statuses(service: SchedulerService) -> set[str]:
    return {service.core.tasks[m].status for m in MEMBERS}


def test_another_token_cannot_take_the_combined_id_first_and_end_the_members():
    service = SchedulerService()
    batch_id = _team_a_batch(service)
    with pytest.raises(Forbidden, match="may not start task 'F_all'"):
        call_as(service, TEAM_C, "add_task", task_id="F_all", worker="wc", status="RUNNING", family="F")
    assert "F_all" not in service.core.tasks
    _claim(service, batch_id)
    task = service.core.tasks["F_all"]
    assert (task.status, task.worker_running, task.batch_id) == ("RUNNING", "wa", batch_id)
    with pytest.raises(Forbidden):
        call_as(service, TEAM_C, "add_task", task_id="F_all", worker="wc", status="DONE")
    assert _statuses(service) == {"BATCH_RUNNING"}
    call_as(service, TEAM_A, "add_task", task_id="F_all", worker="wa", status="DONE")
    assert _statuses(service) == {"DONE"}


def test_a_combined_id_registered_first_by_another_token_is_still_the_runners_to_claim():
    service = SchedulerService()
    call_as(service, TEAM_C, "add_task", task_id="F_all", worker="wc", family="F")  # registering is open
    batch_id = _team_a_batch(service)
    _claim(service, batch_id)  # no PENDING registration first: what Luigi's worker sends
    task = service.core.tasks["F_all"]
    assert (task.status, task.worker_running, task.batch_id) == ("RUNNING", "wa", batch_id)
    with pytest.raises(Forbidden, match="batch_id"):
        call_as(service, TEAM_C, "add_task", task_id="F_all", worker="wc", status="FAILED", expl="pwned")
    assert _statuses(service) == {"BATCH_RUNNING"}
    call_as(service, TEAM_A, "add_task", task_id="F_all", worker="wa", status="DONE")
    assert _statuses(service) == {"DONE"}


def test_running_a_batch_does_not_let_its_runner_start_another_tokens_task_of_another_family():
    service = SchedulerService()
    call_as(service, TEAM_C, "add_task", task_id="G_1", worker="wc", family="G")
    batch_id = _team_a_batch(service)
    with pytest.raises(Forbidden, match="may not start task 'G_1'"):
        _claim(service, batch_id, task_id="G_1")
    assert service.core.tasks["G_1"].status == "PENDING"


def test_a_task_another_token_runs_cannot_be_claimed_as_a_combined_id():
    service = SchedulerService()
    call_as(service, TEAM_C, "add_task", task_id="F_all", worker="wc", family="F")
    assert call_as(service, TEAM_C, "get_work", worker="wc")["task_id"] == "F_all"
    batch_id = _team_a_batch(service)
    with pytest.raises(Forbidden, match="may not start task 'F_all'"):
        _claim(service, batch_id)
    call_as(service, TEAM_C, "add_task", task_id="F_all", worker="wc", status="DONE")
    assert _statuses(service) == {"BATCH_RUNNING"}


def test_a_worker_still_reports_running_for_its_own_tasks():
    """Luigi's worker re-sends RUNNING with a tracking URL for the task it runs."""
    service = SchedulerService()
    call_as(service, TEAM_C, "add_task", task_id="C1", worker="wc")
    assert call_as(service, TEAM_C, "get_work", worker="wc")["task_id"] == "C1"
    call_as(service, TEAM_C, "add_task", task_id="C1", worker="wc", status="RUNNING", tracking_url="https://c/1")
    assert service.core.tasks["C1"].tracking_url == "https://c/1"


def test_a_worker_may_start_a_run_of_its_own_task_outside_get_work():
    """Luigi lets a worker report RUNNING for a task it registered; only foreign ids are refused."""
    service = SchedulerService()
    call_as(service, TEAM_C, "add_task", task_id="C2", worker="wc")
    call_as(service, TEAM_C, "add_task", task_id="C2", worker="wc", status="RUNNING")
    assert service.core.tasks["C2"].worker_running == "wc"
    with pytest.raises(Forbidden, match="may not start task 'C3'"):
        call_as(service, TEAM_C, "add_task", task_id="C3", worker="wc", status="RUNNING")
