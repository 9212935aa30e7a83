"""Ownership of batches over a live server: a worker token acts only on batches its workers run.

The core ends a batch runner's run for every BATCH_RUNNING member of its batch (and spreads a
runner's explanation, tracking URL, status message, progress and resource decrease to them), so
naming another worker's ``batch_id`` would reach tasks the caller does not hold.
"""

from __future__ import annotations

import hashlib
import xmlrpc.client

import pytest

KW = {"__starstar": True}
MEMBERS = ["F_1", "F_2", "F_3"]


def _team_a_batch(live_server) -> tuple[xmlrpc.client.ServerProxy, str]:
    """Team A's worker ``wa`` registers three batchable F tasks and is handed them as one batch."""
    team_a = live_server.proxy(live_server.token("team-a", "worker"))
    team_a.add_task_batcher("wa", "F", ["p"], 10)
    for n, task_id in enumerate(MEMBERS, 1):
        team_a.add_task({**KW, "task_id": task_id, "worker": "wa", "family": "F", "params": {"p": str(n)},
                         "batchable": True})  # fmt: skip
    work = team_a.get_work({**KW, "worker": "wa", "host": "h"})
    assert sorted(work["batch_task_ids"]) == MEMBERS
    return team_a, work["batch_id"]


def _team_b(live_server) -> xmlrpc.client.ServerProxy:
    team_b = live_server.proxy(live_server.token("team-b", "worker"))
    team_b.ping("wb")
    return team_b


def _members(live_server) -> dict[str, tuple]:
    tasks = live_server.runtime.service.core.tasks
    return {m: (tasks[m].status, tasks[m].worker_running, tasks[m].batch_id, tasks[m].expl) for m in MEMBERS}


def _refused(call, *args) -> str:
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(*args)
    assert info.value.faultCode == 403
    return info.value.faultString


def test_a_new_task_cannot_join_another_workers_batch_and_end_its_members(live_server):
    _, batch_id = _team_a_batch(live_server)
    team_b = _team_b(live_server)
    before = _members(live_server)
    assert {status for status, *_ in before.values()} == {"BATCH_RUNNING"}

    text = _refused(team_b.add_task, {**KW, "task_id": "evil", "worker": "wb", "status": "RUNNING",
                                      "batch_id": batch_id, "family": "F"})  # fmt: skip
    assert "batch_id" in text and batch_id in text
    team_b.add_task({**KW, "task_id": "evil", "worker": "wb", "family": "F"})  # B's own task
    for status in ("FAILED", "DONE"):
        _refused(team_b.add_task, {**KW, "task_id": "evil", "worker": "wb", "status": status, "batch_id": batch_id})
        # Without naming the batch, B's report reaches only B's own task.
        team_b.add_task({**KW, "task_id": "evil", "worker": "wb", "status": "RUNNING"})
        team_b.add_task({**KW, "task_id": "evil", "worker": "wb", "status": status})
    assert _members(live_server) == before
    assert "evil" not in live_server.runtime.service.core.batches.get(batch_id, set())


def test_an_existing_task_of_the_caller_cannot_be_attached_to_another_workers_batch(live_server):
    _, batch_id = _team_a_batch(live_server)
    team_b = _team_b(live_server)
    team_b.add_task({**KW, "task_id": "mine", "worker": "wb", "family": "G"})
    before = _members(live_server)

    for status in ("RUNNING", "PENDING", "FAILED", "DONE"):
        text = _refused(team_b.add_task, {**KW, "task_id": "mine", "worker": "wb", "status": status,
                                          "batch_id": batch_id, "expl": "pwned"})  # fmt: skip
        assert "batch_id" in text
    assert _members(live_server) == before
    assert live_server.runtime.service.core.tasks["mine"].batch_id is None


def test_a_batch_id_nobody_runs_yet_cannot_be_named(live_server):
    """Batch ids are predictable (a digest of the member ids), so a task carrying one before the
    batch exists would end that batch's members when it finishes."""
    team_a = live_server.proxy(live_server.token("team-a", "worker"))
    team_b = _team_b(live_server)
    future = hashlib.md5("|".join(MEMBERS).encode(), usedforsecurity=False).hexdigest()
    text = _refused(team_b.add_task, {**KW, "task_id": "evil", "worker": "wb", "status": "RUNNING",
                                      "batch_id": future})  # fmt: skip
    assert "batch_id" in text
    assert live_server.runtime.service.core.tasks.get("evil") is None

    team_a.add_task_batcher("wa", "F", ["p"], 10)
    for n, task_id in enumerate(MEMBERS, 1):
        team_a.add_task({**KW, "task_id": task_id, "worker": "wa", "family": "F", "params": {"p": str(n)},
                         "batchable": True})  # fmt: skip
    assert team_a.get_work({**KW, "worker": "wa", "host": "h"})["batch_id"] == future


def test_annotations_on_a_batch_runner_reach_the_batch_only_from_its_runner(live_server):
    team_a, batch_id = _team_a_batch(live_server)
    team_a.add_task({**KW, "task_id": "F_3", "worker": "wa", "status": "RUNNING", "batch_id": batch_id})
    # Team B shares the combined task F_3 (pipelines share tasks) but does not run the batch.
    team_b = _team_b(live_server)
    team_b.add_task({**KW, "task_id": "F_3", "worker": "wb", "family": "F", "params": {"p": "3"}})
    core = live_server.runtime.service.core
    held = {m: dict(core.tasks[m].resources_running or {}) for m in MEMBERS}

    assert "batch_id" in _refused(team_b.set_task_status_message, "F_3", "pwned")
    assert "batch_id" in _refused(team_b.set_task_progress_percentage, "F_3", 99)
    assert "batch_id" in _refused(team_b.decrease_running_task_resources, "F_3", {"r": 1})
    assert {core.tasks[m].status_message for m in MEMBERS} == {None}
    assert {m: dict(core.tasks[m].resources_running or {}) for m in MEMBERS} == held

    team_a.set_task_status_message("F_3", "combining")
    assert {core.tasks[m].status_message for m in MEMBERS} == {"combining"}


def test_a_sharer_of_the_batch_runner_cannot_spread_text_to_the_members(live_server):
    """Registering a shared task stays open; an explanation or tracking URL for a task that runs
    someone else's batch is refused, since the core copies both to every member."""
    team_b = _team_b(live_server)
    team_b.add_task({**KW, "task_id": "F_all", "worker": "wb", "family": "F"})  # ids are predictable
    team_a, batch_id = _team_a_batch(live_server)
    team_a.add_task({**KW, "task_id": "F_all", "worker": "wa", "family": "F"})
    team_a.add_task({**KW, "task_id": "F_all", "worker": "wa", "status": "RUNNING", "batch_id": batch_id,
                     "tracking_url": "https://a.example/run"})  # fmt: skip
    before = _members(live_server)

    team_b.add_task({**KW, "task_id": "F_all", "worker": "wb", "family": "F"})
    for field in ("expl", "tracking_url"):
        for status in ("PENDING", "UNKNOWN", "FAILED"):
            text = _refused(team_b.add_task, {**KW, "task_id": "F_all", "worker": "wb", "status": status,
                                              field: "pwned"})  # fmt: skip
            assert "batch_id" in text and "F_all" in text
    assert _members(live_server) == before
    core = live_server.runtime.service.core
    assert {core.tasks[m].tracking_url for m in MEMBERS} == {"https://a.example/run"}
    team_a.add_task({**KW, "task_id": "F_all", "worker": "wa", "status": "FAILED", "expl": "boom"})
    assert {core.tasks[m].expl for m in MEMBERS} == {"boom"}


def test_a_sharer_of_one_member_cannot_spread_text_to_the_others(live_server):
    team_b = _team_b(live_server)
    team_b.add_task({**KW, "task_id": "F_1", "worker": "wb", "family": "F", "params": {"p": "1"}})
    _team_a_batch(live_server)
    before = _members(live_server)
    for field in ("expl", "tracking_url"):
        text = _refused(team_b.add_task, {**KW, "task_id": "F_1", "worker": "wb", field: "pwned"})
        assert "batch_id" in text and "F_1" in text
    assert _members(live_server) == before
    assert {live_server.runtime.service.core.tasks[m].tracking_url for m in MEMBERS} == {None}


def test_the_worker_handed_the_batch_runs_it_to_the_end(live_server):
    team_a, batch_id = _team_a_batch(live_server)
    # Another worker id of the same token may act for the batch too (one token, many ids).
    team_a.add_task({**KW, "task_id": "F_all", "worker": "wa-2", "status": "RUNNING", "batch_id": batch_id})
    team_a.set_task_progress_percentage("F_all", 50)
    assert {live_server.runtime.service.core.tasks[m].progress_percentage for m in MEMBERS} == {50}
    team_a.add_task({**KW, "task_id": "F_all", "worker": "wa-2", "status": "DONE"})
    statuses = live_server.proxy(live_server.admin).task_list("DONE", "")
    assert set(MEMBERS) <= set(statuses)


def test_an_operator_may_name_any_batch(live_server):
    _, batch_id = _team_a_batch(live_server)
    operator = live_server.proxy(live_server.token("ops", "operator"))
    operator.add_task({**KW, "task_id": "fixup", "worker": "w-ops", "status": "RUNNING", "batch_id": batch_id})
    operator.add_task({**KW, "task_id": "fixup", "worker": "w-ops", "status": "FAILED"})
    assert {status for status, *_ in _members(live_server).values()} == {"FAILED"}
