"""Restarting a scheduler from its records in tests: from the rows, or from a snapshot of older
rows plus the rows changed since (DONE tasks left cold, ``xrsched.core.coldtasks``)."""

from __future__ import annotations

from typing import Any

from xrsched.core import Scheduler
from xrsched.core.coldtasks import TaskTable
from xrsched.core.model import Task
from xrsched.core.restore import meta_of, restore
from xrsched.store import snapshot
from xrsched.store.records import TaskDecoder, decode_meta, decode_worker, encode_meta, encode_task, encode_worker


def records(sched: Scheduler) -> dict[str, Task]:
    """Every task record, a cold one (not built yet) as the task building it now would make."""
    tasks = sched.tasks
    if not isinstance(tasks, TaskTable):
        return dict(tasks)
    return {**{task_id: tasks.peek(task_id) for task_id in tasks.cold_ids()}, **dict(dict.items(tasks))}


def rows_of(sched: Scheduler) -> list[tuple[Any, ...]]:
    """The stored rows of every task, in id order (as a store reads them)."""
    policy = sched.config.retry_policy
    return sorted(encode_task(task, policy) for task in records(sched).values())


def restarted(
    old: Scheduler,
    now: float,
    *,
    via_snapshot: bool,
    drop: str | None = None,
    snapshot_rows: list[tuple[Any, ...]] | None = None,
) -> Scheduler:
    """A fresh scheduler restored from ``old``'s records (without worker ``drop``'s record): from
    the rows, or from a snapshot of ``snapshot_rows`` (default: the rows now) with the rows that
    differ from them on top, as the SQLite store hands them over."""
    policy = old.config.retry_policy
    decoder = TaskDecoder(policy)
    rows = rows_of(old)
    workers = [decode_worker(w.id, encode_worker(w), now) for w in old.workers.values() if w.id != drop]
    meta = decode_meta(encode_meta(meta_of(old)))
    fresh = Scheduler(old.config, resources=dict(old.resources))
    if not via_snapshot:
        restore(fresh, decoder.decode_rows(rows), workers, now=now, **meta)
        return fresh
    before = {row[0]: row for row in (rows if snapshot_rows is None else snapshot_rows)}
    after = {row[0]: row for row in rows}
    changed = {task_id for task_id in before.keys() | after.keys() if before.get(task_id) != after.get(task_id)}
    blob = snapshot.build(sorted(before.values()), TaskDecoder(policy))
    loaded = snapshot.load(blob, decoder, changed, sorted(after[t] for t in changed if t in after))
    tasks = [task for batch in loaded.decoded_batches(decoder, size=3) for task in batch]
    restore(fresh, tasks, workers, now=now, cold=loaded.cold, **meta)
    return fresh
