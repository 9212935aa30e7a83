"""Handing out work: ``get_work`` with ranking, resources, the fair pass and batching."""

from __future__ import annotations

import hashlib
from typing import Any

from . import validate as v
from .fairness import FairPass
from .heaps import iter_in_order
from .model import Task, Worker, running_copy
from .registration import Registration
from .state import Entry, Sig, signature
from .states import BATCH_RUNNING, PENDING, RUNNING


class Assignment(Registration):
    """``get_work`` and ``count_pending``."""

    def get_work(
        self,
        host: str | None = None,
        assistant: bool = False,
        current_tasks: list[str] | None = None,
        worker: str | None = None,
        brief: bool = False,
        *,
        now: float,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Hand ``worker`` the best runnable task (or a batch) and mark it RUNNING atomically.

        The best task is the highest priority, then oldest, PENDING task whose dependencies
        are all DONE, that the worker registered (any runnable task for an assistant), whose
        resources fit, and whose resources are not held back by the fair pass: walking the
        tasks ranked above it as Luigi does, higher-ranked RUNNING tasks of live workers and
        higher-ranked ready tasks a live worker has a slot for (the asking worker included)
        leave no room for it (see :mod:`xrsched.core.fairness`). With ``current_tasks``, a task the scheduler
        believes this worker runs but the worker does not list is handed back to it (a lost
        reply), and batch members whose batch runner vanished go back to PENDING.
        With ``brief`` (an xrsched addition) the reply leaves out ``running_tasks``: a worker
        asking for several tasks in one multicall needs that list once, not in every answer.

        Cost: O(s log n) for s distinct resource signatures among the worker's ready tasks,
        plus, for the fair pass, O(live workers waiting on the candidates' resources + running
        tasks holding them + fair_lookahead per resource), and O(batch_lookahead) when a
        batch is assembled; never O(all tasks).
        """
        worker_id = v.identifier("worker", worker)
        host = v.optional_text("host", host)
        current = None if current_tasks is None else v.identifiers("current_tasks", current_tasks)
        self.now = now
        if self.config.prune_on_get_work:
            self.run_deadlines()
        record = self.touch_worker(worker_id, now, reference={"host": host} if host else None, get_work=True)
        if record.disabled:
            return _nothing_for(record)
        if assistant:
            record.info["assistant"] = True
        best, members, batched = self._choose(record, current, assistant)
        reply = self.pending_counters(record, running=not brief)
        if best is None:
            reply["task_id"] = None
        elif len(members) > 1:
            reply.update(self._start_batch(worker_id, best, members, batched, now))
        else:
            self._start_run_of(best, worker_id, now)
            reply.update(task_id=best.id, task_family=best.family, task_module=best.module, task_params=best.params)
        return reply

    def _choose(
        self, record: Worker, current: list[str] | None, assistant: bool
    ) -> tuple[Task | None, list[Task], dict[str, list[Any]]]:
        """What to hand out: a run the worker forgot (a lost reply), else the best runnable task
        unless paused, with the batch it heads; ``(None, [], {})`` when there is nothing."""
        if current is not None:
            forgotten = self._forgotten_run(record.id, set(current))
            self._reset_orphaned_batch_members(record.id)
            if forgotten is not None:
                return forgotten, [], {}
        if self.paused:
            return None, [], {}
        best = self._pick(record, assistant)
        if best is None:
            return None, [], {}
        members, batched = self._assemble_batch(record, best, assistant)
        return best, members, batched

    def _start_batch(
        self, worker_id: str, best: Task, members: list[Task], batched: dict[str, list[Any]], now: float
    ) -> dict[str, Any]:
        """Mark ``members`` BATCH_RUNNING for ``worker_id`` under one batch id; the reply's task fields."""
        batch_id = hashlib.md5("|".join(t.id for t in members).encode(), usedforsecurity=False).hexdigest()
        for member in members:
            with self.edit(member):
                member.worker_running = worker_id
                self.set_status(member, BATCH_RUNNING)
                member.batch_id = batch_id
                member.resources_running = running_copy(member.resources)
                member.time_running = now
        params = best.params
        params.update(batched)
        return {
            "task_id": None,
            "task_family": best.family,
            "task_module": best.module,
            "task_params": params,
            "batch_id": batch_id,
            "batch_task_ids": [t.id for t in members],
        }

    def _start_run_of(self, task: Task, worker_id: str, now: float) -> None:
        """Mark ``task`` RUNNING for ``worker_id``."""
        with self.edit(task):
            if task.status != RUNNING:
                # A forgotten run handed back keeps what it holds: recomputing it from
                # the (possibly re-registered) needs could oversubscribe a resource.
                task.resources_running = running_copy(task.resources)
                task.time_running = now
            task.worker_running = worker_id
            self.set_status(task, RUNNING)

    def count_pending(self, worker: str, *, now: float) -> dict[str, Any]:
        """The counters ``get_work`` replies with, for ``worker``, without handing out work. O(running)."""
        worker_id = v.identifier("worker", worker)
        record = self.workers.get(worker_id)
        if record is None:
            return {
                "n_pending_tasks": 0,
                "n_unique_pending": 0,
                "n_pending_last_scheduled": 0,
                "worker_state": "active",
                "running_tasks": [],
            }
        return self.pending_counters(record)

    def pending_counters(self, record: Worker, *, running: bool = True) -> dict[str, Any]:
        """Counters kept incrementally per worker, plus (with ``running``) who runs the worker's
        RUNNING tasks."""
        counters: dict[str, Any] = {
            "n_pending_tasks": record.n_pending,
            "n_unique_pending": record.n_unique,
            "n_pending_last_scheduled": record.n_last,
            "worker_state": record.state,
        }
        if running:
            counters["running_tasks"] = self._running_of(record)
        return counters

    def _running_of(self, record: Worker) -> list[dict[str, Any]]:
        """Who runs each of the worker's registered RUNNING tasks (Luigi's ``running_tasks``)."""
        running: list[dict[str, Any]] = []
        for task_id in record.reg_running:
            runner_id = self.tasks[task_id].worker_running
            runner = self.workers.get(runner_id) if runner_id else None
            if runner is not None:
                info: dict[str, Any] = dict(runner.info)
                info.update(task_id=task_id, worker=runner.id)
                running.append(info)
        return running

    # -------------------------------------------------------------- internals

    def _forgotten_run(self, worker_id: str, current: set[str]) -> Task | None:
        """The best-ranked task RUNNING for this worker that the worker does not list."""
        best: Task | None = None
        for task_id in self.running_by_worker.get(worker_id, ()):
            task = self.tasks[task_id]
            if task.status != RUNNING or task_id in current:
                continue
            if best is None or (task.priority, -task.time, -task.seq) > (
                best.priority,
                -best.time,
                -best.seq,
            ):
                best = task
        return best

    def _reset_orphaned_batch_members(self, worker_id: str) -> None:
        mine = self.running_by_worker.get(worker_id, ())
        live_batches = {self.tasks[t].batch_id for t in mine if self.tasks[t].status == RUNNING}
        for task_id in tuple(mine):
            task = self.tasks[task_id]
            if task.status == BATCH_RUNNING and task.batch_id not in live_batches:
                with self.edit(task):
                    self.set_status(task, PENDING)
                    task.batch_id = None

    def _pick(self, record: Worker, assistant: bool) -> Task | None:
        """The best-ranked of the worker's ready tasks (any runnable one for an assistant) that
        fits the resources free now and passes the fair pass. Only the top of each resource
        signature is a candidate: a lower task needing the same resources fits no better."""
        buckets = self.global_buckets if assistant else record.buckets
        owner = None if assistant else record.id
        candidates: list[tuple[Entry, Sig]] = []
        for sig in tuple(buckets):
            entry = self.top_valid(buckets[sig], owner)
            if entry is None:
                del buckets[sig]
            else:
                candidates.append((entry, sig))
        candidates.sort(key=lambda pair: pair[0][:3])
        fair: FairPass | None = None
        for entry, sig in candidates:
            if not sig:
                return entry[4]
            if not self._fits(sig):
                continue
            if fair is None:
                sigs = [other for _, other in candidates if other]
                fair = FairPass(self, self.now, record.id if assistant else None, sigs)
            if fair.allows(entry, sig):
                return entry[4]
        return None

    def _fits(self, sig: Sig) -> bool:
        used, capacity = self.used, self.resources
        return all(used.get(name, 0) + amount <= capacity.get(name, 1) for name, amount in sig)

    def _assemble_batch(self, record: Worker, best: Task, assistant: bool) -> tuple[list[Task], dict[str, list[Any]]]:
        names, max_size = self.batchers.get(record.id, {}).get(best.family, ((), 1))
        if not names or not best.batchable or max_size <= 1:
            return [best], {}
        best_params = best.params
        if any(name not in best_params for name in names):
            return [best], {}
        batched = {name: [best_params[name]] for name in names}
        fixed = {k: val for k, val in best_params.items() if k not in batched}
        sig = signature(best.resources)
        heap = (self.global_buckets if assistant else record.buckets).get(sig, [])
        owner = None if assistant else record.id
        members = [best]
        chosen = {best.id}
        for entry in iter_in_order(heap, self.config.batch_lookahead):
            if len(members) >= max_size:
                break
            task = entry[4]
            if task.id in chosen or not self.entry_valid(entry, owner):
                continue
            if task.family != best.family or not task.batchable or task.resources != best.resources:
                continue
            params = task.params
            if any(params.get(k) != val for k, val in fixed.items()):
                continue
            members.append(task)
            chosen.add(task.id)
            for name in names:
                batched[name].append(params.get(name))
        return members, batched


def _nothing_for(record: Worker) -> dict[str, Any]:
    """The ``get_work`` reply to a disabled worker: no task, no counters (Luigi's keys: it
    leaves out ``n_pending_last_scheduled`` here)."""
    return {
        "n_pending_tasks": 0,
        "n_unique_pending": 0,
        "running_tasks": [],
        "task_id": None,
        "worker_state": record.state,
    }
