"""``audit_search`` (contract B) on a real server: admin only, filters, pages, JSON API."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import xmlrpc.client

import pytest

from xrsched.service import SchedulerService


def test_admin_pages_through_the_servers_own_audit_log(live_server):
    admin = live_server.proxy(live_server.admin)
    viewer = live_server.proxy(live_server.token("look", "viewer"))
    for _ in range(5):
        viewer.count_pending("w1")
    with pytest.raises(xmlrpc.client.Fault):
        viewer.prune()  # 403: a refused call is audited too
    page = admin.audit_search({"identity": "look", "limit": 3, "__starstar": True})
    assert [r["method"] for r in page["records"]] == ["prune", "count_pending", "count_pending"]
    assert page["records"][0]["outcome"] == 403
    assert all(r["identity"] == "token:look" for r in page["records"])
    rest = admin.audit_search({"identity": "look", "before": page["next"], "__starstar": True})
    assert [r["method"] for r in rest["records"]] == ["count_pending"] * 3
    assert "next" not in rest
    errors = admin.audit_search({"outcome": "error", "__starstar": True})["records"]
    assert [(r["identity"], r["method"]) for r in errors] == [("token:look", "prune")]
    oks = admin.audit_search({"method": "count_pending", "outcome": "ok", "__starstar": True})["records"]
    assert len(oks) == 5
    # The reply is what the file holds, record for record (a call is audited after its reply).
    on_disk = live_server.audit_records()[::-1]
    newest = admin.audit_search({"limit": 10, "__starstar": True})["records"]
    assert newest == [{k: v for k, v in r.items() if v is not None} for r in on_disk[:10]]


@pytest.mark.parametrize("role", ["viewer", "worker", "operator"])
def test_other_roles_get_403(live_server, role):
    proxy = live_server.proxy(live_server.token(f"as-{role}", role))
    with pytest.raises(xmlrpc.client.Fault) as raised:
        proxy.audit_search()
    assert raised.value.faultCode == 403
    assert "admin" in raised.value.faultString


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        ({"limit": 501}, "500"),
        ({"limit": 0}, "500"),
        ({"before": "not-a-cursor"}, "cursor"),
        ({"identity": ""}, "identity"),
    ],
)
def test_bad_arguments_are_400_naming_the_problem(live_server, arguments, text):
    admin = live_server.proxy(live_server.admin)
    with pytest.raises(xmlrpc.client.Fault) as raised:
        admin.audit_search({**arguments, "__starstar": True})
    assert raised.value.faultCode == 400
    assert text in raised.value.faultString


def test_json_api_answers_the_same(live_server):
    admin = live_server.proxy(live_server.admin)
    admin.count_pending("w1")
    body = urllib.parse.urlencode({"data": json.dumps({"method": "count_pending", "limit": 1})}).encode()
    request = urllib.request.Request(
        live_server.url.replace("/RPC2", "/api/audit_search"),
        data=body,
        headers={"Authorization": f"Bearer {live_server.admin}"},
    )
    with urllib.request.urlopen(request, context=live_server.context(), timeout=10) as response:
        reply = json.load(response)["response"]
    assert [r["method"] for r in reply["records"]] == ["count_pending"]
    assert reply["records"][0]["identity"] == "token:admin"


def test_without_an_audit_log_the_reply_says_so():
    service = SchedulerService()
    assert service.call("audit_search") == {"records": [], "note": "audit log disabled"}
