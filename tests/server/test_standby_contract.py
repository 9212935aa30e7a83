"""The standby contract other clients rely on (``ha-client``): a standby answers every call but
``system.health`` with fault 503 ``standby; leader is <URL>`` (HTTP 503 over ``/api/``), audits
it, and says ``standby`` with an ``<ha>`` element in its health document (exit 0 for monitoring).

These run the real server with its Leadership set by hand; the PostgreSQL election that sets it
in production is tested in tests/pg/."""

from __future__ import annotations

import http.client
import xmlrpc.client

import pytest
from click.testing import CliRunner

from tests.server.conftest import LiveServer
from tests.server.test_api_endpoint import api
from tests.standby import follow
from xrsched.cli.health import health
from xrsched.health import parse_xml
from xrsched.server.leadership import Leadership

LEADER_URL = "https://sched-a.example:8082/RPC2"


def _as_standby(live: LiveServer, leader_url: str | None = LEADER_URL, epoch: int = 3) -> Leadership:
    return follow(live, epoch, leader_url)


def _get_health(live: LiveServer) -> tuple[int, bytes]:
    _, port = live.runtime.http.server_address
    conn = http.client.HTTPSConnection("localhost", port, context=live.context(), timeout=10)
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("leader_url", [LEADER_URL, None])
def test_every_call_gets_fault_503_naming_the_leader(live_server, leader_url):
    _as_standby(live_server, leader_url)
    proxy = live_server.proxy(live_server.admin)
    expected = f"standby; leader is {leader_url or 'unknown'}"
    for call in (lambda: proxy.ping("w1"), lambda: proxy.task_list("", ""), proxy.system.listMethods):
        with pytest.raises(xmlrpc.client.Fault) as caught:
            call()
        assert (caught.value.faultCode, caught.value.faultString) == (503, expected)


def test_the_refusal_comes_before_the_role_check_and_is_audited(live_server):
    _as_standby(live_server)
    viewer = live_server.token("watcher", "viewer")
    with pytest.raises(xmlrpc.client.Fault) as caught:
        live_server.proxy(viewer).mark_as_done("t1")  # an operator method: 503, not 403
    assert caught.value.faultCode == 503
    outcomes = [(r["method"], r["outcome"]) for r in live_server.audit_records()]
    assert ("mark_as_done", 503) in outcomes


def test_api_answers_http_503_with_the_same_message(live_server):
    _as_standby(live_server, epoch=7)
    answer = api(live_server, "ping", {"worker": "w1"})
    assert answer.status == 503
    assert "standby; leader is " + LEADER_URL in answer.body.decode()
    assert ("ping", 503) in [(r["method"], r["outcome"]) for r in live_server.audit_records()]


def test_health_says_standby_with_role_epoch_and_leader(live_server):
    _as_standby(live_server, epoch=3)
    status, body = _get_health(live_server)
    assert status == 200
    assert b'<ha role="standby" epoch="3" leader="https://sched-a.example:8082/RPC2"/>' in body
    report = parse_xml(body)
    assert report.status == "standby" and report.ha is not None and report.ha.leader_url == LEADER_URL
    struct = live_server.proxy(live_server.admin).system.health()  # still answered by a standby
    assert struct["status"] == "standby"
    assert struct["ha"] == {"role": "standby", "epoch": 3, "leader_url": LEADER_URL}


def test_a_leader_serves_and_reports_itself(live_server):
    leadership = _as_standby(live_server)
    leadership.lead(4)
    proxy = live_server.proxy(live_server.admin)
    assert proxy.ping("w1") == {"rpc_messages": []}
    report = parse_xml(_get_health(live_server)[1])
    assert report.status == "ok"
    assert report.ha is not None and (report.ha.role, report.ha.epoch) == ("leader", 4)
    assert report.ha.leader_url == live_server.url
    leadership.step_down()
    with pytest.raises(xmlrpc.client.Fault, match="standby; leader is unknown"):
        proxy.ping("w1")


def test_monitoring_exit_code_is_0_for_a_standby(live_server):
    _as_standby(live_server)
    port = live_server.runtime.http.server_address[1]
    result = CliRunner().invoke(health, [f"localhost:{port}", "--ca", str(live_server.ca)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("STANDBY ")


def test_without_leadership_there_is_no_ha_element(live_server):
    status, body = _get_health(live_server)
    assert status == 200 and b"<ha " not in body and parse_xml(body).ha is None


def test_a_leader_past_its_lease_reads_as_a_standby_that_knows_no_leader():
    now = [100.0]
    leadership = Leadership("https://me:8082/RPC2", clock=lambda: now[0])
    leadership.renew(101.0)
    leadership.lead(2)
    assert leadership.view().leading and leadership.view().leader_url == "https://me:8082/RPC2"
    now[0] = 101.0
    view = leadership.view()
    assert not view.leading and view.standby_message() == "standby; leader is unknown" and view.epoch == 2
    leadership.renew(105.0)
    assert leadership.leading
