"""Every scheduler method through RemoteScheduler with keyword arguments, and None restoration."""

from __future__ import annotations

import inspect

import pytest

from xrsched.client import SCHEDULER_METHODS, RemoteScheduler
from xrsched.client.wire import REPLY_KEYS, TASK_KEYS, restore
from xrsched.core.scheduler import PUBLIC_METHODS
from xrsched.service import SchedulerService

# One call per public method, in an order that makes each meaningful (worker w1 runs B).
CALLS: list[tuple[str, dict]] = [
    ("add_worker", {"worker": "w1", "info": {"host": "h1", "workers": 1}}),
    ("add_task", {"task_id": "A", "worker": "w1", "family": "F", "params": {"p": "a"}, "deps": ["B"],
                  "priority": 5, "resources": {"r": 1}, "module": "m", "status": "PENDING"}),
    ("add_task", {"task_id": "B", "worker": "w1", "family": "F", "params": {"p": "b"}, "accepts_messages": True}),
    ("add_task_batcher", {"worker": "w1", "task_family": "Bat", "batched_args": ["p"], "max_batch_size": 5}),
    ("announce_scheduling_failure", {"task_name": "X", "family": "X", "params": {}, "expl": "boom",
                                     "owners": []}),
    ("get_work", {"worker": "w1", "host": "h1", "assistant": False, "current_tasks": []}),
    ("ping", {"worker": "w1"}),
    ("count_pending", {"worker": "w1"}),
    ("set_task_status_message", {"task_id": "B", "status_message": "half way"}),
    ("get_task_status_message", {"task_id": "B"}),
    ("set_task_progress_percentage", {"task_id": "B", "progress_percentage": 50}),
    ("get_task_progress_percentage", {"task_id": "B"}),
    ("decrease_running_task_resources", {"task_id": "B", "decrease_resources": {}}),
    ("get_running_task_resources", {"task_id": "B"}),
    ("send_scheduler_message", {"worker": "w1", "task": "B", "content": "hello"}),
    ("add_scheduler_message_response", {"task_id": "B", "message_id": "m1", "response": "ok"}),
    ("get_scheduler_message_response", {"task_id": "B", "message_id": "m1"}),
    ("report_task_statistics", {"task_id": "B", "statistics": {"rows": 3}}),
    ("task_list", {"status": "RUNNING", "upstream_status": "", "limit": True, "max_shown_tasks": 100}),
    ("worker_list", {"include_running": True}),
    ("resource_list", {}),
    ("task_search", {"task_str": "A"}),
    ("graph", {}),
    ("dep_graph", {"task_id": "A", "include_done": True}),
    ("inverse_dep_graph", {"task_id": "B", "include_done": False}),
    ("fetch_error", {"task_id": "A"}),
    ("overview", {}),
    ("task_page", {"status": "PENDING", "family": "F", "search": "a", "offset": 0, "limit": 10}),
    ("task_info", {"task_id": "A"}),
    ("has_task_history", {}),
    ("task_history", {"task_id": "B"}),
    ("is_pause_enabled", {}),
    ("is_paused", {}),
    ("pause", {}),
    ("unpause", {}),
    ("prune", {}),
    ("set_worker_processes", {"worker": "w1", "n": 2}),
    ("disable_worker", {"worker": "w-other"}),
    ("mark_as_done", {"task_id": "B"}),
    ("re_enable_task", {"task_id": "A"}),
    ("forgive_failures", {"task_id": "A"}),
    ("update_resources", {"r": 3, "s": 1}),
    ("update_resource", {"resource": "r", "amount": 4}),
    ("audit_search", {"method": "ping", "limit": 2}),
]  # fmt: skip


def test_the_method_table_matches_the_server(live_server, connect):
    served = {name for name in connect(live_server).list_methods() if not name.startswith("system.")}
    assert set(SCHEDULER_METHODS) == served
    signatures = SchedulerService().methods()
    for name, params in SCHEDULER_METHODS.items():
        expected = tuple(
            p.name
            for p in inspect.signature(signatures[name]).parameters.values()
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        )
        assert params == expected, name
        assert callable(getattr(RemoteScheduler, name))
    assert {name for name, _ in CALLS} == set(SCHEDULER_METHODS)


def test_every_scheduler_method_is_callable_with_keywords(live_server, connect):
    client = connect(live_server)
    replies = {}
    for name, kwargs in CALLS:
        replies[name] = getattr(client, name)(**kwargs)
    assert replies["get_work"]["task_id"] == "B"
    assert replies["get_task_status_message"] == {"taskId": "B", "statusMessage": "half way"}
    assert replies["get_task_progress_percentage"]["progressPercentage"] == 50
    assert replies["get_scheduler_message_response"] == {"response": "ok"}
    assert set(replies["task_list"]) == {"B"}
    assert replies["mark_as_done"] == {"task_id": "B", "status": "DONE"}
    assert replies["ping"] == {"rpc_messages": []}
    assert "message_id" in replies["send_scheduler_message"]
    assert [w["name"] for w in replies["worker_list"]] == ["w1"]
    assert [r["method"] for r in replies["audit_search"]["records"]] == ["ping"]  # the one before it
    assert replies["overview"]["tasks"]["by_family"]["F"] == {"PENDING": 1, "RUNNING": 1}
    assert [row["task_id"] for row in replies["task_page"]["tasks"]] == ["A"]
    assert replies["task_info"]["deps"] == ["B"] and replies["task_info"]["module"] == "m"
    later = client.ping(worker="w1")["rpc_messages"]
    assert {"name": "set_worker_processes", "kwargs": {"n": 2}} in later
    # Every one of those calls went over a single connection.
    assert client.stats.connections_opened == 1
    assert client.stats.requests_sent == len(CALLS) + 1


def test_positional_arguments_are_named_and_sent_as_keywords(live_server, connect):
    client = connect(live_server)
    client.add_task("P1", "PENDING", True, None, None, None, None, 0, "Fam", None, {"k": "v"}, worker="w9")
    assert client.task_list("PENDING", "")["P1"]["name"] == "Fam"
    with pytest.raises(TypeError, match="multiple values"):
        client.fetch_error("P1", task_id="P1")
    with pytest.raises(TypeError, match="at most 1"):
        client.fetch_error("P1", "P2")


def test_system_methods(live_server, connect):
    client = connect(live_server)
    names = client.list_methods()
    assert set(PUBLIC_METHODS) <= set(names)
    assert "system.multicall" in names
    assert "alive" in client.method_help("ping")
    assert client.method_signature("fetch_error") == [["struct", "string"]]
    assert "multicall" in client.get_capabilities()
    assert client.health()["status"] == "ok"
    assert client.call("system.methodHelp", "ping") == client.method_help("ping")


def test_omitted_members_come_back_as_none(live_server, connect):
    client = connect(live_server)
    nothing = client.get_work(worker="idle", host="h")
    for key in REPLY_KEYS["get_work"]:
        assert nothing[key] is None
    assert nothing["n_pending_tasks"] == 0
    unknown = client.fetch_error(task_id="Nope")
    assert unknown["error"] == "" and unknown["displayName"] is None and unknown["taskParams"] is None
    client.add_task(task_id="L1", worker="w1", family="L")
    assert client.get_task_status_message(task_id="L1") == {"taskId": "L1", "statusMessage": None}
    assert client.get_task_progress_percentage(task_id="Nope")["progressPercentage"] is None
    assert client.get_running_task_resources(task_id="Nope")["resources"] is None
    listed = client.task_list(status="PENDING")["L1"]
    for key in TASK_KEYS:
        assert key in listed
    assert listed["worker_running"] is None and listed["tracking_url"] is None
    assert client.task_search(task_str="L1")["PENDING"]["L1"]["time_running"] is None
    assert client.dep_graph(task_id="L1")["L1"]["status_message"] is None
    assert client.get_scheduler_message_response(task_id="L1", message_id="none") == {"response": None}
    assert client.task_list(status="PENDING", max_shown_tasks=1, search=None) in ({"num_tasks": 1}, {"L1": listed})


def test_a_batch_reply_keeps_its_ids(live_server, connect):
    client = connect(live_server)
    client.add_task_batcher(worker="wb", task_family="Bat", batched_args=["p"], max_batch_size=3)
    for value in ("1", "2"):
        client.add_task(task_id=f"Bat_{value}", worker="wb", family="Bat", params={"p": value}, batchable=True)
    reply = client.get_work(worker="wb")
    assert reply["task_id"] is None
    assert reply["batch_id"] and sorted(reply["batch_task_ids"]) == ["Bat_1", "Bat_2"]
    assert reply["task_params"]["p"] in (["1", "2"], ["2", "1"])


def test_restore_tables_without_a_server():
    assert restore("task_list", {"num_tasks": 5}) == {"num_tasks": 5}
    history = restore("task_history", [{"task_id": "a", "new_status": "PENDING"}])
    assert history == [{"task_id": "a", "new_status": "PENDING", "worker": None, "host": None}]
    workers = restore("worker_list", [{"name": "w", "running": {"T": {"status": "RUNNING"}}}])
    assert workers[0]["running"]["T"]["tracking_url"] is None
    assert restore("re_enable_task", {}) == {}
    assert restore("unknown_method", {"x": 1}) == {"x": 1}
