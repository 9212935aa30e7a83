"""A client given several scheduler URLs follows the leader: real servers, real sockets.

The standby here is a :class:`~tests.client.proxy.FaultyProxy` answering as DESIGN §4c says a
standby does (fault 503 ``standby; leader is <URL>``); the servers that do the work are real.
"""

from __future__ import annotations

import logging
import pickle
import re
import socket
import threading
import time

import pytest

from tests.client import proxy as act
from tests.waiting import join_all
from xrsched.client import (
    AuthenticationFailed,
    NoSchedulerAvailable,
    NotFound,
    RemoteScheduler,
    TransportError,
    Unavailable,
)
from xrsched.client.endpoint import split_urls

_ID = re.compile(rb"<name>__request_id</name><value><string>([0-9a-f]{32})</string>")


def closed_port_url() -> str:
    """A URL where nothing listens: every connect is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"https://localhost:{port}/RPC2"


def standby(proxy_factory, leader: str = "unknown"):
    """A URL that answers every call as a standby naming ``leader``."""
    proxy = proxy_factory()
    proxy.default = act.fault(503, f"standby; leader is {leader}")
    return proxy


def moves(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "moving to" in r.getMessage()]


def test_a_dead_first_url_moves_the_call_to_the_second_at_once_and_stays_there(live_server, connect, caplog):
    dead = closed_port_url()
    client = connect(live_server, url=f"{dead},{live_server.url}", backoff=5.0, max_backoff=5.0)
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG, logger="xrsched.client"):
        assert client.ping(worker="w1") == {"rpc_messages": []}
        assert time.monotonic() - started < 4.0  # an untried URL goes without the 5 s backoff
        for _ in range(5):
            client.ping(worker="w1")
    assert client.url == live_server.url and client.urls == (dead, live_server.url)
    assert client.stats.failovers == 1  # sticky: the later calls went straight to the live server
    assert client.stats.requests_sent == 6
    assert client.stats.connections_opened == 1
    (line,) = moves(caplog)  # logged once, naming both URLs and why
    assert dead in line and live_server.url in line and "connection failed" in line
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_a_standby_naming_a_leader_in_the_list_sends_the_call_there_next(live_server, proxy_factory, connect):
    first = standby(proxy_factory, leader=live_server.url)
    skipped = proxy_factory()  # would refuse every call: it must never be asked
    skipped.default = act.close_first
    client = connect(live_server, url=f"{first.url},{skipped.url},{live_server.url}")
    client.add_task(task_id="T1", worker="w1", family="F")
    assert client.url == live_server.url
    assert len(first.bodies) == 1 and skipped.bodies == []
    assert client.stats.failovers == 1 and client.stats.retries == 1
    assert set(client.task_list(status="PENDING")) == {"T1"}


@pytest.mark.parametrize("named", ["unknown", "https://elsewhere.invalid:8082"])
def test_a_standby_without_a_known_leader_moves_the_call_to_the_next_url(live_server, proxy_factory, connect, named):
    first = standby(proxy_factory, leader=named)
    client = connect(live_server, url=f"{first.url},{live_server.url}")
    assert client.is_paused() == {"paused": False}
    assert client.url == live_server.url and client.stats.failovers == 1


def test_the_leader_may_be_named_without_its_path(live_server, proxy_factory, connect):
    leader = live_server.url.removesuffix("/RPC2")  # a standby may advertise https://host:port
    first = standby(proxy_factory, leader=leader)
    other = standby(proxy_factory)
    client = connect(live_server, url=f"{first.url},{other.url},{live_server.url}")
    assert client.is_paused() == {"paused": False}
    assert other.bodies == []


def test_a_retried_get_work_keeps_its_request_id_across_the_move(live_server, proxy_factory, connect):
    secret = live_server.token("runner", "worker")
    front = proxy_factory(live_server)  # the same server through a proxy that loses one reply
    client = connect(live_server, token=secret, url=f"{front.url},{live_server.url}")
    client.add_task(task_id="A", worker="w1", family="F", priority=10)
    client.add_task(task_id="B", worker="w1", family="F", priority=1)
    client.close()  # a reply lost on a kept connection is resent there once: make it a fresh one
    front.plan(act.drop_reply, match=b"get_work")

    assert client.get_work(worker="w1", host="h")["task_id"] == "A"

    assert client.url == live_server.url  # the lost reply moved the client on
    (sent,) = [_ID.search(b).group(1).decode() for b in front.bodies if b"get_work" in b]
    seen = [r["request_id"] for r in live_server.audit_records() if r.get("method") == "get_work"]
    assert seen == [sent, sent]  # once through the proxy, once direct: one logical call
    assert set(client.task_list(status="RUNNING")) == {"A"}  # handed out once
    assert client.get_work(worker="w1")["task_id"] == "B"


def test_faults_401_and_429_never_move_the_client(live_server, proxy_factory, connect):
    front = proxy_factory(live_server)
    spare = proxy_factory(live_server)
    client = connect(live_server, url=f"{front.url},{spare.url}")
    with pytest.raises(NotFound):
        client.mark_as_done(task_id="no-such-task")
    front.plan(act.fault(429, "slow down"))
    assert client.ping(worker="w1") == {"rpc_messages": []}  # retried where it was
    refused = connect(live_server, token="not-the-token", url=f"{front.url},{spare.url}")
    with pytest.raises(AuthenticationFailed):
        refused.ping(worker="w1")
    assert client.stats.failovers == 0 and refused.stats.failovers == 0
    assert spare.bodies == []


def test_every_url_failing_gives_up_within_the_budget_naming_each_url(live_server, proxy_factory, connect):
    dead = closed_port_url()
    waiting = standby(proxy_factory)
    client = connect(live_server, url=f"{dead},{waiting.url}", retries=4, backoff=0.05, max_backoff=0.05)
    started = time.monotonic()
    with pytest.raises(NoSchedulerAvailable) as info:
        client.ping(worker="w1")
    assert time.monotonic() - started < 5.0
    message = str(info.value)
    assert f"{dead}: connection failed" in message
    assert f"{waiting.url}: [503] standby; leader is unknown" in message
    assert info.value.retryable and isinstance(info.value, TransportError)
    assert isinstance(info.value.__cause__, TransportError | Unavailable)
    assert client.stats.retries == 4  # the budget of one URL: five attempts in all
    assert len(waiting.bodies) in (2, 3)  # the attempts alternated between the two URLs


def test_no_retries_means_no_move_and_the_error_says_what_was_not_tried(live_server, connect):
    dead = closed_port_url()
    client = connect(live_server, url=f"{dead},{live_server.url}", retries=0)
    with pytest.raises(NoSchedulerAvailable, match=re.escape(f"{live_server.url}: not tried")):
        client.ping(worker="w1")
    assert client.url == live_server.url  # the next call starts where it moved
    assert client.ping(worker="w1") == {"rpc_messages": []}


def test_a_multicall_answered_by_a_standby_moves_to_the_leader(live_server, proxy_factory, connect):
    first = standby(proxy_factory, leader=live_server.url)
    client = connect(live_server, url=f"{first.url},{live_server.url}")
    results = client.send_many([("add_task", {"task_id": f"T{i}", "worker": "w1", "family": "F"}) for i in range(3)])
    assert results == [True, True, True]
    assert client.url == live_server.url and client.stats.failovers == 1


def test_multicall_entries_answered_by_a_standby_move_to_the_leader(live_server, proxy_factory, connect):
    first = proxy_factory()
    first.default = act.raw(_entries_answered_503)
    client = connect(live_server, url=f"{first.url},{live_server.url}")
    results = client.send_many([("add_task", {"task_id": f"T{i}", "worker": "w1", "family": "F"}) for i in range(2)])
    assert results == [True, True]
    assert client.url == live_server.url and len(first.bodies) == 1


def _entries_answered_503(handler) -> None:
    fault = (b"<value><struct><member><name>faultCode</name><value><int>503</int></value></member>"
             b"<member><name>faultString</name><value><string>standby; leader is unknown</string></value>"
             b"</member></struct></value>")  # fmt: skip
    body = (b"<?xml version='1.0'?><methodResponse><params><param><value><array><data>"
            + fault * 2 + b"</data></array></value></param></params></methodResponse>")  # fmt: skip
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip


def test_a_thread_keeps_one_connection_after_the_move(live_server, proxy_factory, connect):
    front = proxy_factory(live_server)
    client = connect(live_server, url=f"{front.url},{live_server.url}")
    client.ping(worker="w1")
    assert client.cluster.members[0].transport.open_connections() == 1
    front.plan(act.fault(503, "standby; leader is unknown"))  # answered in full: the connection stays usable
    client.ping(worker="w1")
    client.ping(worker="w1")
    assert client.cluster.members[0].transport.open_connections() == 0  # closed when the thread moved
    assert client.cluster.members[1].transport.open_connections() == 1


def test_threads_that_fail_together_move_the_client_once(live_server, connect, caplog):
    silent = socket.create_server(("127.0.0.1", 0), backlog=16)  # connects, never answers the handshake
    dead = f"https://localhost:{silent.getsockname()[1]}/RPC2"
    client = connect(live_server, url=f"{dead},{live_server.url}", connect_timeout=1.0)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait(5)
            client.ping(worker="w1")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(6)]
    with caplog.at_level(logging.WARNING, logger="xrsched.client"):
        for thread in threads:
            thread.start()
        join_all(threads, 20)
    silent.close()
    assert errors == []
    assert client.stats.failovers == 1 and len(moves(caplog)) == 1  # all six timed out on the first URL


def test_a_pickled_client_keeps_its_urls_and_where_it_moved(live_server, connect):
    dead = closed_port_url()
    client = connect(live_server, url=f"{dead},{live_server.url}")
    client.ping(worker="w1")
    copy = pickle.loads(pickle.dumps(client))
    try:
        assert copy.urls == client.urls and copy.url == live_server.url
        assert copy.ping(worker="w1") == {"rpc_messages": []}
        assert copy.stats.failovers == 0 and copy.stats.connections_opened == 1
    finally:
        copy.close()


def test_urls_are_given_as_a_list_or_with_commas(live_server):
    dead = closed_port_url()
    with RemoteScheduler(urls=[dead, live_server.url], ca=live_server.ca, token=live_server.admin) as client:
        assert client.ping(worker="w1") == {"rpc_messages": []}
        assert repr(client) == f"RemoteScheduler('{dead},{live_server.url}')"
    assert split_urls(f" {dead} , {live_server.url} ") == (dead, live_server.url)
    for bad in ("", "a,,b", f"{dead},{dead}"):
        with pytest.raises(ValueError):
            split_urls(bad)
    with pytest.raises(ValueError, match="not both"):
        RemoteScheduler(dead, urls=[dead])
    with pytest.raises(ValueError, match="https://"):
        RemoteScheduler(f"{dead},ftp://x")


def test_going_round_urls_that_all_fail_warns_once_per_url_until_one_serves_again(
    live_server, proxy_factory, connect, caplog
):
    dead = closed_port_url()
    flaky = proxy_factory(live_server)
    flaky.default = act.fault(503, "standby; leader is unknown")
    client = connect(live_server, url=f"{flaky.url},{dead}", retries=6, backoff=0.01, max_backoff=0.01)
    with caplog.at_level(logging.DEBUG, logger="xrsched.client"), pytest.raises(NoSchedulerAvailable):
        client.ping(worker="w1")
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "moving to" in r.getMessage()]
    assert client.stats.failovers == 7  # every attempt moved on...
    assert len(warned) == 2  # ...but only each URL's first failure is a warning; the rest at debug
    flaky.default = act.forward  # it leads now: its next failure is news again
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xrsched.client"):
        assert client.ping(worker="w1") == {"rpc_messages": []}
        flaky.default = act.fault(503, "standby; leader is unknown")
        with pytest.raises(NoSchedulerAvailable):
            client.ping(worker="w1")
    assert len(moves(caplog)) == 1 and moves(caplog)[0].startswith(f"scheduler {flaky.url} failed")
