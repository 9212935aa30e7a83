"""A load from PostgreSQL leaves DONE tasks unbuilt (split from the rows as they are read), and
is exactly the state a full decode of the same records gives: every record, every index, and
the replies to the same calls afterwards."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tests.store.test_recovery import CONFIG, Clock, build_rich_state, comparable
from tests.store.test_snapshot import view
from xrsched.core import Scheduler
from xrsched.core.coldtasks import TaskTable
from xrsched.service import SchedulerService
from xrsched.store import SQLiteStore, load_into
from xrsched.store.durability import snapshot_rows
from xrsched.store.exchange import export_state, import_state
from xrsched.store.pgurl import parse_store_url
from xrsched.store.postgres import PostgresStore


def loaded(store: PostgresStore | SQLiteStore, now: float) -> tuple[Scheduler, dict[str, int]]:
    core = Scheduler(dataclasses.replace(CONFIG, worker_disconnect_delay=60), {"db": 2})
    return core, load_into(store, core, now)


def a_state_with_done_tasks(url: str, clock: Clock) -> None:
    """``build_rich_state`` plus DONE tasks with dependencies, one whose worker is gone (a removal
    time stored with it), one with fields away from their defaults."""
    store = PostgresStore(parse_store_url(url))
    core, _ = loaded(store, clock())
    service = SchedulerService(core, clock=clock, store=store)
    build_rich_state(service, clock)
    call = service.call
    call("unpause")
    call("add_task", task_id="F", worker="w1", family="Fam", status="DONE", deps=["B"])
    call("add_task", task_id="G", worker="w1", family="Fam", status="DONE", deps=["B", "F", "X"], priority=3)
    call("add_task", task_id="H", worker="w3", family="Other", status="DONE", deps=["F"])
    call("add_task", task_id="K", worker="w1", status="DONE", retry_policy_dict={"retry_count": 7})
    clock.now += 61  # w3 goes silent past worker_disconnect_delay: it is dropped, H gets a removal time
    for worker in ("w1", "w2"):
        call("ping", worker=worker)
    call("prune")
    assert service.core.tasks["H"].remove is not None and "w3" not in service.core.workers
    service.close()
    clock.now += 5  # a load now would give H another removal time than the one it keeps


def full_decode(url: str, tmp_path: Path, now: float) -> Scheduler:
    """The same records loaded with every task built: exported, imported into SQLite (no snapshot)."""
    source = PostgresStore(parse_store_url(url))
    export_state(source, tmp_path / "export.json")
    source.close()
    target = SQLiteStore(tmp_path / "rows.sqlite3")
    import_state(target, tmp_path / "export.json")
    core, counts = loaded(target, now)
    target.close()
    assert "cold" not in counts and not isinstance(core.tasks, TaskTable)
    return core


def test_done_tasks_stay_cold_and_the_state_is_the_full_decode(pg_url, tmp_path):
    clock = Clock()
    a_state_with_done_tasks(pg_url, clock)
    store = PostgresStore(parse_store_url(pg_url))
    core, counts = loaded(store, clock())
    eager = full_decode(pg_url, tmp_path, clock())
    assert isinstance(core.tasks, TaskTable)
    assert sorted(core.tasks.cold_ids()) == ["B", "F", "G", "H", "K"] and counts["cold"] == 5
    assert counts["tasks"] == len(eager.tasks) == 10  # X: a dependency nobody registered
    assert view(core) == view(eager)
    assert core.tasks.peek("H").remove == eager.tasks["H"].remove is not None
    assert comparable(snapshot_rows(core)) == comparable(snapshot_rows(eager))
    store.close()


def test_the_same_calls_after_a_load_get_the_same_replies(pg_url, tmp_path):
    clock = Clock()
    a_state_with_done_tasks(pg_url, clock)
    store = PostgresStore(parse_store_url(pg_url))
    lazy, _ = loaded(store, clock())
    eager = full_decode(pg_url, tmp_path, clock())
    twins = [SchedulerService(lazy, clock=clock), SchedulerService(eager, clock=clock)]

    def both(method: str, *args: Any, **kwargs: Any) -> Any:
        replies = [service.call(method, *args, **kwargs) for service in twins]
        assert replies[0] == replies[1], method
        assert view(lazy) == view(eager), method
        return replies[0]

    clock.now += 3600  # past the cooldown that keeps a DONE task DONE
    both("add_task", task_id="F", worker="w1", status="PENDING", deps=["B"])  # a cold task changed
    assert isinstance(lazy.tasks, TaskTable) and "K" in lazy.tasks.cold_ids() and "F" not in lazy.tasks.cold_ids()
    both("add_task", task_id="N", worker="w2", deps=["G", "K"])
    both("get_work", worker="w1", host="h1")
    both("get_work", worker="w2", host="h2")
    both("dep_graph", task_id="G")
    clock.now += CONFIG.remove_delay + 1
    both("prune")  # H, cold, nobody holds it: removed on time
    assert "H" not in lazy.tasks
    both("task_list", status="DONE")
    for service in twins:
        service.close()
    store.close()
