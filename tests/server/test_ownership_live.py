"""Ownership over a live server: who may report on a task, multicall entries, revoked claims."""

from __future__ import annotations

import xmlrpc.client

import pytest

from tests.waiting import wait_for
from xrsched.auth import revoke_token

KW = {"__starstar": True}


def test_an_assistant_reports_on_a_task_it_runs_but_did_not_register(live_server):
    team = live_server.proxy(live_server.token("team", "worker"))
    helper = live_server.proxy(live_server.token("helper", "worker"))
    team.add_task({**KW, "task_id": "T1", "worker": "w-team", "family": "T"})
    work = helper.get_work({**KW, "worker": "w-helper", "host": "h", "assistant": True})
    assert work["task_id"] == "T1"
    helper.set_task_status_message("T1", "half way")
    helper.set_task_progress_percentage("T1", 50)
    helper.add_task({**KW, "task_id": "T1", "worker": "w-helper", "status": "DONE", "assistant": True})
    task = live_server.proxy(live_server.admin).task_list("DONE", "")["T1"]
    assert task["status_message"] == "half way" and task["progress_percentage"] == 50
    # The registrant never ran it and cannot take it back from DONE.
    assert live_server.runtime.service.core.tasks["T1"].stakeholders == ("w-team",)


def test_a_listed_worker_that_is_no_stakeholder_may_report_on_the_task(live_server):
    team = live_server.proxy(live_server.token("team", "worker"))
    helper = live_server.proxy(live_server.token("helper", "worker"))
    team.add_task({**KW, "task_id": "T2", "worker": "w-team", "family": "T"})
    # An assistant registering a runnable task joins the workers that may run it, not its stakeholders.
    helper.add_task({**KW, "task_id": "T2", "worker": "w-helper", "family": "T", "assistant": True})
    task = live_server.runtime.service.core.tasks["T2"]
    assert "w-helper" in task.workers and "w-helper" not in task.stakeholders
    assert task.worker_running is None
    helper.set_task_status_message("T2", "checked inputs")
    helper.add_task({**KW, "task_id": "T2", "worker": "w-helper", "status": "DONE", "assistant": True})
    listed = live_server.proxy(live_server.admin).task_list("DONE", "")
    assert listed["T2"]["status_message"] == "checked inputs"
    # A third token, neither listed nor running, is still refused.
    stranger = live_server.proxy(live_server.token("stranger", "worker"))
    stranger.ping("w-stranger")
    with pytest.raises(xmlrpc.client.Fault) as info:
        stranger.set_task_status_message("T2", "pwned")
    assert info.value.faultCode == 403


def test_multicall_with_a_worker_token_authorizes_each_entry(live_server):
    mine = live_server.proxy(live_server.token("team-a", "worker"))
    theirs = live_server.proxy(live_server.token("team-b", "worker"))
    mine.add_task({**KW, "task_id": "A1", "worker": "wa", "family": "A"})
    theirs.add_task({**KW, "task_id": "B1", "worker": "wb", "family": "B"})
    theirs.set_task_status_message("B1", "theirs")
    before = len(live_server.audit_records())

    multi = xmlrpc.client.MultiCall(mine)
    multi.set_task_status_message("A1", "mine")
    multi.set_task_status_message("B1", "pwned")
    multi.ping("wa")
    multi.mark_as_done("A1")  # operator only
    raw = multi().results  # each entry: [value], or a fault struct
    records = live_server.audit_records()[before:]
    assert raw[0] == [True]
    assert raw[1]["faultCode"] == 403 and "not held" in raw[1]["faultString"]
    assert raw[2] == [{"rpc_messages": []}]
    assert raw[3]["faultCode"] == 403 and "operator" in raw[3]["faultString"]

    tasks = live_server.proxy(live_server.admin).task_list("", "")
    assert tasks["A1"]["status_message"] == "mine"
    assert tasks["B1"]["status_message"] == "theirs"
    assert tasks["A1"]["status"] == "PENDING"

    assert [(r["method"], r["outcome"]) for r in records] == [
        ("set_task_status_message", "ok"),
        ("set_task_status_message", 403),
        ("ping", "ok"),
        ("mark_as_done", 403),
        ("system.multicall", "ok"),
    ]
    assert {r["identity"] for r in records} == {"token:team-a"}
    assert {r["role"] for r in records} == {"worker"}


def test_revoking_a_squatting_token_releases_its_worker_ids(live_server):
    squatter_secret = live_server.token("squatter", "worker")
    squatter = live_server.proxy(squatter_secret)
    owner = live_server.proxy(live_server.token("prod-team", "worker"))
    squatter.ping("w-prod")
    squatter.ping("w-prod-2")
    with pytest.raises(xmlrpc.client.Fault) as info:
        owner.ping("w-prod")
    assert info.value.faultCode == 403 and "another token" in info.value.faultString

    revoke_token(live_server.tokens_path, "squatter")
    live_server.runtime.reload()  # what SIGHUP does

    assert owner.ping("w-prod") == {"rpc_messages": []}
    assert owner.ping("w-prod-2") == {"rpc_messages": []}
    assert live_server.runtime.service.claims() == {"w-prod": "token:prod-team", "w-prod-2": "token:prod-team"}
    with pytest.raises(xmlrpc.client.ProtocolError) as refused:
        squatter.ping("w-prod")
    assert refused.value.errcode == 401


def test_a_reload_keeps_the_claims_of_tokens_still_in_force(live_server):
    team = live_server.proxy(live_server.token("team", "worker"))
    team.ping("w-team")
    live_server.token("newcomer", "worker")  # adds a token and reloads
    live_server.runtime.reload()
    assert live_server.runtime.service.claims() == {"w-team": "token:team"}
    intruder = live_server.proxy(live_server.token("intruder", "worker"))
    with pytest.raises(xmlrpc.client.Fault) as info:
        intruder.ping("w-team")
    assert info.value.faultCode == 403


def test_revoking_releases_worker_ids_without_a_signal(live_server):
    """The server's own look at the changed tokens file (no SIGHUP) releases the ids too."""
    squatter = live_server.proxy(live_server.token("squatter", "worker"))
    owner = live_server.proxy(live_server.token("prod-team", "worker"))
    squatter.ping("w-prod")
    revoke_token(live_server.tokens_path, "squatter")
    wait_for(lambda: "w-prod" not in live_server.runtime.service.claims(), 10, "the periodic reload to release w-prod")
    assert owner.ping("w-prod") == {"rpc_messages": []}
    assert live_server.runtime.service.claims() == {"w-prod": "token:prod-team"}
