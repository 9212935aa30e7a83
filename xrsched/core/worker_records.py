"""The worker records: created on first contact, looked up by the ids callers name, their
per-task counters (what ``get_work`` replies and ``worker_list`` shows), and the runs lost
when a worker was dropped."""

from __future__ import annotations

from typing import Any

from .changes import ChangeSet
from .config import SchedulerConfig
from .errors import UnknownWorker
from .heaps import DeadlineQueue
from .model import Task, Worker
from .states import FAILED, PENDING, RUNNING
from .validate import identifier


class WorkerRecords:
    """Mixin of :class:`~xrsched.core.state.SchedulerState` that owns ``workers`` and ``lost_runs``."""

    config: SchedulerConfig
    changes: ChangeSet
    deadlines: DeadlineQueue
    workers: dict[str, Worker]
    #: worker id -> ids of the tasks whose run failed when that worker was dropped and that
    #: nobody has run (or finished) since: see :attr:`Task.last_runner`.
    lost_runs: dict[str, set[str]]
    #: worker id -> the one-member tuple shared by every task only that worker registered.
    _solo: dict[str, tuple[str]]

    def known_worker(self, worker_id: Any) -> Worker:
        """The worker record for an id a caller names, or UnknownWorker (404)."""
        record = self.workers.get(identifier("worker", worker_id))
        if record is None:
            raise UnknownWorker(worker_id)
        return record

    def touch_worker(
        self, worker_id: str, now: float, *, reference: dict[str, Any] | None = None, get_work: bool = False
    ) -> Worker:
        """The worker record (created on first contact), marked active at ``now``."""
        worker = self.workers.get(worker_id)
        if worker is None:
            worker = Worker(worker_id, now)
            self.workers[worker_id] = worker
            self.changes.workers.add(worker_id)
            self.changes.removed_workers.discard(worker_id)
            self.deadlines.push(now + self.config.worker_disconnect_delay, "worker", worker_id)
        if reference:
            worker.reference = reference
        worker.last_active = now
        if get_work:
            worker.last_get_work = now
        return worker

    def with_worker(self, members: tuple[str, ...], worker_id: str) -> tuple[str, ...]:
        """``members`` plus ``worker_id``; a lone worker's tuple is shared by all its tasks."""
        if members:
            return (*members, worker_id)
        solo = self._solo.get(worker_id)
        if solo is None:
            solo = self._solo[worker_id] = (worker_id,)
        return solo

    def _count(self, task: Task, sign: int) -> None:
        """Add (sign=1) or withdraw (sign=-1) the task's share of the per-worker counters."""
        status = task.status
        workers = task.workers
        if not workers or status not in (PENDING, FAILED, RUNNING):
            return
        lookup = self.workers.get
        if status == RUNNING:
            for worker_id in workers:
                worker = lookup(worker_id)
                if worker is not None:
                    if sign > 0:
                        worker.reg_running.add(task.id)
                    else:
                        worker.reg_running.discard(task.id)
            return
        counted = status == FAILED or task.blocked == 0
        unique = len(workers) == 1
        last = workers[-1]
        pending = status == PENDING
        for worker_id in workers:
            worker = lookup(worker_id)
            if worker is None:
                continue
            if counted:
                worker.n_pending += sign
                if unique:
                    worker.n_unique += sign
                if worker_id == last:
                    worker.n_last += sign
            if pending:
                worker.n_pend_all += sign
                if unique:
                    worker.n_uniq_all += sign

    def note_lost_run(self, task: Task, worker_id: str) -> None:
        """Remember that ``worker_id`` was running ``task`` when it was dropped (inside an edit)."""
        self.forget_lost_run(task)
        task.last_runner = worker_id
        self.lost_runs.setdefault(worker_id, set()).add(task.id)

    def forget_lost_run(self, task: Task) -> None:
        """Clear ``task``'s lost run, if it has one: it runs again, is DONE, or is gone. O(1)."""
        if task.more is None:
            return
        worker_id = task.last_runner
        if worker_id is None:
            return
        task.last_runner = None
        lost = self.lost_runs.get(worker_id)
        if lost is not None:
            lost.discard(task.id)
            if not lost:
                del self.lost_runs[worker_id]
