"""Keep-alive, reconnection, threads and pickling against the real server."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import time

import pytest

from tests.client import proxy as act
from tests.waiting import join_all
from xrsched.client import NotFound, RemoteScheduler


def _peers(server, method: str) -> list[str]:
    return [r["peer"] for r in server.audit_records() if r.get("method") == method]


def test_many_calls_share_one_tcp_connection(live_server, connect):
    client = connect(live_server)
    for _ in range(50):
        client.ping(worker="w1")
    peers = _peers(live_server, "ping")
    assert len(peers) == 50
    assert len(set(peers)) == 1  # the server saw one client port: one TCP connection
    assert client.stats.connections_opened == 1
    assert live_server.runtime.http.active_connections == 1


def test_a_fault_leaves_the_connection_in_use(live_server, connect):
    client = connect(live_server)
    with pytest.raises(NotFound):
        client.mark_as_done(task_id="no-such-task")
    assert client.ping(worker="w1") == {"rpc_messages": []}
    assert client.stats.connections_opened == 1


def test_reconnects_transparently_after_the_server_closes_an_idle_connection(live_server_factory, connect):
    server = live_server_factory(idle_timeout=0.3)
    client = connect(server)
    assert client.is_paused() == {"paused": False}
    deadline = time.monotonic() + 5
    while server.runtime.http.active_connections and time.monotonic() < deadline:
        time.sleep(0.05)  # the server drops the idle connection after 0.3s
    assert server.runtime.http.active_connections == 0
    assert client.is_paused() == {"paused": False}
    assert client.stats.connections_opened == 2
    assert client.stats.retries == 0  # no backoff: the dead connection was noticed and replaced
    assert client.stats.requests_sent == 2


def test_a_connection_dropped_mid_idle_is_replaced_without_a_retry(live_server, connect):
    client = connect(live_server)
    client.ping(worker="w1")
    client.close()  # as if the network dropped it: the next call opens a new one
    assert client.ping(worker="w1") == {"rpc_messages": []}
    assert client.stats.connections_opened == 2
    assert client.stats.retries == 0


def test_threads_share_a_client_safely(live_server, connect):
    client = connect(live_server)
    errors: list[BaseException] = []
    results: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            for i in range(50):
                task_id = f"T{n}_{i}"
                client.add_task(task_id=task_id, worker=f"w{n}", family="F")
                assert client.fetch_error(task_id=task_id)["taskId"] == task_id
            with lock:
                results.append(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(8)]
    for thread in threads:
        thread.start()
    join_all(threads, 60)
    assert not errors
    assert sorted(results) == list(range(8))
    assert len(client.task_list(status="PENDING", limit=False)) == 400
    assert client.stats.connections_opened <= 9  # one per thread, plus the main thread's
    assert client.stats.retries == 0


def test_pickled_client_works_after_the_round_trip(live_server, connect):
    client = connect(live_server)
    client.ping(worker="w1")
    data = pickle.dumps(client)
    assert live_server.admin.encode() in data  # the token travels: the copy must authenticate
    copy = pickle.loads(data)
    try:
        assert copy.url == client.url
        assert copy.policy == client.policy
        assert copy.ping(worker="w1") == {"rpc_messages": []}
        assert copy.stats.connections_opened == 1  # its own connection, fresh counters
    finally:
        copy.close()
    assert live_server.admin not in repr(client)


def _ping_in_child(client: RemoteScheduler) -> dict:
    with client:
        return client.ping(worker="child")


def test_client_crosses_a_process_boundary(live_server, connect):
    client = connect(live_server)
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        assert pool.apply(_ping_in_child, (client,)) == {"rpc_messages": []}
    assert "child" in [w["name"] for w in client.worker_list()]


def test_request_ids_reach_the_audit_log(live_server, connect):
    client = connect(live_server)
    client.ping(worker="w1")
    client.ping(worker="w1")
    ids = [r["request_id"] for r in live_server.audit_records() if r.get("method") == "ping"]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert all(len(i) == 32 for i in ids)


def test_close_waits_for_a_call_in_flight(live_server, proxy_factory, connect):
    proxy = proxy_factory(live_server)
    client = connect(live_server, url=proxy.url)
    arrived = threading.Event()

    def slow_forward(handler, body):
        arrived.set()
        time.sleep(0.5)
        act.forward(handler, body)

    proxy.plan(slow_forward)
    outcome: list = []
    caller = threading.Thread(target=lambda: outcome.append(client.ping(worker="w1")))
    caller.start()
    assert arrived.wait(5)
    client.close()  # from another thread, mid-call
    caller.join(10)
    assert outcome == [{"rpc_messages": []}]
    assert client.stats.retries == 0
    assert client.transport.open_connections() == 0  # closed once the call ended
