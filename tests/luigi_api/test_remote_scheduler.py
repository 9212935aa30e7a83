"""``luigi.rpc.RemoteScheduler`` from a script, against xrsched's ``/api/`` and, for the
expected shape, against Luigi's own in-process ``luigi.scheduler.Scheduler`` fed the same calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import luigi.rpc
import luigi.scheduler
import pytest

from tests.luigi_api.conftest import XrschedProcess

WORKER = "Worker(host=script, pid=1)"


def _feed(call: Callable[..., Any]) -> None:
    """The same few calls for both schedulers: A needs B; B ran and failed."""
    call("add_worker", worker=WORKER, info={"host": "script", "workers": 1})
    call("add_task", worker=WORKER, task_id="A_1", family="A", params={"x": "1"}, status="PENDING", deps=["B_1"])
    call("add_task", worker=WORKER, task_id="B_1", family="B", params={}, status="PENDING")
    work = call("get_work", worker=WORKER, host="script")
    assert work["task_id"] == "B_1"
    call("add_task", worker=WORKER, task_id="B_1", status="FAILED", expl="boom: it broke")


def _queries(call: Callable[..., Any]) -> dict[str, Any]:
    return {
        "task_list": call("task_list", status="", upstream_status=""),
        "failed": call("task_list", status="FAILED", upstream_status=""),
        "worker_list": call("worker_list"),
        "dep_graph": call("dep_graph", task_id="A_1"),
        "fetch_error": call("fetch_error", task_id="B_1"),
    }


@pytest.fixture
def remote(xrsched_server: XrschedProcess, monkeypatch: pytest.MonkeyPatch) -> luigi.rpc.RemoteScheduler:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(xrsched_server.ca))
    scheduler = luigi.rpc.RemoteScheduler(xrsched_server.url("script", xrsched_server.token("script")))
    scheduler._rpc_retry_wait = 0  # one bounded failure instead of 3 x 30 s if something is wrong
    return scheduler


def test_queries_answer_as_luigid_does(remote: luigi.rpc.RemoteScheduler):
    local = luigi.scheduler.Scheduler()
    _feed(lambda name, **kw: getattr(local, name)(**kw))
    _feed(lambda name, **kw: getattr(remote, name)(**kw))
    expected = _queries(lambda name, **kw: getattr(local, name)(**kw))
    got = _queries(lambda name, **kw: getattr(remote, name)(**kw))

    assert set(got["task_list"]) == set(expected["task_list"]) == {"A_1", "B_1"}
    for task_id, entry in expected["task_list"].items():
        assert set(got["task_list"][task_id]) == set(entry), task_id
        assert got["task_list"][task_id]["status"] == entry["status"]
    assert set(got["failed"]) == {"B_1"}
    assert [set(w) for w in got["worker_list"]] == [set(w) for w in expected["worker_list"]]
    assert got["worker_list"][0]["name"] == WORKER
    assert set(got["dep_graph"]) == set(expected["dep_graph"]) == {"A_1", "B_1"}
    for task_id, entry in expected["dep_graph"].items():
        assert set(got["dep_graph"][task_id]) == set(entry), task_id
        assert got["dep_graph"][task_id]["deps"] == entry["deps"]
    assert set(got["fetch_error"]) == set(expected["fetch_error"])
    assert got["fetch_error"]["error"] == expected["fetch_error"]["error"] == "boom: it broke"


def test_a_method_with_nothing_to_return_answers_null(remote: luigi.rpc.RemoteScheduler):
    # Luigi's RemoteScheduler re-asks up to three times on a null reply unless allow_null: ping
    # answers a dict, add_worker answers null (not XML-RPC's true) like luigid.
    assert remote.add_worker(worker=WORKER, info={}) is None
    assert remote.ping(worker=WORKER) == {"rpc_messages": []}
