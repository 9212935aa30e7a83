"""Read-only views: task_list, worker_list, task_search, graphs, fetch_error, annotations."""

from __future__ import annotations

import pytest

from tests.core.conftest import SERIALIZED_KEYS, T0, add, finish, listed, make, run
from xrsched.core.errors import BadValue

# ------------------------------------------------------------------ task_list


def test_task_list_all_and_by_status(sched):
    add(sched, "A")
    add(sched, "B", status="DONE")
    add(sched, "C", status="FAILED")
    assert set(listed(sched)) == {"A", "B", "C"}
    assert set(listed(sched, status="PENDING")) == {"A"}
    assert set(listed(sched, status="DONE")) == {"B"}
    assert set(listed(sched, status="FAILED")) == {"C"}
    assert listed(sched, status="RUNNING") == {}
    for entry in listed(sched).values():
        assert set(entry) >= SERIALIZED_KEYS
        assert "deps" not in entry


def test_task_list_running_shows_runner_and_times(sched):
    add(sched, "A")
    run(sched, now=T0 + 5)
    entry = listed(sched, status="RUNNING", now=T0 + 6)["A"]
    assert entry["worker_running"] == "w1"
    assert entry["time_running"] == T0 + 5
    assert entry["last_updated"] == T0 + 5


def test_task_list_includes_unknown_placeholders(sched):
    add(sched, "A", deps=["B"])
    assert set(listed(sched, status="UNKNOWN")) == {"B"}


def test_task_list_upstream_status(sched):
    add(sched, "wait_fail", deps=["F"])
    add(sched, "F", status="FAILED")
    add(sched, "wait_dis", deps=["D"])
    add(sched, "D", status="DISABLED")
    add(sched, "wait_missing", deps=["M"])
    add(sched, "deep", deps=["wait_dis"])
    assert set(listed(sched, status="PENDING", upstream_status="UPSTREAM_FAILED")) == {"wait_fail"}
    assert set(listed(sched, status="PENDING", upstream_status="UPSTREAM_DISABLED")) == {"wait_dis", "deep"}


def test_upstream_running_and_missing_input(sched):
    add(sched, "X", deps=["R"])
    add(sched, "R")
    assert run(sched) == "R"
    add(sched, "Y", deps=["P"])
    add(sched, "P", deps=["Q"])
    add(sched, "Q", runnable=False)
    assert set(listed(sched, status="PENDING", upstream_status="UPSTREAM_RUNNING")) == {"X"}
    missing = set(listed(sched, status="PENDING", upstream_status="UPSTREAM_MISSING_INPUT"))
    # a PENDING task without dependencies counts as missing input itself (Luigi's table)
    assert missing == {"Y", "P", "Q"}


def test_upstream_status_takes_the_most_severe(sched):
    add(sched, "T", deps=["F", "D"])
    add(sched, "F", status="FAILED")
    add(sched, "D", status="DISABLED")
    assert set(listed(sched, status="PENDING", upstream_status="UPSTREAM_DISABLED")) == {"T"}
    assert listed(sched, status="PENDING", upstream_status="UPSTREAM_FAILED") == {}


def test_upstream_filter_keeps_non_pending_tasks(sched):
    # Luigi only filters PENDING tasks by upstream status
    add(sched, "A", status="DONE")
    add(sched, "B")
    assert set(listed(sched, upstream_status="UPSTREAM_FAILED")) == {"A"}


def test_upstream_status_with_a_cycle_terminates(sched):
    add(sched, "A", deps=["B"])
    add(sched, "B", deps=["A"])
    add(sched, "C", deps=["A"])
    for upstream in ("UPSTREAM_MISSING_INPUT", "UPSTREAM_FAILED", "UPSTREAM_DISABLED"):
        result = listed(sched, status="PENDING", upstream_status=upstream)
        assert set(result) <= {"A", "B", "C"}


def test_task_list_search_matches_all_terms_case_insensitively(sched):
    add(sched, "t1", family="LoadData", params={"date": "2024-01-01", "table": "users"})
    add(sched, "t2", family="LoadData", params={"date": "2024-01-02", "table": "orders"})
    add(sched, "t3", family="Report", params={"date": "2024-01-01"})
    assert set(listed(sched, search="loaddata")) == {"t1", "t2"}
    assert set(listed(sched, search="LOADDATA users")) == {"t1"}
    assert set(listed(sched, search="2024-01-01")) == {"t1", "t3"}
    assert listed(sched, search="nothing-like-this") == {}
    assert set(listed(sched, search="")) == {"t1", "t2", "t3"}


def test_task_list_search_ignores_hidden_params(sched):
    add(sched, "t1", family="F", params={"token": "sekrit"}, param_visibilities={"token": 1})
    assert listed(sched, search="sekrit") == {}


def test_max_shown_tasks_cutoff():
    s = make(max_shown_tasks=3)
    for i in range(5):
        add(s, f"T{i}")
    assert listed(s) == {"num_tasks": 5}
    assert listed(s, status="PENDING") == {"num_tasks": 5}
    assert listed(s, upstream_status="UPSTREAM_FAILED") == {"num_tasks": -1}
    assert len(listed(s, limit=False)) == 5
    assert len(listed(s, max_shown_tasks=10)) == 5
    assert listed(s, max_shown_tasks=2, status="PENDING") == {"num_tasks": 5}


def test_over_the_cap_any_upstream_status_answers_minus_one_as_luigi_does():
    s = make(max_shown_tasks=3)
    for i in range(5):
        add(s, f"T{i}")
    # Luigi answers before it looks at the value; so do we.
    assert listed(s, upstream_status="NOT_A_STATUS") == {"num_tasks": -1}
    assert listed(s, status="PENDING", upstream_status="NOT_A_STATUS") == {"num_tasks": -1}


@pytest.mark.parametrize("within", [{"limit": False}, {"max_shown_tasks": 10}, {"search": "T"}])
def test_an_unknown_upstream_status_is_refused_when_tasks_would_be_listed(within):
    s = make(max_shown_tasks=3)
    for i in range(5):
        add(s, f"T{i}")
    with pytest.raises(BadValue, match="upstream_status: unknown value"):
        listed(s, upstream_status="NOT_A_STATUS", **within)


def test_max_shown_tasks_is_exclusive():
    s = make(max_shown_tasks=3)
    for i in range(3):
        add(s, f"T{i}")
    assert len(listed(s)) == 3


def test_max_shown_tasks_applies_to_search_results():
    s = make(max_shown_tasks=2)
    for i in range(4):
        add(s, f"T{i}", family="Fam")
    add(s, "other", family="Zzz")
    assert listed(s, search="fam") == {"num_tasks": 4}
    assert set(listed(s, search="zzz")) == {"other"}


def test_task_list_prunes_first(sched):
    add(sched, "A")
    run(sched)
    finish(sched, "A", status="FAILED", now=T0 + 1)
    sched.ping(worker="w1", now=T0 + 880)
    assert set(listed(sched, status="PENDING", now=T0 + 902)) == {"A"}


# ---------------------------------------------------------------- worker_list

WORKER_KEYS = {
    "name",
    "last_active",
    "started",
    "state",
    "first_task_display_name",
    "num_unread_rpc_messages",
}


def test_worker_list_shape(sched):
    sched.add_worker(worker="w1", info={"host": "h1", "workers": 2, "first_task": "A"}, now=T0)
    add(sched, "A", family="Fam", params={"x": "1"}, now=T0 + 1)
    add(sched, "B", now=T0 + 1)
    add(sched, "C", now=T0 + 1)
    run(sched, now=T0 + 2)
    [entry] = sched.worker_list(now=T0 + 3)
    extra = {"num_running", "num_pending", "num_uniques", "running", "host", "workers"}
    assert set(entry) >= WORKER_KEYS | extra
    assert entry["name"] == "w1"
    assert entry["state"] == "active"
    assert entry["started"] == T0
    assert entry["last_active"] == T0 + 2
    assert entry["host"] == "h1"
    assert entry["first_task_display_name"] == "Fam(x=1)"
    assert entry["num_running"] == 1
    assert entry["num_pending"] == 2
    assert entry["num_uniques"] == 2
    assert set(entry["running"]) == {"A"}
    assert set(entry["running"]["A"]) >= SERIALIZED_KEYS


def test_worker_list_without_running(sched):
    sched.add_worker(worker="w1", info={}, now=T0)
    [entry] = sched.worker_list(include_running=False, now=T0)
    assert set(entry) == WORKER_KEYS


def test_worker_list_first_task_unknown_is_shown_raw(sched):
    sched.add_worker(worker="w1", info={"first_task": "Nope(x=1)"}, now=T0)
    assert sched.worker_list(now=T0)[0]["first_task_display_name"] == "Nope(x=1)"


def test_worker_list_newest_first_and_disabled_state(sched):
    sched.ping(worker="old", now=T0)
    sched.ping(worker="new", now=T0 + 10)
    sched.disable_worker(worker="old", now=T0 + 11)
    entries = sched.worker_list(now=T0 + 12)
    assert [e["name"] for e in entries] == ["new", "old"]
    assert [e["state"] for e in entries] == ["active", "disabled"]


def test_worker_list_counts_pending_and_uniques(sched):
    add(sched, "A", worker="w1")
    add(sched, "B", worker="w1")
    add(sched, "B", worker="w2")
    add(sched, "C", worker="w2", status="FAILED")
    by_name = {e["name"]: e for e in sched.worker_list(now=T0)}
    assert (by_name["w1"]["num_pending"], by_name["w1"]["num_uniques"]) == (2, 1)
    assert (by_name["w2"]["num_pending"], by_name["w2"]["num_uniques"]) == (1, 0)


def test_worker_list_unread_messages(sched):
    sched.ping(worker="w1", now=T0)
    sched.set_worker_processes(worker="w1", n=3, now=T0)
    assert sched.worker_list(now=T0)[0]["num_unread_rpc_messages"] == 1
    sched.ping(worker="w1", now=T0 + 1)
    assert sched.worker_list(now=T0 + 1)[0]["num_unread_rpc_messages"] == 0


def test_worker_info_cannot_override_reserved_keys(sched):
    sched.add_worker(worker="w1", info={"name": "someone-else", "state": "active"}, now=T0)
    sched.disable_worker(worker="w1", now=T0)
    [entry] = sched.worker_list(now=T0)
    assert entry["name"] == "w1"
    assert entry["state"] == "disabled"


# ---------------------------------------------------------------- task_search


def test_task_search_groups_by_status(sched):
    add(sched, "Load_2024")
    add(sched, "Load_2025", status="DONE")
    add(sched, "Other")
    result = sched.task_search(task_str="Load", now=T0)
    assert set(result) == {"PENDING", "DONE"}
    assert set(result["PENDING"]) == {"Load_2024"}
    assert set(result["DONE"]) == {"Load_2025"}
    assert set(result["PENDING"]["Load_2024"]) >= SERIALIZED_KEYS


def test_task_search_is_a_substring_match_on_the_id(sched):
    add(sched, "abc")
    assert sched.task_search(task_str="x", now=T0) == {}
    assert set(sched.task_search(task_str="", now=T0)["PENDING"]) == {"abc"}
    # case-sensitive, as Luigi's str.find
    assert sched.task_search(task_str="ABC", now=T0) == {}


# ---------------------------------------------------------------------- graphs


def chain(s):
    add(s, "A", family="A", deps=["B"])
    add(s, "B", family="B", deps=["C"])
    add(s, "C", family="C", status="DONE")


def test_dep_graph_walks_dependencies(sched):
    chain(sched)
    graph = sched.dep_graph(task_id="A", now=T0)
    assert set(graph) == {"A", "B", "C"}
    assert graph["A"]["deps"] == ["B"]
    assert graph["B"]["deps"] == ["C"]
    assert graph["C"]["deps"] == []
    assert "display_name" in graph["A"]
    assert "display_name" not in graph["B"]
    assert SERIALIZED_KEYS - {"display_name"} <= set(graph["B"])


def test_dep_graph_without_done(sched):
    chain(sched)
    graph = sched.dep_graph(task_id="A", include_done=False, now=T0)
    assert set(graph) == {"A", "B"}
    assert graph["B"]["deps"] == []


def test_dep_graph_unknown_task_is_empty(sched):
    assert sched.dep_graph(task_id="nope", now=T0) == {}
    assert sched.inverse_dep_graph(task_id="nope", now=T0) == {}


def test_dep_graph_placeholder_node_shape(sched):
    add(sched, "A", family="A", deps=["Missing(x=1)"])
    graph = sched.dep_graph(task_id="A", now=T0)
    assert graph["Missing(x=1)"] == {
        "deps": [],
        "status": "UNKNOWN",
        "workers": [],
        "start_time": "UNKNOWN",
        "params": {"task_id": "Missing(x=1)"},
        "name": "Missing",
        "priority": 0,
    }


def test_inverse_dep_graph_walks_dependents(sched):
    chain(sched)
    add(sched, "Z", family="Z", deps=["C"])
    graph = sched.inverse_dep_graph(task_id="C", now=T0)
    assert set(graph) == {"A", "B", "C", "Z"}
    assert graph["C"]["deps"] == ["B", "Z"]
    assert graph["B"]["deps"] == ["A"]
    assert "display_name" in graph["C"]


def test_inverse_dep_graph_without_done(sched):
    add(sched, "A", family="A", deps=["B"], status="DONE")
    add(sched, "B", family="B")
    add(sched, "C", family="C", deps=["B"])
    graph = sched.inverse_dep_graph(task_id="B", include_done=False, now=T0)
    assert set(graph) == {"B", "C"}


def test_graph_contains_every_task(sched):
    chain(sched)
    add(sched, "X", family="X")
    graph = sched.graph(now=T0)
    assert set(graph) == {"A", "B", "C", "X"}


def test_graph_of_a_cycle_terminates(sched):
    add(sched, "A", family="A", deps=["B"])
    add(sched, "B", family="B", deps=["A"])
    assert set(sched.dep_graph(task_id="A", now=T0)) == {"A", "B"}
    assert set(sched.inverse_dep_graph(task_id="A", now=T0)) == {"A", "B"}
    assert set(sched.graph(now=T0)) == {"A", "B"}


def test_max_graph_nodes_caps_the_walk_breadth_first():
    s = make(max_graph_nodes=3)
    add(s, "root", family="R", deps=["a", "b", "c"])
    for name in "abc":
        add(s, name, family="L", deps=[f"{name}{name}"])
    graph = s.dep_graph(task_id="root", now=T0)
    assert len(graph) == 3
    assert "root" in graph
    assert set(graph) <= {"root", "a", "b", "c"}


# ---------------------------------------------------------------- fetch_error


def test_fetch_error_of_a_known_task(sched):
    add(sched, "A", family="Fam", module="m", params={"x": "1", "h": "2"}, param_visibilities={"h": 1})
    run(sched)
    sched.add_task(task_id="A", worker="w1", status="FAILED", expl="Traceback...", now=T0 + 1)
    assert sched.fetch_error(task_id="A", now=T0 + 1) == {
        "taskId": "A",
        "error": "Traceback...",
        "displayName": "Fam(x=1)",
        "taskParams": {"x": "1", "h": "2"},
        "taskModule": "m",
        "taskFamily": "Fam",
    }


def test_fetch_error_of_an_unknown_task(sched):
    assert sched.fetch_error(task_id="nope", now=T0) == {"taskId": "nope", "error": ""}


# ------------------------------------------------------- status message, progress


def test_status_message_round_trip(sched):
    add(sched, "A")
    assert sched.set_task_status_message(task_id="A", status_message="50%", now=T0) is None
    assert sched.get_task_status_message(task_id="A", now=T0) == {"taskId": "A", "statusMessage": "50%"}
    assert listed(sched)["A"]["status_message"] == "50%"


def test_status_message_of_an_unknown_task(sched):
    assert sched.get_task_status_message(task_id="nope", now=T0) == {"taskId": "nope", "statusMessage": ""}


def test_progress_round_trip(sched):
    add(sched, "A")
    assert sched.get_task_progress_percentage(task_id="A", now=T0) == {
        "taskId": "A",
        "progressPercentage": None,
    }
    sched.set_task_progress_percentage(task_id="A", progress_percentage=42.5, now=T0)
    assert sched.get_task_progress_percentage(task_id="A", now=T0)["progressPercentage"] == 42.5
    assert listed(sched)["A"]["progress_percentage"] == 42.5
    sched.set_task_progress_percentage(task_id="A", progress_percentage=0, now=T0)
    sched.set_task_progress_percentage(task_id="A", progress_percentage=100, now=T0)
    assert sched.get_task_progress_percentage(task_id="A", now=T0)["progressPercentage"] == 100


def test_progress_of_an_unknown_task(sched):
    assert sched.get_task_progress_percentage(task_id="nope", now=T0) == {
        "taskId": "nope",
        "progressPercentage": None,
    }


def test_has_task_history(sched):
    assert sched.has_task_history(now=T0) is False
    assert make(record_task_history=True).has_task_history(now=T0) is True


def test_report_task_statistics_accepts_a_struct(sched):
    add(sched, "A")
    assert sched.report_task_statistics(task_id="A", statistics={"rows": 3}, now=T0) is None
