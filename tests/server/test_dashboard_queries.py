"""``overview``, ``task_page`` and ``task_info`` on a live server (contract A): XML-RPC without
``<nil/>``, ``/api/`` over GET for a viewer, the page cap and the missing-task fault."""

from __future__ import annotations

import http.client
import xmlrpc.client

import pytest

from tests.server.test_api_endpoint import api

KW = {"__starstar": True}


def _pipeline(admin: xmlrpc.client.ServerProxy) -> None:
    admin.add_task({**KW, "worker": "w1", "task_id": "Load_1", "family": "Load", "params": {"day": "Mon"},
                    "deps": ["Extract_1"]})  # fmt: skip
    admin.add_task({**KW, "worker": "w1", "task_id": "Extract_1", "family": "Extract", "params": {"day": "Mon"}})
    assert admin.get_work({**KW, "worker": "w1", "host": "h"})["task_id"] == "Extract_1"
    admin.add_task({**KW, "worker": "w1", "task_id": "Extract_1", "status": "FAILED", "expl": "Traceback: boom"})


def test_the_three_methods_over_xmlrpc_for_a_viewer(live_server):
    _pipeline(live_server.proxy(live_server.admin))
    viewer = live_server.proxy(live_server.token("look", "viewer"))
    overview = viewer.overview()
    assert overview["tasks"]["total"] == 2
    assert overview["tasks"]["by_family"] == {"Load": {"PENDING": 1}, "Extract": {"FAILED": 1}}
    assert overview["workers"] == {"active": 1, "disabled": 0} and overview["paused"] is False
    page = viewer.task_page({**KW, "search": "mon", "limit": 1})
    assert page["total"] == 2 and page["limit"] == 1
    assert [row["task_id"] for row in page["tasks"]] == ["Extract_1"]  # updated last
    info = viewer.task_info("Extract_1")
    assert info["error"] == "Traceback: boom" and info["dependents"] == ["Load_1"]
    # History comes from the server's store: registered (a placeholder until then), handed out, failed.
    assert [(h["old_status"], h["new_status"]) for h in info["history"]] == [
        ("UNKNOWN", "PENDING"),
        ("PENDING", "RUNNING"),
        ("RUNNING", "FAILED"),
    ]
    assert "retry_at" in info and "worker_running" in info


def test_replies_carry_no_nil(live_server):
    _pipeline(live_server.proxy(live_server.admin))
    _, port = live_server.runtime.http.server_address
    for method, params in (("task_info", ("Load_1",)), ("task_page", ()), ("overview", ())):
        body = xmlrpc.client.dumps(params, method).encode()
        conn = http.client.HTTPSConnection("localhost", port, context=live_server.context(), timeout=10)
        conn.request(
            "POST", "/RPC2", body, {"Content-Type": "text/xml", "Authorization": f"Bearer {live_server.admin}"}
        )
        reply = conn.getresponse().read()
        conn.close()
        assert b"<methodResponse>" in reply and b"nil" not in reply and b"<fault>" not in reply, method


def test_unknown_task_and_oversized_page_are_faults(live_server):
    viewer = live_server.proxy(live_server.token("look", "viewer"))
    with pytest.raises(xmlrpc.client.Fault) as caught:
        viewer.task_info("Nope")
    assert (caught.value.faultCode, caught.value.faultString) == (404, "no such task: Nope")
    with pytest.raises(xmlrpc.client.Fault) as caught:
        viewer.task_page({**KW, "limit": 501})
    assert caught.value.faultCode == 400 and "at most 500" in caught.value.faultString


def test_api_get_serves_them_to_a_viewer(live_server):
    _pipeline(live_server.proxy(live_server.admin))
    secret = live_server.token("look", "viewer")
    answer = api(live_server, "task_page", {"family": "Load"}, verb="GET", secret=secret, token_id="look")
    assert answer.status == 200
    rows = answer.json()["response"]["tasks"]
    assert [row["task_id"] for row in rows] == ["Load_1"]
    assert "worker_running" not in rows[0]  # absent, not null
    overview = api(live_server, "overview", verb="GET", secret=secret, token_id="look").json()["response"]
    assert overview["tasks"]["by_status"]["FAILED"] == 1
    missing = api(live_server, "task_info", {"task_id": "Nope"}, verb="GET", secret=secret, token_id="look")
    assert missing.status != 200 and missing.json()["error"]["message"] == "no such task: Nope"


def test_a_placeholder_task_counts_under_the_empty_family(live_server):
    admin = live_server.proxy(live_server.admin)
    admin.add_task({**KW, "worker": "w1", "task_id": "Load_1", "family": "Load", "deps": ["Nobody_1"]})
    assert admin.overview()["tasks"]["by_family"] == {"Load": {"PENDING": 1}, "": {"UNKNOWN": 1}}
    answer = api(live_server, "overview", verb="GET")
    assert answer.json()["response"]["tasks"]["by_family"][""] == {"UNKNOWN": 1}
    assert admin.task_info("Nobody_1")["family"] == ""
