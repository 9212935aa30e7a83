"""The scheduler's records: a task and a worker, as plain slotted objects.

Only the scheduler mutates them, and only through its indexing helpers, so that the
derived indexes (ready heaps, counters, resource usage) never drift from the records.

A million tasks live in memory at once, so a task keeps in slots only what most tasks hold.
Fields that few tasks ever set (an explanation, a failure record, a batch, messages...) live
in a small dict created on first use (:attr:`Task.more`), read and written through the same
attribute names as the slots; parameters are kept as the compact JSON text the store writes
(:attr:`Task.params_json`) and decoded when read.
"""

from __future__ import annotations

from typing import Any

from .config import RetryPolicy
from .encoding import NO_PARAMS, loads, params_text
from .states import DISABLED, PENDING, WORKER_ACTIVE, WORKER_DISABLED

#: Luigi's parameter visibilities: public parameters show in listings, hidden ones only in
#: ``fetch_error``/``get_work``, private ones never leave the worker.
VISIBILITY_PUBLIC = 0
VISIBILITY_HIDDEN = 1
#: Shared empty resource mapping. Never mutated: tasks replace ``resources`` wholesale.
NO_RESOURCES: dict[str, int] = {}


def running_copy(resources: dict[str, int]) -> dict[str, int]:
    """What a task holds while it runs: a copy of its needs (a decrease changes it in place), or,
    for a task that needs nothing (most), the shared empty mapping instead of 64 B of its own."""
    return dict(resources) if resources else NO_RESOURCES


class _Rare:
    """A task field that few tasks set: kept in :attr:`Task.more`, absent while at its default."""

    __slots__ = ("default", "name")

    def __init__(self, default: Any = None) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, task: Task | None, owner: type | None = None) -> Any:
        if task is None:
            return self
        more = task.more
        return self.default if more is None else more.get(self.name, self.default)

    def __set__(self, task: Task, value: Any) -> None:
        more = task.more
        if value is self.default:
            if more is not None:
                more.pop(self.name, None)
                if not more:
                    task.more = None
        elif more is None:
            task.more = {self.name: value}
        else:
            more[self.name] = value


class Task:
    """One task the scheduler knows: its status, graph edges, ownership and run record."""

    __slots__ = (
        "blocked",
        "deps",
        "family",
        "gen",
        "id",
        "module",
        "more",
        "params_json",
        "priority",
        "remove",
        "resources",
        "resources_running",
        "retry_policy",
        "runnable",
        "seq",
        "stakeholders",
        "status",
        "time",
        "time_running",
        "unmet",
        "updated",
        "worker_running",
        "workers",
    )

    accepts_messages = _Rare(False)
    batch_id = _Rare()
    batchable = _Rare(False)
    expl = _Rare()
    failures = _Rare()
    first_failure_time = _Rare()
    #: The worker whose run was failed because the worker was dropped (silent too long); its
    #: late report of that run is accepted while nobody else runs the task. Cleared when the
    #: task runs again or goes DONE.
    last_runner = _Rare()
    message_responses = _Rare()
    param_visibilities = _Rare()
    progress_percentage = _Rare()
    retry = _Rare()
    scheduler_disable_time = _Rare()
    status_message = _Rare()
    tracking_url = _Rare()

    def __init__(
        self,
        task_id: str,
        status: str,
        now: float,
        seq: int,
        retry_policy: RetryPolicy,
        *,
        deps: tuple[str, ...] = (),
        resources: dict[str, int] | None = None,
        priority: float = 0.0,
        family: str = "",
        module: str | None = None,
        params: dict[str, Any] | None = None,
        param_visibilities: dict[str, int] | None = None,
    ) -> None:
        self.id = task_id
        self.status = status
        # Small collections are tuples: a million tasks with one dependency and one worker
        # each would spend ~200 bytes apiece on sets.
        self.deps: tuple[str, ...] = deps
        #: Workers that keep the task alive (registered it), in registration order.
        self.stakeholders: tuple[str, ...] = ()
        #: Workers that may run the task, in registration order.
        self.workers: tuple[str, ...] = ()
        self.resources: dict[str, int] = resources or NO_RESOURCES
        self.resources_running: dict[str, int] | None = None
        self.priority = priority
        self.family = family
        self.module = module
        #: The parameters as compact JSON (see :attr:`params`): a third of a dict's size.
        self.params_json = params_text(params) if params else NO_PARAMS
        #: The rarely set fields (:data:`RARE_FIELDS`) that differ from their default, or None.
        self.more: dict[str, Any] | None = None
        if param_visibilities:
            self.param_visibilities = param_visibilities
        self.time = now
        self.updated = now
        self.remove: float | None = None
        self.worker_running: str | None = None
        self.time_running: float | None = None
        self.runnable = False
        self.retry_policy = retry_policy
        #: Dependencies that are missing or not DONE (0 means every dependency is DONE).
        self.unmet = 0
        #: Dependencies that are DISABLED or PENDING behind a disabled task.
        self.blocked = 0
        #: Bumped whenever the task (re)enters the ready set, to invalidate older heap entries.
        self.gen = 0
        #: Creation order, the last tie-breaker of the ranking.
        self.seq = seq

    @property
    def params(self) -> dict[str, Any]:
        """The parameters, decoded afresh on each read (changing the dict changes nothing)."""
        text = self.params_json
        return {} if text == NO_PARAMS else loads(text)

    @params.setter
    def params(self, value: dict[str, Any]) -> None:
        self.params_json = params_text(value)

    @property
    def upstream_disabled_flag(self) -> bool:
        """True if this task is DISABLED or PENDING behind a disabled dependency."""
        return self.status == DISABLED or (self.status == PENDING and self.blocked > 0)

    def public_params(self) -> dict[str, Any]:
        """Parameters whose visibility is public (all of them unless visibilities say otherwise)."""
        params = self.params
        vis = self.param_visibilities
        if not vis:
            return params
        return {k: v for k, v in params.items() if vis.get(k, VISIBILITY_PUBLIC) == VISIBILITY_PUBLIC}

    def pretty_id(self) -> str:
        """``Family(a=1, b=2)`` from the public parameters, as Luigi displays tasks."""
        args = ", ".join(f"{k}={v}" for k, v in sorted(self.public_params().items()))
        return f"{self.family}({args})"

    def add_failure(self, now: float) -> None:
        """Record one failure at ``now``."""
        if self.first_failure_time is None:
            self.first_failure_time = now
        if self.failures is None:
            self.failures = []
        self.failures.append(now)

    def num_failures(self, now: float) -> int:
        """Failures within the retry policy's window ending at ``now``."""
        if not self.failures:
            return 0
        horizon = now - self.retry_policy.disable_window
        kept = [t for t in self.failures if t >= horizon]
        self.failures = kept
        return len(kept)

    def has_excessive_failures(self, now: float) -> bool:
        """Whether the retry policy says this task should now be disabled."""
        first = self.first_failure_time
        if first is not None and now >= first + self.retry_policy.disable_hard_timeout:
            return True
        return self.num_failures(now) >= self.retry_policy.retry_count

    def clear_failures(self) -> None:
        """Forget the failure history."""
        self.failures = None
        self.first_failure_time = None


#: The fields kept in :attr:`Task.more` (only while they differ from these defaults).
RARE_FIELDS: dict[str, Any] = {name: field.default for name, field in vars(Task).items() if isinstance(field, _Rare)}


class Worker:
    """A worker process known to the scheduler, with the counters that ``get_work`` replies with."""

    __slots__ = (
        "buckets",
        "disabled",
        "id",
        "info",
        "last_active",
        "last_get_work",
        "n_last",
        "n_pend_all",
        "n_pending",
        "n_uniq_all",
        "n_unique",
        "reference",
        "reg_running",
        "related",
        "rpc_messages",
        "started",
    )

    def __init__(self, worker_id: str, now: float) -> None:
        self.id = worker_id
        self.reference: dict[str, Any] | None = None
        self.last_active = now
        self.last_get_work: float | None = None
        self.started = now
        self.info: dict[str, Any] = {}
        self.disabled = False
        self.rpc_messages: list[dict[str, Any]] = []
        #: Ids of tasks this worker is a stakeholder of or may run.
        self.related: set[str] = set()
        #: Ready heaps of tasks this worker may run, one per resource signature.
        self.buckets: dict[tuple[tuple[str, int], ...], list[Any]] = {}
        # Counters behind get_work's reply (PENDING or FAILED, not behind a disabled task).
        self.n_pending = 0
        self.n_unique = 0
        self.n_last = 0
        # Counters behind worker_list (PENDING only, as Luigi counts them there).
        self.n_pend_all = 0
        self.n_uniq_all = 0
        #: Ids of RUNNING tasks this worker registered (whoever runs them).
        self.reg_running: set[str] = set()

    @property
    def assistant(self) -> bool:
        """Whether the worker declared itself an assistant (may run any runnable task)."""
        return bool(self.info.get("assistant", False))

    @property
    def state(self) -> str:
        """``active`` or ``disabled``."""
        return WORKER_DISABLED if self.disabled else WORKER_ACTIVE

    def processes(self) -> int:
        """How many tasks the worker runs at once, as it declared in ``add_worker``."""
        value = self.info.get("workers", 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return 1
        return value

    def fetch_rpc_messages(self) -> list[dict[str, Any]]:
        """Hand over and forget the queued messages."""
        messages, self.rpc_messages = self.rpc_messages, []
        return messages
