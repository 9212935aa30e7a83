"""What workers tell the scheduler: tasks, their status, themselves, their batchers."""

from __future__ import annotations

from sys import intern
from typing import Any

from . import validate as v
from .config import RetryPolicy
from .encoding import NO_PARAMS, params_text
from .errors import BadValue
from .model import NO_RESOURCES, Task, Worker, running_copy
from .states import BATCH_RUNNING, DONE, FAILED, PENDING, RUNNING, UNKNOWN
from .transitions import Transitions


class Registration(Transitions):
    """``add_task``, ``add_worker``, ``add_task_batcher``, ``ping`` and worker management."""

    def add_task(
        self,
        task_id: str | None = None,
        status: str = PENDING,
        runnable: bool = True,
        deps: list[str] | None = None,
        new_deps: list[str] | None = None,
        expl: str | None = None,
        resources: dict[str, int] | None = None,
        priority: float = 0,
        family: str = "",
        module: str | None = None,
        params: dict[str, Any] | None = None,
        param_visibilities: dict[str, int] | None = None,
        accepts_messages: bool = False,
        assistant: bool = False,
        tracking_url: str | None = None,
        worker: str | None = None,
        batchable: bool | None = None,
        batch_id: str | None = None,
        retry_policy_dict: dict[str, Any] | None = None,
        owners: list[str] | None = None,
        *,
        now: float,
        **kwargs: Any,
    ) -> None:
        """Register or update a task for ``worker``: its status, dependencies, priority, owner.

        Creates the task (and UNKNOWN placeholders for dependencies nobody registered yet).
        Only the worker running a task may change a RUNNING task's status; a DONE task
        ignores PENDING re-registrations for ``stable_done_cooldown_secs``.
        Cost: O(len(deps) + workers of the task) plus O(affected) priority propagation;
        never O(all tasks).
        """
        # Names repeat across a million tasks: interning keeps one copy of each. A task id is
        # kept once by pointing every mention at the id its record holds (see _known_ids).
        worker_id = intern(v.identifier("worker", worker))
        task_id = v.identifier("task_id", task_id)
        status = v.status("status", status)
        dep_list = None if deps is None else self._known_ids(v.identifiers("deps", deps))
        new_dep_list = None if new_deps is None else self._known_ids(v.identifiers("new_deps", new_deps))
        needs = v.resources("resources", resources)
        priority = float(v.number("priority", priority)) or 0.0  # always a double on the wire
        family = intern(v.optional_text("family", family) or "")
        module = v.optional_text("module", module)
        module = intern(module) if module else module
        params_json = params_text(v.mapping("params", params))
        visibilities = v.mapping("param_visibilities", param_visibilities)
        expl = v.optional_text("expl", expl)
        tracking_url = v.optional_text("tracking_url", tracking_url)
        batch_id = v.optional_text("batch_id", batch_id)
        policy = self.shared_policy(self.config.retry_policy.merged(v.mapping("retry_policy_dict", retry_policy_dict)))
        self.now = now

        worker_obj = self.touch_worker(worker_id, now)
        task = self.tasks.get(task_id)
        if worker_obj.disabled and (task is None or task.status != RUNNING):
            return  # a disabled worker registers nothing; it may only report on a run it has
        created = task is None
        if task is None:
            description = (family, module, params_json, visibilities)
            task = self._new_task(task_id, now, policy, dep_list, needs, priority, *description)
            self.changes.transitions.append((task_id, None, PENDING, now, worker_id))  # registered: history starts
        elif status == PENDING and task.status == DONE and now - task.updated < self.config.stable_done_cooldown_secs:
            return  # recently DONE: a PENDING re-registration is stale news

        with self.edit(task):
            if not created:
                self._fill_blank_description(task, family, module, params_json, visibilities)
            not_running_now = task.status not in (RUNNING, BATCH_RUNNING)
            if status == RUNNING and (task.worker_running is None or not_running_now):
                self._start_run(task, worker_id, batch_id, now)
            if task.worker_running != worker_id:
                batch_id = None  # only the worker running the task makes it a batch's runner
            self._take_reported_fields(task, batch_id, accepts_messages, tracking_url, batchable, expl)
            if not_running_now or self._runner_reports(task, worker_id, status, new_dep_list):
                self.set_status(task, status)
            if dep_list is not None:
                self.set_deps(task, dep_list, replace=True)
            if new_dep_list:
                self.set_deps(task, new_dep_list, replace=False)
            task.resources = needs or NO_RESOURCES
            self._enlist(task, worker_obj, runnable and status != FAILED, assistant)
            task.retry_policy = policy

        if not worker_obj.disabled and not assistant:
            self._add_placeholders(task, worker_id, priority)
        self.update_priority(task, priority)

    def _new_task(
        self,
        task_id: str,
        now: float,
        policy: RetryPolicy,
        dep_list: list[str] | None,
        needs: dict[str, int],
        priority: float,
        family: str,
        module: str | None,
        params_json: str,
        visibilities: dict[str, Any],
    ) -> Task:
        """Create a PENDING task as first registered (its status is applied afterwards)."""
        task = Task(
            task_id,
            PENDING,
            now,
            self.next_seq(),
            policy,
            deps=tuple(sorted(set(dep_list))) if dep_list else (),
            resources=needs,
            priority=priority,
            family=family,
            module=module,
            param_visibilities=visibilities,
        )
        task.params_json = params_json
        self.create_task(task)
        return task

    @staticmethod
    def _fill_blank_description(
        task: Task, family: str, module: str | None, params_json: str, visibilities: dict[str, Any]
    ) -> None:
        """The first registration that names them sets family, module, params and visibilities
        (a placeholder has none); later ones do not change them."""
        if not task.family:
            task.family = family
        if not task.module:
            task.module = module
        if not task.param_visibilities and visibilities:
            task.param_visibilities = visibilities
        if task.params_json == NO_PARAMS:
            task.params_json = params_json

    def _known_ids(self, ids: list[str]) -> list[str]:
        """``ids``, each replaced by the id string of the task it names (if known): one copy of
        an id serves the task table, the indexes and every dependent's ``deps``."""
        tasks = self.tasks
        return [task.id if (task := tasks.get(task_id)) is not None else task_id for task_id in ids]

    def _start_run(self, task: Task, worker_id: str, batch_id: str | None, now: float) -> None:
        """``worker_id`` reports it runs ``task``; a batch member runs with the batch's resources."""
        task.worker_running = worker_id
        if batch_id:
            members = self.batches.get(batch_id)
            if members:
                first = self.tasks[next(iter(members))]
                task.resources_running = running_copy(first.resources_running or first.resources)
        task.time_running = now

    def _take_reported_fields(
        self,
        task: Task,
        batch_id: str | None,
        accepts_messages: bool,
        tracking_url: str | None,
        batchable: bool | None,
        expl: str | None,
    ) -> None:
        """The fields every registration carries; tracking URL and explanation reach batch members too."""
        if batch_id is not None:
            task.batch_id = batch_id
        task.accepts_messages = bool(accepts_messages)
        if tracking_url is not None or task.status != RUNNING:
            task.tracking_url = tracking_url
            self._for_batch_members(task, "tracking_url", tracking_url)
        if batchable is not None:
            task.batchable = bool(batchable)
        task.remove = None
        if expl is not None:
            task.expl = expl
            self._for_batch_members(task, "expl", expl)

    @staticmethod
    def _runner_reports(task: Task, worker_id: str, status: str, new_deps: list[str] | None) -> bool:
        """Whether ``worker_id`` may change the status of the running ``task``: only its runner,
        with an outcome, a (re)start, or new dynamic dependencies."""
        return task.worker_running == worker_id and (status in (DONE, FAILED, RUNNING) or bool(new_deps))

    def _enlist(self, task: Task, worker_obj: Worker, runnable: bool, assistant: bool) -> None:
        """The worker becomes a stakeholder (unless an assistant) and, if it can run the task, one of its workers."""
        worker_id = worker_obj.id
        if worker_obj.disabled:
            return
        if not assistant and worker_id not in task.stakeholders:
            task.stakeholders = self.with_worker(task.stakeholders, worker_id)
            worker_obj.related.add(task.id)
        if runnable:
            task.runnable = True
            if worker_id not in task.workers:
                task.workers = self.with_worker(task.workers, worker_id)
                worker_obj.related.add(task.id)
                self.note_worker_added(task, worker_id)

    def _add_placeholders(self, task: Task, worker_id: str, priority: float) -> None:
        """Make each dependency known (UNKNOWN until a worker registers it) and held by ``worker_id``."""
        worker = self.workers[worker_id]
        for dep_id in task.deps:
            dep = self.tasks.get(dep_id)
            if dep is None:
                dep = Task(dep_id, UNKNOWN, self.now, self.next_seq(), self.config.retry_policy, priority=priority)
                self.create_task(dep)
            if worker_id not in dep.stakeholders:
                with self.edit(dep):
                    dep.stakeholders = self.with_worker(dep.stakeholders, worker_id)
                    dep.remove = None
                worker.related.add(dep_id)

    def _for_batch_members(self, task: Task, attribute: str, value: Any) -> None:
        if task.batch_id is None:
            return
        for member_id in self.batches.get(task.batch_id, ()):
            member = self.tasks[member_id]
            setattr(member, attribute, value)
            self.mark_task(member)

    def add_worker(self, worker: str, info: Any, *, now: float, **kwargs: Any) -> None:
        """Record facts a worker reports about itself (host, processes, assistant, ...). O(len(info))."""
        worker_id = v.identifier("worker", worker)
        if isinstance(info, dict):
            items = list(info.items())
        elif isinstance(info, list | tuple):
            items = []
            for pair in info:
                if not isinstance(pair, list | tuple) or len(pair) != 2 or not isinstance(pair[0], str):
                    raise BadValue("info: expected a struct or a list of [name, value] pairs")
                items.append((pair[0], pair[1]))
        else:
            raise BadValue("info: expected a struct or a list of [name, value] pairs")
        self.now = now
        record = self.touch_worker(worker_id, now)
        record.info.update(items)
        self.mark_worker(record)

    def add_task_batcher(
        self,
        worker: str,
        task_family: str,
        batched_args: list[str],
        max_batch_size: float | None = None,
        *,
        now: float,
    ) -> None:
        """Declare that ``worker`` runs tasks of ``task_family`` in batches over ``batched_args``. O(1)."""
        worker_id = v.identifier("worker", worker)
        family = v.identifier("task_family", task_family)
        names = v.identifiers("batched_args", batched_args)
        size = float("inf") if max_batch_size is None else float(v.number("max_batch_size", max_batch_size, minimum=1))
        self.now = now
        self.touch_worker(worker_id, now)
        self.batchers.setdefault(worker_id, {})[family] = (tuple(names), size)
        self.mark_meta()

    def announce_scheduling_failure(
        self,
        task_name: str = "",
        family: str = "",
        params: dict[str, Any] | None = None,
        expl: str = "",
        owners: list[str] | None = None,
        *,
        now: float,
        **kwargs: Any,
    ) -> None:
        """A worker could not even schedule a task (e.g. ``complete()`` raised).

        Luigi only uses this for batched e-mails; xrsched keeps the worker alive and
        leaves reporting to the server log and audit trail. O(1).
        """
        worker = kwargs.get("worker")
        if worker is not None:
            self.touch_worker(v.identifier("worker", worker), now)

    def ping(self, worker: str | None = None, *, now: float, **kwargs: Any) -> dict[str, Any]:
        """Keep ``worker`` alive and hand it its queued messages. O(messages)."""
        worker_id = v.identifier("worker", worker)
        self.now = now
        record = self.touch_worker(worker_id, now)
        if record.rpc_messages:
            self.mark_worker(record)
        return {"rpc_messages": record.fetch_rpc_messages()}

    def disable_worker(self, worker: str, *, now: float) -> None:
        """Stop giving ``worker`` work: it is taken off every task it could run (it stays a
        stakeholder). An unknown id is recorded as a disabled worker, so it gets nothing when it
        connects. O(tasks related to the worker)."""
        worker_id = v.identifier("worker", worker)
        self.now = now
        record = self.workers.get(worker_id)
        if record is None:
            record = self.touch_worker(worker_id, now)
        record.disabled = True
        self.mark_worker(record)
        for task_id in tuple(record.related):
            task = self.tasks.get(task_id)
            if task is not None and worker_id in task.workers:
                with self.edit(task):
                    task.workers = tuple(w for w in task.workers if w != worker_id)
        self.drop_worker_heaps(record)

    def set_worker_processes(self, worker: str, n: int, *, now: float) -> None:
        """Ask ``worker`` (through its next ``ping``) to run ``n`` processes. O(1)."""
        record = self.known_worker(worker)
        count = v.whole("n", n, minimum=1)
        record.rpc_messages.append({"name": "set_worker_processes", "kwargs": {"n": count}})
        self.mark_worker(record)
