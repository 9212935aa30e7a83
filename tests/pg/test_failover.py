"""Leader election, fencing and failover with real server processes on a real PostgreSQL."""

from __future__ import annotations

import http.client
import signal
import ssl
import threading
import time
import xmlrpc.client
from collections.abc import Iterator

import pytest

from tests.pg.haservers import TAKEOVER_DELAY, HaPair
from tests.waiting import join_all, wait_for


def add(server, task_id: str, worker: str) -> None:
    server.proxy().add_task({"task_id": task_id, "worker": worker, "__starstar": True})


@pytest.fixture
def pair(pg_url, tmp_path, dev_certs, env) -> Iterator[HaPair]:
    group = HaPair(pg_url, tmp_path, dev_certs, env)
    try:
        yield group
    finally:
        group.close()


def test_one_leads_the_other_answers_503_naming_it_and_takes_over_after_kill_9(pair):
    a = pair.start()
    assert pair.wait_leader() is a
    b = pair.start()
    wait_for(lambda: b.role() == "standby" and b.health().ha.leader_url == a.url, 10, "b to follow a")
    wait_for(lambda: any("standby: warm at change" in line for line in b.lines), 20, "b's copy of the state")
    add(a, "T1", "w1")  # after b's full read: b reads it as a change
    with pytest.raises(xmlrpc.client.Fault) as caught:
        b.proxy().ping("w1")
    assert (caught.value.faultCode, caught.value.faultString) == (503, f"standby; leader is {a.url}")
    report = b.health()
    assert report.status == "standby" and report.ha.epoch == a.health().ha.epoch

    killed = time.monotonic()
    a.kill()
    assert pair.wait_leader(timeout=15) is b
    took = time.monotonic() - killed
    assert took < TAKEOVER_DELAY + 5, took
    tasks = b.proxy().task_list("PENDING", "")
    assert "T1" in tasks
    assert b.health().ha.epoch == report.ha.epoch + 1
    assert any("leader at epoch" in line and "from the warm standby's copy" in line for line in b.lines), b.lines


def test_a_stopped_leader_never_answers_or_writes_as_leader_again(pair, pg_cluster, pg_url):
    a = pair.start()
    pair.wait_leader()
    b = pair.start()
    wait_for(lambda: b.role() == "standby", 10, "b to stand by")
    add(a, "before", "w1")
    a.kill(signal.SIGSTOP)
    assert pair.wait_leader(timeout=20) is b
    add(b, "by-b", "w2")
    # Calls that reach it while it is stopped wait in its backlog; they run the moment it runs
    # again, before its election thread has looked at the database: its lapsed lease refuses them.
    answers: list[object] = []

    def read_from_a() -> None:
        try:
            answers.append(a.proxy(timeout=30).task_list("PENDING", ""))
        except xmlrpc.client.Fault as fault:
            answers.append(fault.faultCode)

    readers = [threading.Thread(target=read_from_a) for _ in range(6)]
    for reader in readers:
        reader.start()
    time.sleep(0.5)
    a.kill(signal.SIGCONT)
    join_all(readers, 30)
    assert answers == [503] * 6
    for _ in range(10):
        with pytest.raises(xmlrpc.client.Fault) as caught:
            add(a, "stale", "w1")
        assert caught.value.faultCode == 503 and caught.value.faultString.startswith("standby; leader is ")
    wait_for(lambda: a.role() == "standby" and a.health().ha.leader_url == b.url, 10, "a to follow b")
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM xrsched_tasks")}
    assert ids == {"before", "by-b"}
    assert set(b.proxy().task_list("PENDING", "")) == {"before", "by-b"}
    assert any("stepped down" in line for line in a.lines)


def test_the_service_of_a_takeover_keeps_the_servers_metrics_and_audit_log(pair):
    """A leader's service is built at takeover, not at start: it must still feed /metrics and
    answer audit_search from the server's own audit log."""
    a = pair.start()
    assert pair.wait_leader() is a
    add(a, "M1", "w1")
    add(a, "M2", "w1")
    records = a.proxy().audit_search({"method": "add_task", "__starstar": True})["records"]
    assert len(records) == 2 and all(r["identity"] == "token:admin" for r in records), records
    context = ssl.create_default_context(cafile=str(a.ca))
    conn = http.client.HTTPSConnection("localhost", a.port, context=context, timeout=5)
    try:
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {a.secret}"})
        answer = conn.getresponse()
        text = answer.read().decode()
    finally:
        conn.close()
    assert answer.status == 200, text
    assert 'xrsched_tasks{status="PENDING"} 2.0' in text, text
    assert 'xrsched_rpc_calls_total{method="add_task",outcome="ok"} 2.0' in text, text
    assert "xrsched_ha_leader 1.0" in text and "xrsched_ha_epoch " in text, text
