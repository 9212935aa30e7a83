"""Turning the core's change sets into store batches, and loading the core back from a store."""

from __future__ import annotations

import gc
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any

from xrsched.core.changes import ChangeSet
from xrsched.core.coldtasks import ColdTasks, TaskTable
from xrsched.core.model import Task, Worker
from xrsched.core.restore import meta_of, restore
from xrsched.core.scheduler import Scheduler

from .base import Batch, StateStore, StoreCorrupt
from .records import RecordError, TaskDecoder, decode_meta, decode_worker, encode_meta, encode_task, encode_worker
from .sqlite import SQLiteStore

log = logging.getLogger("xrsched.store")


def encode_changes(core: Scheduler, changes: ChangeSet) -> Batch:
    """The rows to write for a change set, read from the core now (call under the service lock)."""
    batch = Batch()
    tasks = core.tasks
    default_policy = core.config.retry_policy
    for task_id in changes.tasks:
        task = tasks.get(task_id)
        if task is not None:
            batch.task_rows[task_id] = encode_task(task, default_policy)
    batch.removed_tasks = changes.removed_tasks - batch.task_rows.keys()
    workers = core.workers
    for worker_id in changes.workers:
        worker = workers.get(worker_id)
        if worker is not None:
            batch.worker_rows[worker_id] = encode_worker(worker)
    batch.removed_workers = changes.removed_workers - batch.worker_rows.keys()
    if changes.meta:
        batch.meta = encode_meta(meta_of(core))
    for task_id, old, new, when, worker_id in changes.transitions:
        host = None
        record = workers.get(worker_id) if worker_id else None
        if record is not None and record.reference:
            host = record.reference.get("host")
        batch.history.append((task_id, old, new, when, worker_id, host))
    return batch


def load_into(store: StateStore, core: Scheduler, now: float) -> dict[str, int]:
    """Fill an empty core from the store's records; StoreCorrupt names what could not be read.
    Returns the counts of tasks and workers, and ``cold``: the DONE tasks left unbuilt, when
    they came from a snapshot.

    Task rows are read and decoded a batch at a time while :func:`restore` consumes them, so
    each batch is indexed while it is still in the CPU cache. On StoreCorrupt the core is left
    half filled: discard it.

    The garbage collector is paused meanwhile (:func:`collector_paused`).

    From a store's valid snapshot (:mod:`.snapshot`, SQLite), only the tasks not DONE are
    decoded; the DONE ones go to the core unbuilt (:mod:`xrsched.core.coldtasks`).
    """
    decoder = TaskDecoder(core.shared_policy(core.config.retry_policy))
    with collector_paused():
        with _unreadable(store):
            meta = decode_meta(store.load_meta())
            workers = [decode_worker(worker_id, row, now) for worker_id, row in store.iter_workers()]
            loaded = store.load_snapshot(decoder) if isinstance(store, SQLiteStore) else None
        if loaded is None:
            batches = (decoder.decode_rows(rows) for rows in store.iter_task_batches())
        else:
            batches = loaded.decoded_batches(decoder)
        tasks = chain.from_iterable(_guarded(store, batches))
        restore_decoded(core, decoder, tasks, workers, meta, now, loaded.cold if loaded else None)
    log.debug("recovered %d tasks and %d workers from %s", len(core.tasks), len(workers), store.path)
    counts = {"tasks": len(core.tasks), "workers": len(workers)}
    if loaded is not None:  # present: read from the snapshot
        counts["cold"] = core.tasks.cold_count if isinstance(core.tasks, TaskTable) else 0
    return counts


def restore_decoded(
    core: Scheduler,
    decoder: TaskDecoder,
    tasks: Iterable[Task],
    workers: list[Worker],
    meta: dict[str, Any],
    now: float,
    cold: ColdTasks | None,
) -> None:
    """Restore decoded records into the empty ``core`` (:func:`restore`), then hand it what the
    decoder shared among them: the retry policies, and the one-member batches."""
    restore(core, tasks, workers, paused=meta["paused"], resources={**core.resources, **meta["resources"]},
            batchers=meta["batchers"], now=now, cold=cold)  # fmt: skip
    for policy in decoder.policies.values():
        core.shared_policy(policy)
    core._solo.update((members[0], members) for members in decoder.members.values() if len(members) == 1)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the garbage collector while a state is built, then freeze what is alive.

    A million new objects would otherwise trigger collections that scan them all, again and
    again, for nothing; and unfrozen, the first collection after loading would scan every record
    once per generation (a second each at a million tasks). The records hold no reference cycles,
    so reference counting still frees them; a collection first keeps garbage out of the freeze.
    Nothing is frozen when the block raises.
    """
    collecting = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if collecting:
            gc.enable()


def freeze_new_records() -> None:
    """Keep the records built since the last freeze (a slice of the tasks a snapshot left cold)
    out of the collector's full passes, as :func:`load_into` keeps those it loads: collect the
    garbage made since (a short pass: everything older is frozen already), then freeze what is
    left. Without it, a full collection while the cold tasks are built scans every task built
    so far, in whichever call allocated last: 160 ms at 140,000 tasks on a loaded machine, about
    a second at 700,000."""
    gc.collect()
    gc.freeze()


def _guarded(store: StateStore, batches: Iterator[list[Task]]) -> Iterator[list[Task]]:
    """``batches``, with what reading and decoding them raises turned into StoreCorrupt."""
    with _unreadable(store):
        yield from batches


@contextmanager
def _unreadable(store: StateStore) -> Iterator[None]:
    """Turn what a damaged file raises into a StoreCorrupt that names it and says what to do."""
    try:
        yield
    except RecordError as exc:
        raise StoreCorrupt(f"{store.path}: {exc}. Restore a backup with 'xrsched state import'.") from None
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise StoreCorrupt(
            f"{store.path} cannot be read ({exc}). Restore a backup with 'xrsched state import', "
            f"or move the file away to start empty."
        ) from None


def snapshot_rows(core: Scheduler) -> dict[str, Any]:
    """Every record of a core, encoded (for export and tests)."""
    policy = core.config.retry_policy
    return {
        "tasks": {task_id: encode_task(task, policy) for task_id, task in core.tasks.items()},
        "workers": {worker_id: encode_worker(worker) for worker_id, worker in core.workers.items()},
        "meta": encode_meta(meta_of(core)),
    }
