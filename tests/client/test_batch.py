"""send_many and MultiCallBatch: chunking, per-entry faults, retries of chunks and of entries."""

from __future__ import annotations

import re

import pytest

from tests.client import proxy as act
from xrsched.client import BadRequest, Call, NoSuchMethod, NotFound, RemoteScheduler, Unavailable
from xrsched.rpc.marshal import dump_response


def _multicalls(server) -> int:
    return sum(1 for r in server.audit_records() if r.get("method") == "system.multicall")


def test_more_than_a_thousand_calls_go_in_chunks_with_per_entry_faults(live_server, connect):
    client = connect(live_server)
    calls: list = [Call("add_task", {"task_id": f"T{i}", "worker": "w1", "family": "F"}) for i in range(1200)]
    calls[10] = Call("mark_as_done", {"task_id": "no-such-task"})
    calls[600] = ("no_such_method", {})
    calls[1100] = ("task_list", {"status": "NOT-A-STATUS"})

    results = client.send_many(calls, max_entries=500)

    assert len(results) == 1200
    assert isinstance(results[10], NotFound)
    assert isinstance(results[600], NoSuchMethod)
    assert isinstance(results[1100], BadRequest) and results[1100].code == 400
    assert all(r is True for i, r in enumerate(results) if i not in (10, 600, 1100))
    assert _multicalls(live_server) == 3
    assert len(client.task_list(status="PENDING", limit=False)) == 1197
    assert client.stats.requests_sent == 4


def test_the_batch_context_sends_on_exit_and_restores_none(live_server, connect):
    client = connect(live_server)
    with client.batch(max_entries=2) as batch:
        added = batch.add_task(task_id="B1", worker="w1", family="F")
        work = batch.get_work(worker="w1")
        missing = batch.call("mark_as_done", "no-such-task")
        paused = batch.is_paused()
        with pytest.raises(RuntimeError, match="not been sent"):
            added.result()
        assert len(batch) == 4
    assert added.result() is True
    reply = work.result()
    assert reply["task_id"] == "B1" and reply["batch_id"] is None and reply["task_module"] is None
    assert missing.done and isinstance(missing.error, NotFound)
    with pytest.raises(NotFound):
        missing.result()
    assert paused.result() == {"paused": False}
    assert _multicalls(live_server) == 2


def test_a_batch_is_not_sent_when_its_block_raises(live_server, connect):
    client = connect(live_server)
    with pytest.raises(KeyError), client.batch() as batch:
        batch.add_task(task_id="never", worker="w1", family="F")
        raise KeyError("stop")
    assert client.task_list(status="PENDING") == {}


def test_a_chunk_whose_reply_is_lost_is_resent_and_answered_once(live_server, proxy_factory, connect):
    proxy = proxy_factory(live_server)
    client = connect(live_server, url=proxy.url)
    client.add_task(task_id="A", worker="w1", family="F", priority=2)
    client.add_task(task_id="B", worker="w1", family="F", priority=1)
    proxy.plan(act.http_status(503, "0"), act.drop_reply, match=b"system.multicall")

    results = client.send_many([("get_work", {"worker": "w1"}), ("ping", {"worker": "w1"})])

    assert results[0]["task_id"] == "A"
    assert set(client.task_list(status="RUNNING")) == {"A"}
    sent = [b for b in proxy.bodies if b"system.multicall" in b]
    ids = [re.findall(rb"__request_id</name><value><string>(\w+)<", b) for b in sent]
    assert len(sent) == 3 and ids[0] == ids[1] == ids[2] and len(set(ids[0])) == 2


def _answer(values: list) -> act.Action:
    return lambda handler, body: handler.answer(200, dump_response(values), [("Content-Type", "text/xml")])


def test_entries_answered_503_are_resent_alone(proxy_factory, dev_certs):
    server = proxy_factory(None)
    busy = {"faultCode": 503, "faultString": "busy"}
    server.plan(_answer([[1], busy, [3]]), _answer([busy]), _answer([[2]]))
    with RemoteScheduler(server.url, "s", ca=dev_certs.ca_cert, backoff=0.01, environ={}) as client:
        results = client.send_many([("ping", {"worker": "a"}), ("ping", {"worker": "b"}), ("ping", {"worker": "c"})])
        assert results == [1, 2, 3]
        assert [b"<string>b</string>" in body and b"<string>a</string>" not in body for body in server.bodies[1:]] == [
            True,
            True,
        ]
        server.plan(_answer([[1], busy]), _answer([busy]))
        with RemoteScheduler(server.url, "s", ca=dev_certs.ca_cert, retries=1, backoff=0.01, environ={}) as once:
            results = once.send_many([("ping", {"worker": "a"}), ("ping", {"worker": "b"})])
        assert results[0] == 1 and isinstance(results[1], Unavailable)


def test_max_entries_is_bounded(live_server, connect):
    client = connect(live_server)
    for bad in (0, 1001):
        with pytest.raises(ValueError, match="max_entries"):
            client.send_many([], max_entries=bad)
    assert client.send_many([]) == []
