"""Which failures are retried, how, and that retrying never assigns a task twice."""

from __future__ import annotations

import logging
import re
import socket
import time

import pytest

from tests.client import proxy as act
from xrsched.certgen import make_dev_certificates
from xrsched.client import (
    AuthenticationFailed,
    BadRequest,
    Forbidden,
    NoSuchMethod,
    NotFound,
    RateLimited,
    TransportError,
    Unavailable,
)
from xrsched.client.retrying import Patience

_ID = re.compile(rb"<name>__request_id</name><value><string>([0-9a-f]{32})</string>")


def _request_ids(bodies: list[bytes], method: bytes) -> list[bytes]:
    return [_ID.search(b).group(1) for b in bodies if b"<methodName>" + method + b"<" in b]


@pytest.fixture
def proxied(live_server, proxy_factory, connect):
    """(proxy, client through the proxy) in front of ``live_server``."""
    proxy = proxy_factory(live_server)
    return proxy, connect(live_server, url=proxy.url)


@pytest.mark.parametrize(
    "answers",
    [
        [act.http_status(503, "0"), act.http_status(503, "0")],
        [act.http_status(429, "0")],
        [act.fault(503, "draining"), act.fault(429, "slow down")],
        [act.http_status(502)],
        [act.close_first],
    ],
    ids=["http-503", "http-429", "faults-503-429", "gateway-502", "closed"],
)
def test_transient_failures_are_retried_with_the_same_request_id(proxied, answers):
    proxy, client = proxied
    client.ping(worker="w1")  # open the connection first
    proxy.plan(*answers)
    assert client.ping(worker="w1") == {"rpc_messages": []}
    ids = _request_ids(proxy.bodies, b"ping")
    assert len(ids) == 2 + len(answers)
    assert len(set(ids[1:])) == 1  # every attempt of the second call carried its one id
    assert client.stats.retries >= len(answers) - (1 if answers == [act.close_first] else 0)


def test_retry_after_is_honoured_up_to_its_cap(proxied, live_server, connect):
    proxy, client = proxied
    proxy.plan(act.http_status(503, "1"))
    started = time.monotonic()
    client.ping(worker="w1")
    assert time.monotonic() - started >= 0.95
    capped = connect(live_server, url=proxy.url, max_retry_after=0.1)
    proxy.plan(act.http_status(503, "3600"))
    started = time.monotonic()
    capped.ping(worker="w1")
    assert time.monotonic() - started < 2


def test_gives_up_after_the_configured_retries(live_server, proxy_factory, connect):
    proxy = proxy_factory(live_server)
    client = connect(live_server, url=proxy.url, retries=2)
    proxy.plan(*[act.http_status(503, "0")] * 5)
    with pytest.raises(Unavailable) as info:
        client.ping(worker="w1")
    assert info.value.code == 503
    assert client.stats.requests_sent == 3
    proxy.plan(*[act.fault(429)] * 5)
    with pytest.raises(RateLimited):
        client.ping(worker="w1")


def test_a_slow_answer_times_out_and_is_retried(live_server, proxy_factory, connect):
    proxy = proxy_factory(live_server)
    client = connect(live_server, url=proxy.url, timeout=0.3)

    def slow(handler, body):
        time.sleep(1.0)
        handler.close_connection = True

    proxy.plan(slow)
    assert client.is_paused() == {"paused": False}
    assert client.stats.retries == 1


@pytest.mark.parametrize("fresh_connection", [False, True])
def test_a_lost_get_work_reply_is_answered_with_the_same_task(live_server, proxy_factory, connect, fresh_connection):
    secret = live_server.token("runner", "worker")
    proxy = proxy_factory(live_server)
    client = connect(live_server, token=secret, url=proxy.url)
    client.add_task(task_id="A", worker="w1", family="F", priority=10)
    client.add_task(task_id="B", worker="w1", family="F", priority=1)
    if fresh_connection:
        client.close()  # the drop then hits a new connection: a normal retry with backoff
    proxy.plan(act.drop_reply, match=b"get_work")

    reply = client.get_work(worker="w1", host="h")

    assert reply["task_id"] == "A"
    ids = _request_ids(proxy.bodies, b"get_work")
    assert len(ids) == 2 and ids[0] == ids[1]  # the server saw the same call twice...
    running = client.task_list(status="RUNNING")
    assert set(running) == {"A"}  # ...and handed out one task, once
    assert running["A"]["worker_running"] == "w1"
    assert set(client.task_list(status="PENDING")) == {"B"}
    assert client.get_work(worker="w1")["task_id"] == "B"  # a new call gets the next task


def test_a_lost_reply_to_a_mutation_is_harmless(proxied):
    proxy, client = proxied
    client.add_task(task_id="D", worker="w1", family="F")
    assert client.get_work(worker="w1")["task_id"] == "D"
    proxy.plan(act.drop_reply, match=b"DONE")
    assert client.add_task(task_id="D", worker="w1", status="DONE") is True
    assert set(client.task_list(status="DONE")) == {"D"}


def test_faults_that_mean_a_bad_request_are_not_retried(live_server, connect):
    client = connect(live_server)
    with pytest.raises(BadRequest) as info:
        client.mark_as_done(task_id="x", bogus=1)
    assert info.value.code == -32602 and "bogus" in info.value.message
    with pytest.raises(BadRequest) as info:
        client.task_list(status="NOT-A-STATUS")
    assert info.value.code == 400
    with pytest.raises(NotFound):
        client.mark_as_done(task_id="no-such-task")
    with pytest.raises(NoSuchMethod):
        client.call("no_such_method")
    viewer = connect(live_server, token=live_server.token("dash", "viewer"))
    with pytest.raises(Forbidden) as info:
        viewer.add_task(task_id="T", worker="w")
    assert "worker role" in info.value.message
    assert client.stats.retries == 0 and viewer.stats.retries == 0
    assert client.stats.requests_sent == 4


def test_a_wrong_token_is_401_and_not_retried(live_server, connect):
    client = connect(live_server, token="not-the-token")
    with pytest.raises(AuthenticationFailed, match="401"):
        client.ping(worker="w1")
    assert client.stats.requests_sent == 1


def test_a_server_certificate_from_another_ca_is_refused(live_server, connect, tmp_path):
    other = make_dev_certificates(tmp_path / "other")
    client = connect(live_server, ca=other.ca_cert)
    with pytest.raises(TransportError, match="certificate verif") as info:
        client.ping(worker="w1")
    assert not info.value.retryable
    assert client.stats.retries == 0 and client.stats.connections_opened == 0


def test_an_unreachable_server_is_retried_then_reported(connect, live_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = connect(live_server, url=f"https://localhost:{port}/RPC2", retries=2)
    with pytest.raises(TransportError, match="connection failed") as info:
        client.ping(worker="w1")
    assert info.value.retryable
    assert client.stats.retries == 2


def test_a_patience_bounds_an_outage_across_calls_and_logs_it_once(connect, live_server, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = connect(live_server, url=f"https://localhost:{port}/RPC2", retries=1000, backoff=0.2, max_backoff=0.2)
    client.patience = Patience(1.0)
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG, logger="xrsched.client"), pytest.raises(TransportError):
        client.ping(worker="w1")
    assert 0.9 < time.monotonic() - started < 2.0  # a thousand retries allowed, one second of patience
    assert client.patience.since is not None and client.patience.left() <= 0
    with pytest.raises(TransportError):  # the outage goes on: no more retries at all
        client.ping(worker="w1")
    assert time.monotonic() - started < 2.5
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("scheduler unreachable: ping failed"), warnings
    client = connect(live_server, retries=0)
    client.patience = Patience(1.0)
    client.patience.failed("ping", TransportError("down", retryable=True))
    client.ping(worker="w1")  # an answer ends the outage
    assert client.patience.since is None


def test_a_server_that_only_answers_503_runs_the_patience_out(live_server, proxy_factory, connect):
    proxy = proxy_factory(live_server)
    client = connect(live_server, url=proxy.url, retries=1000, backoff=0.05, max_backoff=0.05)
    client.ping(worker="w1")
    client.patience = Patience(1.0)
    proxy.plan(*[act.fault(503, "draining")] * 500)
    started = time.monotonic()
    for _ in range(3):  # a new call's 503 does not restart the outage's clock
        with pytest.raises(Unavailable):
            client.ping(worker="w1")
    assert time.monotonic() - started < 2.0
    assert client.patience.since is not None and client.patience.left() <= 0
    proxy.plan()  # the server answers again: that ends the outage
    assert client.ping(worker="w1") == {"rpc_messages": []}
    assert client.patience.since is None
