"""Status transitions and time-driven maintenance: the rules every public method relies on."""

from __future__ import annotations

from .model import Task, Worker
from .state import SchedulerState
from .states import ACTIVE_RUN_STATUSES, BATCH_RUNNING, DISABLED, DONE, FAILED, PENDING, RUNNING


class Transitions(SchedulerState):
    """Luigi's status rules, applied through the indexing discipline of :class:`SchedulerState`."""

    def set_status(self, task: Task, new_status: str) -> None:
        """Move ``task`` to ``new_status`` under the guards of DESIGN §4.

        * a RUNNING task is never disabled from outside (it must finish first);
        * a task disabled by the scheduler stays disabled until re-enabled or until
          ``disable_persist`` passes, except that DONE re-enables it;
        * failures count toward the retry policy and may disable the task;
        * the end of a batch runner's run ends its batch members' runs too.
        """
        now = self.now
        if new_status == DISABLED and task.status in (RUNNING, BATCH_RUNNING):
            return
        remove_on_failure = task.batch_id is not None and not task.batchable
        if task.status == DISABLED:
            if new_status == DONE:
                with self.edit(task):
                    task.scheduler_disable_time = None
                    task.clear_failures()
            elif task.scheduler_disable_time is not None and new_status != DISABLED:
                return
        if task.status == RUNNING and task.batch_id is not None and new_status != RUNNING:
            for member_id in tuple(self.batches.get(task.batch_id, ())):
                member = self.tasks[member_id]
                self.set_status(member, new_status)
                with self.edit(member):
                    member.batch_id = None
            with self.edit(task):
                task.batch_id = None
        with self.edit(task):
            if new_status == FAILED and task.status != DISABLED:
                task.add_failure(now)
                if task.has_excessive_failures(now):
                    task.scheduler_disable_time = now
                    new_status = DISABLED
                    self.deadlines.push(now + self.config.disable_persist, "reenable", task.id)
            elif new_status == DISABLED:
                task.scheduler_disable_time = None
            if new_status in (RUNNING, BATCH_RUNNING, DONE):
                self.forget_lost_run(task)  # a new run, or an outcome: the lost run is history
            if new_status != task.status:
                self.changes.transitions.append((task.id, task.status, new_status, now, task.worker_running))
                task.status = new_status
                task.updated = now
            if new_status == FAILED:
                task.retry = now + self.config.retry_delay
                if self.config.retry_delay >= 0:
                    self.deadlines.push(task.retry, "retry", task.id)
                if remove_on_failure:
                    task.remove = now
                    self.deadlines.push(now, "remove", task.id)

    def re_enable(self, task: Task) -> None:
        """Lift a scheduler-imposed disable: the task becomes FAILED with a clean failure record
        and is retried after ``retry_delay``."""
        with self.edit(task):
            task.scheduler_disable_time = None
            task.clear_failures()
            self.set_status(task, FAILED)
            task.clear_failures()

    def update_priority(self, task: Task, priority: float) -> None:
        """Raise the priority of ``task`` and, transitively, of every dependency below it.

        Priorities only go up. Iterative, so a 200,000-task chain cannot overflow the stack;
        each task is raised at most once per call.
        """
        stack = [(task, priority)]
        while stack:
            current, prio = stack.pop()
            if prio <= current.priority and current is not task:
                continue
            if prio > current.priority:
                with self.edit(current):
                    current.priority = prio
            prio = current.priority
            for dep_id in current.deps:
                dep = self.tasks.get(dep_id)
                if dep is not None and prio > dep.priority:
                    stack.append((dep, prio))

    # ------------------------------------------------------------ maintenance

    def run_deadlines(self) -> int:
        """Apply every timed rule that has fallen due by ``self.now``; returns how many fired.

        Cost is O(k log n) for k due entries: silent workers are dropped (their RUNNING tasks
        fail), FAILED tasks whose retry time passed go back to PENDING, tasks without
        stakeholders are removed after ``remove_delay``, disables lapse after ``disable_persist``.
        """
        now = self.now
        config = self.config
        fired = 0
        while True:
            item = self.deadlines.pop_due(now)
            if item is None:
                return fired
            _, kind, key = item
            if kind == "worker":
                worker = self.workers.get(key)
                if worker is None:  # a runner restored without its record, still silent
                    self.fail_runs_of(key)
                    continue
                deadline = worker.last_active + config.worker_disconnect_delay
                if deadline < now:
                    self.remove_worker(worker)
                    fired += 1
                else:
                    self.deadlines.push(deadline, kind, key)
                continue
            task = self.tasks.get(key)
            if task is None:
                continue
            if kind == "retry":
                if task.status != FAILED or task.retry is None or config.retry_delay < 0:
                    continue
                if task.retry < now:
                    self.set_status(task, PENDING)
                    fired += 1
                else:
                    self.deadlines.push(task.retry, kind, key)
            elif kind == "remove":
                if task.remove is None:
                    continue
                if task.remove < now:
                    self.delete_task(task)
                    fired += 1
                else:
                    self.deadlines.push(task.remove, kind, key)
            elif kind == "reenable":
                since = task.scheduler_disable_time
                if task.status != DISABLED or since is None:
                    continue
                if since + config.disable_persist < now:
                    self.re_enable(task)
                    fired += 1
                else:
                    self.deadlines.push(since + config.disable_persist, kind, key)

    def remove_worker(self, worker: Worker) -> None:
        """Forget a worker: it stops being a stakeholder and runner, and its runs fail.

        O(tasks related to the worker), never O(all tasks).
        """
        worker_id = worker.id
        for task_id in tuple(worker.related):
            task = self.tasks.get(task_id)
            if task is None:
                continue
            with self.edit(task):
                task.stakeholders = tuple(w for w in task.stakeholders if w != worker_id)
                task.workers = tuple(w for w in task.workers if w != worker_id)
        self.drop_worker_heaps(worker)
        del self.workers[worker_id]
        self._solo.pop(worker_id, None)
        self.changes.workers.discard(worker_id)
        self.changes.removed_workers.add(worker_id)
        if self.batchers.pop(worker_id, None) is not None:
            self.mark_meta()
        self.fail_runs_of(worker_id)

    def fail_runs_of(self, worker_id: str) -> None:
        """Fail the tasks ``worker_id`` runs: it was dropped, or never came back after a restart
        that recovered its runs without its record. Each failed task remembers ``worker_id`` as
        its last runner, whose late report of the run stays acceptable while nobody else runs
        it (as Luigi accepts it). O(its runs)."""
        for task_id in tuple(self.running_by_worker.get(worker_id, ())):
            task = self.tasks.get(task_id)
            # A batch runner failing fails its members too: don't fail them twice.
            if task is None or task.worker_running != worker_id or task.status not in ACTIVE_RUN_STATUSES:
                continue
            with self.edit(task):
                self.set_status(task, FAILED)
                task.worker_running = None
                self.note_lost_run(task, worker_id)
