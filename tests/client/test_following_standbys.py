"""A client given several URLs against real xrsched servers in standby mode (their Leadership set
by hand, as the PostgreSQL election sets it; tests/server/test_standby_contract.py does the same)."""

from __future__ import annotations

import collections
import logging
import shutil

from tests.standby import follow, lead
from tests.worker.tasks import Node, runs
from xrsched.worker import Worker, WorkerSettings


def _servers(live_server_factory, count: int) -> list:
    """``count`` servers that accept the first one's tokens (one token for all, as in production)."""
    servers = [live_server_factory() for _ in range(count)]
    for other in servers[1:]:
        shutil.copy(servers[0].tokens_path, other.tokens_path)
        other.runtime.reload()
    return servers


def _calls(server, method: str) -> list[tuple[str, object]]:
    return [(r["request_id"], r["outcome"]) for r in server.audit_records() if r.get("method") == method]


def test_a_standby_sends_the_call_to_the_leader_it_names_with_the_same_request_id(live_server_factory, connect):
    leader, standby, idle = _servers(live_server_factory, 3)
    lead(leader, 2)
    follow(standby, 2, leader.url)
    follow(idle, 2, leader.url)
    client = connect(leader, url=f"{standby.url},{idle.url},{leader.url}")

    client.add_task(task_id="T1", worker="w1", family="F")

    (refused,) = _calls(standby, "add_task")
    (served,) = _calls(leader, "add_task")
    assert refused[1] == 503 and served[1] == "ok"
    assert refused[0] == served[0]  # one logical call, one request id
    assert _calls(idle, "add_task") == []  # the named leader came next, not the next URL
    assert client.url == leader.url and client.stats.failovers == 1


def test_a_takeover_moves_the_client_to_the_new_leader(live_server_factory, connect, caplog):
    first, second = _servers(live_server_factory, 2)
    lead(first, 1)
    follow(second, 1, first.url)
    client = connect(first, url=f"{first.url},{second.url}")
    assert client.ping(worker="w1") == {"rpc_messages": []}
    follow(first, 2, second.url)  # the second server took over at epoch 2
    lead(second, 2)
    with caplog.at_level(logging.WARNING, logger="xrsched.client"):
        assert client.ping(worker="w1") == {"rpc_messages": []}
        client.ping(worker="w1")
    assert client.url == second.url and client.stats.failovers == 1
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == f"scheduler {first.url} failed (standby; leader is {second.url}); moving to {second.url}"
    assert [outcome for _, outcome in _calls(second, "ping")] == ["ok", "ok"]


def test_a_worker_with_two_processes_runs_a_graph_through_a_standby_and_its_leader(
    live_server_factory, connect, tmp_path
):
    standby, leader = _servers(live_server_factory, 2)
    lead(leader, 1)
    follow(standby, 1, leader.url)
    client = connect(standby, url=f"{standby.url},{leader.url}")  # the first server's admin token
    settings = WorkerSettings(ping_interval=0.2)
    with Worker(client, processes=2, settings=settings, handle_signals=False) as worker:
        worker.add(Node(root=str(tmp_path), i=0, size=40))
        summary = worker.run()
    assert summary.exit_code == 0, summary.render()
    counts = collections.Counter(task_id for task_id, _, _ in runs(tmp_path))
    assert len(counts) == 40 and max(counts.values()) == 1
    assert client.stats.failovers == 1
    assert all(outcome == 503 for _, outcome in _calls(standby, "add_task") + _calls(standby, "system.multicall"))
