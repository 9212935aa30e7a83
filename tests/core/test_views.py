"""The dashboard's read methods in the core: ``overview``, ``task_page``, ``task_info`` (contract A)."""

from __future__ import annotations

import pytest

from tests.core.conftest import T0, add, finish, make, run
from xrsched.core.errors import BadValue, NotFound
from xrsched.core.sortedkeys import SortedKeys
from xrsched.core.views import MAX_PAGE


def page_ids(s, now=T0 + 10, **kwargs):
    return [row["task_id"] for row in s.task_page(now=now, **kwargs)["tasks"]]


# ------------------------------------------------------------------ overview


def test_overview_counts_by_status_and_family(sched):
    add(sched, "A_1", family="A", deps=["B_1"])
    add(sched, "A_2", family="A", now=T0 + 1)
    add(sched, "B_1", family="B", now=T0 + 2)
    assert run(sched, now=T0 + 3) == "B_1"
    view = sched.overview(now=T0 + 4)
    assert view["tasks"]["total"] == 3
    assert view["tasks"]["by_status"]["PENDING"] == 2
    assert view["tasks"]["by_status"]["RUNNING"] == 1
    assert view["tasks"]["by_status"]["DONE"] == 0
    assert view["tasks"]["by_family"] == {"A": {"PENDING": 2}, "B": {"RUNNING": 1}}
    assert view["workers"] == {"active": 1, "disabled": 0}
    assert view["paused"] is False
    finish(sched, "B_1", now=T0 + 5)
    assert sched.overview(now=T0 + 6)["tasks"]["by_family"]["B"] == {"DONE": 1}


def test_overview_workers_pause_and_resources():
    s = make(resources={"db": 2}, pause_enabled=True)
    add(s, "A", resources={"db": 1, "gpu": 1})
    add(s, "B", worker="w2")
    s.disable_worker("w2", now=T0)
    assert run(s) == "A"
    s.pause(now=T0)
    view = s.overview(now=T0 + 1)
    assert view["workers"] == {"active": 1, "disabled": 1}
    assert view["paused"] is True
    # gpu is not configured: capacity 1, as get_work counts it.
    assert view["resources"] == {"db": {"used": 1, "total": 2}, "gpu": {"used": 1, "total": 1}}


def test_overview_forgets_a_family_whose_tasks_are_gone():
    s = make(remove_delay=10, worker_disconnect_delay=5)
    add(s, "A", family="Fam")
    assert s.overview(now=T0)["tasks"]["by_family"] == {"Fam": {"PENDING": 1}}
    s.prune(now=T0 + 6)  # the worker is dropped, the task loses its last stakeholder
    s.prune(now=T0 + 20)
    assert "A" not in s.tasks
    assert s.overview(now=T0 + 21)["tasks"]["by_family"] == {}


# ----------------------------------------------------------------- task_page


def test_task_page_orders_newest_update_first_then_by_id(sched):
    add(sched, "B", now=T0)
    add(sched, "A", now=T0)
    add(sched, "C", now=T0 + 1)
    assert page_ids(sched) == ["C", "A", "B"]
    assert run(sched, now=T0 + 2) == "B"  # oldest first; RUNNING now, updated at T0 + 2
    assert page_ids(sched) == ["B", "C", "A"]


def test_task_page_filters_by_status_and_family(sched):
    for i in range(6):
        add(sched, f"X_{i}", family="X", now=T0 + i)
        add(sched, f"Y_{i}", family="Y", now=T0 + i)
    assert run(sched, now=T0 + 10) in {"X_0", "Y_0"}
    page = sched.task_page(status="PENDING", family="X", now=T0 + 11)
    assert page["total"] == len([t for t in sched.tasks.values() if t.status == "PENDING" and t.family == "X"])
    assert [row["task_id"] for row in page["tasks"]] == sorted(
        (t.id for t in sched.tasks.values() if t.status == "PENDING" and t.family == "X"),
        key=lambda i: (-sched.tasks[i].updated, i),
    )
    assert page_ids(sched, family="Y", limit=2) == ["Y_5", "Y_4"]
    assert page_ids(sched, family="Y", offset=4, limit=10)[-1] in {"Y_0", "Y_1"}
    assert sched.task_page(family="nope", now=T0 + 11) == {"total": 0, "offset": 0, "limit": 50, "tasks": []}
    assert page_ids(sched, status="RUNNING") == [next(iter(sched.by_status["RUNNING"]))]


def test_task_page_pages_without_gaps_or_repeats(sched):
    for i in range(1234):
        add(sched, f"T_{i:04}", now=T0 + (i % 7))
    seen = []
    for offset in range(0, 1300, 100):
        page = sched.task_page(offset=offset, limit=100, now=T0 + 10)
        assert page["total"] == 1234 and page["offset"] == offset
        seen += [row["task_id"] for row in page["tasks"]]
    assert seen == sorted(sched.tasks, key=lambda i: (-sched.tasks[i].updated, i))
    by_status = []
    for offset in range(0, 1300, 500):
        by_status += page_ids(sched, status="PENDING", offset=offset, limit=500)
    assert by_status == seen


def test_task_page_search_needs_every_word_in_id_or_display_name(sched):
    add(sched, "Load_2024", family="Load", params={"day": "2024-01-01", "table": "Orders"})
    add(sched, "Load_2025", family="Load", params={"day": "2025-01-01", "table": "users"})
    add(sched, "Other", family="Report", params={"table": "orders"})
    assert sorted(page_ids(sched, search="ORDERS")) == ["Load_2024", "Other"]
    assert page_ids(sched, search="orders load") == ["Load_2024"]
    assert page_ids(sched, search="load_2025") == ["Load_2025"]
    assert page_ids(sched, search="orders", family="Report") == ["Other"]
    page = sched.task_page(search="load", limit=1, offset=1, now=T0 + 1)
    assert page["total"] == 2 and len(page["tasks"]) == 1


def test_task_page_search_ignores_hidden_params_and_sees_late_params(sched):
    add(sched, "A", family="A", params={"pub": "sun", "key": "moon"}, param_visibilities={"key": 1})
    assert page_ids(sched, search="moon") == []
    assert page_ids(sched, search="sun") == ["A"]
    add(sched, "B", deps=["C"])  # C is a placeholder: no family, no params yet
    assert page_ids(sched, search="comet") == []
    add(sched, "C", family="Late", params={"p": "comet"}, now=T0 + 1)
    assert page_ids(sched, search="comet") == ["C"]
    assert page_ids(sched, search="late", family="Late") == ["C"]


def test_task_page_rows(sched):
    add(sched, "A", family="Fam", params={"n": 3, "s": "x"}, priority=7)
    assert run(sched, now=T0 + 1) == "A"
    sched.set_task_status_message("A", "half", now=T0 + 2)
    sched.set_task_progress_percentage("A", 50, now=T0 + 2)
    add(sched, "B", now=T0 + 3)
    rows = sched.task_page(now=T0 + 4)["tasks"]
    assert rows[1] == {
        "task_id": "A",
        "family": "Fam",
        "display_name": "Fam(n=3, s=x)",
        "params": {"n": "3", "s": "x"},
        "status": "RUNNING",
        "priority": 7.0,
        "worker_running": "w1",
        "time_running": T0 + 1,
        "last_updated": T0 + 1,
        "status_message": "half",
        "progress_percentage": 50,
    }
    assert set(rows[0]) == {"task_id", "family", "display_name", "params", "status", "priority", "last_updated"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": MAX_PAGE + 1}, "limit: at most 500 tasks per page, got 501"),
        ({"limit": -1}, "limit: must be at least 0"),
        ({"offset": -1}, "offset: must be at least 0"),
        ({"status": "BOGUS"}, "status: unknown status"),
        ({"family": 3}, "family: expected a string"),
        ({"search": ["x"]}, "search: expected a string"),
    ],
)
def test_task_page_refuses_bad_arguments(sched, kwargs, message):
    with pytest.raises(BadValue, match=message):
        sched.task_page(now=T0, **kwargs)


def test_task_page_accepts_the_cap(sched):
    add(sched, "A")
    assert sched.task_page(limit=MAX_PAGE, now=T0)["limit"] == MAX_PAGE


# ----------------------------------------------------------------- task_info


def test_task_info_details(sched):
    add(sched, "Top", family="Top", deps=["Mid"], params={"d": "1"}, module="m.top")
    add(sched, "Mid", family="Mid", deps=["Leaf"], resources={"db": 1})
    add(sched, "Leaf", family="Leaf", tracking_url=None)
    assert run(sched, now=T0 + 1) == "Leaf"
    finish(sched, "Leaf", status="FAILED", now=T0 + 2)
    sched.add_task(task_id="Leaf", worker="w1", status="FAILED", expl="Traceback: boom", now=T0 + 2)
    info = sched.task_info("Mid", now=T0 + 3)
    assert info["deps"] == ["Leaf"] and info["dependents"] == ["Top"]
    assert (info["num_deps"], info["num_dependents"]) == (1, 1)
    assert info["resources"] == {"db": 1} and info["workers"] == ["w1"]
    assert info["time_added"] == T0 and info["history"] == []
    assert "error" not in info and "retry_at" not in info and "worker_running" not in info
    leaf = sched.task_info("Leaf", now=T0 + 3)
    assert leaf["status"] == "FAILED" and leaf["error"] == "Traceback: boom"
    assert leaf["retry_at"] == T0 + 2 + sched.config.retry_delay
    top = sched.task_info("Top", now=T0 + 3)
    assert top["module"] == "m.top" and top["params"] == {"d": "1"} and top["display_name"] == "Top(d=1)"


def test_task_info_says_when_a_disable_lapses():
    s = make(retry_count=1, disable_persist=100)
    add(s, "A")
    assert run(s) == "A"
    finish(s, "A", status="FAILED", now=T0 + 1)
    info = s.task_info("A", now=T0 + 2)
    assert info["status"] == "DISABLED" and info["disabled_until"] == T0 + 101


def test_task_info_unknown_task(sched):
    with pytest.raises(NotFound, match=r"^no such task: Nope$") as caught:
        sched.task_info("Nope", now=T0)
    assert caught.value.code == 404
    with pytest.raises(BadValue):
        sched.task_info("", now=T0)


# ---------------------------------------------------------------- SortedKeys


@pytest.mark.parametrize("bucket", [1, 4, 512])
def test_sorted_keys_against_a_sorted_list(bucket):
    import random

    rng = random.Random(bucket)
    keys = SortedKeys([(rng.random(), str(i)) for i in range(300)], bucket=bucket)
    model = sorted(keys)
    for step in range(5000):
        if model and rng.random() < 0.45:
            key = rng.choice(model)
            keys.remove(key)
            model.remove(key)
        else:
            key = (rng.choice([0.5, rng.random()]), str(step))
            keys.add(key)
            model.append(key)
            model.sort()
    assert list(keys) == model and len(keys) == len(model)
    assert all(len(b) <= 2 * bucket for b in keys._buckets)
    for start in (0, 1, 3, 4, 5, 511, 512, 513, len(model) - 1, len(model), len(model) + 5):
        assert list(keys.iter_from(start)) == model[start:]
    with pytest.raises(KeyError):
        keys.remove((2.0, "absent"))
    with pytest.raises(KeyError):
        SortedKeys().remove((0.0, "x"))
