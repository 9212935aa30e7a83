"""SchedulerService: the thread-safe facade over the pure core (DESIGN §1, "service").

It takes the lock, reads the clock once per call, applies the ownership rules for worker
tokens, and calls the core. It holds no scheduling logic of its own. A background thread
runs the incremental prune so timed rules fire even when nobody calls; after a start from a
snapshot it first has the DONE tasks left cold built, a slice per hold of the lock.
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
import time
import typing
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from xrsched.core import PUBLIC_METHODS, READ_ONLY_METHODS, Scheduler
from xrsched.core.errors import BadValue, Unavailable
from xrsched.core.scheduler import MANY_TASK_METHODS
from xrsched.core.states import DISABLED, FAILED, PENDING, RUNNING
from xrsched.health import StoreHealth
from xrsched.requestid import CURRENT_REQUEST_ID
from xrsched.store import Batch, GroupCommitter, StoreUnavailable, encode_changes
from xrsched.store.base import ReplyRow, StateStore
from xrsched.store.durability import freeze_new_records

from .audit_search import audit_page
from .context import CURRENT_CALLER, DEFERRED_DURABILITY
from .observer import ObservedWriter, ServiceObserver
from .ownership import WorkerBindings, check_call
from .replies import DEFAULT_CAPACITY, ReplyCache

_log = logging.getLogger("xrsched.server")
#: The method name under which the background prune's transitions are reported.
MAINTENANCE = "(maintenance)"
#: How many cold tasks (see :mod:`xrsched.core.coldtasks`) one hold of the lock builds: 40 to
#: 60 ms of work on this project's (loaded) test machine, 130 ms at worst.
THAW_SLICE = 10_000
#: The pause between two slices, in which the calls waiting for the lock take it (a released
#: ``threading.Lock`` is not handed to a waiter: the thread that let it go would take it again).
THAW_PAUSE = 0.002


class SchedulerService:
    """Serializes calls into one :class:`~xrsched.core.Scheduler` and keeps its clock."""

    def __init__(
        self,
        core: Scheduler | None = None,
        *,
        clock: Callable[[], float] = time.time,
        maintenance_interval: float = 1.0,
        store: StateStore | None = None,
        reply_capacity: int = DEFAULT_CAPACITY,
        observer: ServiceObserver | None = None,
        audit_path: Path | None = None,
        thaw_slice: int = THAW_SLICE,
    ) -> None:
        if thaw_slice < 1:
            raise ValueError(f"thaw_slice must be at least 1, got {thaw_slice}")
        self.core = core or Scheduler()
        self.store = store
        self.committer: GroupCommitter | None = None
        self._observer = observer
        if store is not None or observer is not None:
            # The store writes every change; an observer alone needs only the status transitions.
            self.core.track_changes(transitions_only=store is None)
        if store is not None:
            self.committer = GroupCommitter(store if observer is None else ObservedWriter(store, observer))
        self._clock = clock
        self._last_now = 0.0
        self._lock = threading.Lock()
        self._bindings = WorkerBindings()
        self.replies = ReplyCache(reply_capacity)
        self._interval = maintenance_interval
        self._thaw_slice = thaw_slice
        #: Whether some tasks may still be cold (only ever goes from True to False, under the lock).
        self._cold = self.core.cold_tasks_left() > 0
        self._thaw_began: float | None = None
        self._cold_at_start = 0
        #: From when a restored worker (whose ``related`` tasks may be cold) can be dropped: the
        #: restore's time plus the disconnect delay. Dropping a worker edits every task it holds.
        self._drops_from = self.core.now + self.core.config.worker_disconnect_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[..., Any]] = {name: self._expose(name) for name in PUBLIC_METHODS}
        self._methods["task_history"] = self.task_history
        self._core_task_info = self._methods["task_info"]
        self._methods["task_info"] = self.task_info
        #: The audit log ``audit_search`` reads (None: auditing is off).
        self.audit_path = audit_path
        self._methods["audit_search"] = self.audit_search

    # ------------------------------------------------------------------ calls

    def now(self) -> float:
        """The wall clock, never going backwards between calls (a stepped clock must not
        move deadlines into the past or future)."""
        now = self._clock()
        if now < self._last_now:
            now = self._last_now
        self._last_now = now
        return now

    def methods(self) -> dict[str, Callable[..., Any]]:
        """Public name → callable with Luigi's signature (no ``now``), for the RPC method table."""
        return dict(self._methods)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a public method by name (what the RPC layer and in-process users do)."""
        try:
            method = self._methods[name]
        except KeyError:
            raise AttributeError(f"no scheduler method {name!r}") from None
        return method(*args, **kwargs)

    def _expose(self, name: str) -> Callable[..., Any]:
        core_function = getattr(Scheduler, name)
        signature = inspect.signature(core_function)
        parameters = [p for p in signature.parameters.values() if p.name not in ("self", "now")]
        public_signature = signature.replace(parameters=parameters)
        positional_names = [p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        hints = typing.get_type_hints(core_function)
        hints.pop("now", None)
        bound_core = getattr(self.core, name)
        bindings = self._bindings
        tasks = self.core.tasks
        batches = self.core.batches
        replies = self.replies
        remembers = name not in READ_ONLY_METHODS
        timer = self._observer if name == "get_work" else None  # get_work's time is reported
        many = name in MANY_TASK_METHODS

        def method(*args: Any, **kwargs: Any) -> Any:
            caller = CURRENT_CALLER.get()
            request_id = CURRENT_REQUEST_ID.get() if remembers else None
            who = caller.identity if caller is not None else ""
            started = time.perf_counter() if timer is not None else 0.0
            if self._cold and (many or self._clock() >= self._drops_from):
                self.build_cold_tasks()  # not inside the call: every other call would wait for it
            with self._lock:
                if request_id is not None:
                    seen, kept = replies.lookup(who, request_id, name)
                    if seen:
                        answer, ticket = kept
                        self._await_durable(name, ticket)
                        return answer
                if caller is not None and caller.restricted:
                    # The RPC layer has checked the arguments already: naming them is enough.
                    arguments = dict(zip(positional_names, args, strict=False))
                    arguments.update(kwargs)
                    check_call(caller, name, arguments, bindings, tasks, batches)
                answer = bound_core(*args, now=self.now(), **kwargs)
                ticket = self._submit_changes(name, self._reply_row(who, request_id, name, answer))
                if request_id is not None:
                    replies.remember(who, request_id, name, (answer, ticket))
            if timer is not None:
                timer.get_work(time.perf_counter() - started)
            self._await_durable(name, ticket)
            return answer

        method.__name__ = name
        method.__qualname__ = f"SchedulerService.{name}"
        method.__doc__ = core_function.__doc__
        method.__signature__ = public_signature  # type: ignore[attr-defined]
        method.__annotations__ = hints
        return method

    # ------------------------------------------------------------- durability

    def _submit_changes(self, name: str, reply: ReplyRow | None = None) -> int:
        """Queue the core's changes for the store and show their transitions to the observer
        (under the lock), with the answer to a request id when the store keeps them; 0 when
        nothing to write. ``name`` is the method that made them."""
        if not self.core.tracking:
            return 0
        changes = self.core.take_changes()
        if self._observer is not None and changes.transitions:
            self._observer.transitions(name, changes.transitions, self.core.tasks)
        if self.committer is None or (not changes and reply is None):
            return 0
        batch = encode_changes(self.core, changes) if changes else Batch()
        if reply is not None:
            batch.replies.append(reply)
        return self.committer.submit(batch)

    def _reply_row(self, who: str, request_id: str | None, name: str, answer: Any) -> ReplyRow | None:
        """The answer to a request id as the store keeps it (JSON), if the store keeps answers."""
        if request_id is None or self.store is None or not self.store.keeps_replies:
            return None
        try:
            encoded = json.dumps(answer, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            _log.warning("the answer to %s is not JSON; a retry across a failover runs it again", name)
            return None
        return (who, request_id, name, encoded, time.time())  # wall time: only for expiry in the store

    def seed_replies(self, rows: list[ReplyRow]) -> None:
        """Remember answers read back from the store (a takeover), oldest first."""
        with self._lock:
            for caller, request_id, method, answer, _when in rows:
                self.replies.remember(caller, request_id, method, (json.loads(answer), 0))

    def _await_durable(self, name: str, ticket: int) -> None:
        """Return once the change is stored (outside the lock); 503 if the store is failing.

        Inside a request that defers durability (see :data:`DEFERRED_DURABILITY`) the ticket is
        only noted: a multicall of 500 registrations then waits for one commit, not 500.
        """
        if not ticket:
            return
        deferred = DEFERRED_DURABILITY.get()
        if deferred is not None:
            deferred.append(ticket)
            return
        self.wait_durable(name, ticket)

    def wait_durable(self, name: str, ticket: int) -> None:
        """Block until every change up to ``ticket`` is stored; Unavailable (503) if it cannot be now."""
        if ticket and self.committer is not None:
            try:
                self.committer.wait(ticket)
            except StoreUnavailable as exc:
                if self.store is not None and self.store.keeps_replies:  # shared: another server may take over
                    raise Unavailable(f"{name}: {exc}; retry it (saved only if this server still leads)") from None
                raise Unavailable(
                    f"{name}: {exc}; the change was applied and will be saved when the store recovers"
                ) from None

    def task_history(self, task_id: str) -> list[dict[str, Any]]:
        """Every recorded status change of a task, oldest first: old and new status, time, worker, host."""
        if not isinstance(task_id, str) or not task_id:
            raise BadValue("task_id: expected a non-empty string")
        if self.store is None:
            return []
        if self.committer is not None:
            self.committer.flush()
        with self._lock:
            return self.store.history(task_id)

    def task_info(self, task_id: str) -> dict[str, Any]:
        """The core's ``task_info`` with ``history`` filled in from the store (see :meth:`task_history`)."""
        info = self._core_task_info(task_id)
        info["history"] = self.task_history(task_id)
        return info

    def audit_search(
        self,
        identity: str | None = None,
        method: str | None = None,
        outcome: str | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> dict[str, Any]:
        """Audit records newest first, filtered: ``identity`` (``token:ops`` or ``ops``),
        ``method`` (exact, or a pattern with ``*``), ``outcome`` (``ok``, ``error`` for anything
        else, or an exact code such as ``"403"``). Returns ``{"records": [...], "next": cursor}``;
        pass ``next`` as ``before`` for the following page (absent: nothing older). ``limit`` is
        1 to 500; one call reads a bounded part of the log, so a page may be short and still have
        a ``next``. Without an audit log: no records and ``"note": "audit log disabled"``."""
        return audit_page(self.audit_path, identity, method, outcome, limit, before)

    def store_health(self) -> StoreHealth:
        """The store part of the health document."""
        if self.store is None:
            return StoreHealth(kind="memory", ok=True)
        return StoreHealth(kind=self.store.kind, ok=self.committer is None or self.committer.healthy)

    def abandon(self) -> None:
        """Stop maintenance and the committer without writing anything more (a leader that
        stepped down: its memory is stale and another server owns the store now)."""
        self.stop()
        if self.committer is not None:
            self.committer.abandon()

    def close(self) -> None:
        """Stop maintenance, write what is pending, close the store."""
        self.stop()
        if self.committer is not None:
            with self._lock:
                ticket = self._submit_changes("shutdown")
            if ticket:
                self._await_durable("shutdown", ticket)
            self.committer.stop()
        if self.store is not None:
            self.store.close()

    # ------------------------------------------------------------ maintenance

    def run_maintenance(self) -> None:
        """Fire due timed rules and forget bindings of workers the core has dropped, except
        those whose lost runs may still be reported (only their token may report them). A silent
        worker dropped edits each task it holds: any left cold are built first, a slice at a time."""
        if self._cold and self._clock() >= self._drops_from:
            self.build_cold_tasks()
        with self._lock:
            core = self.core
            core.prune(now=self.now())
            gone = [w for w in self._bindings.known() if w not in core.workers and w not in core.lost_runs]
            self._bindings.forget(gone)
            self._submit_changes(MAINTENANCE)

    def claims(self) -> dict[str, str]:
        """Worker id → the identity that claimed it (a copy, for operators' tools and tests)."""
        with self._lock:
            return self._bindings.owners()

    def release_claims(self, keep: Collection[str]) -> list[str]:
        """Release the worker ids claimed by identities not in ``keep`` (after a token is revoked
        or loses the worker role), so another token may use them; return the ids released."""
        with self._lock:
            return self._bindings.release_all_but(keep)

    def start(self) -> None:
        """Start the background maintenance thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._maintain, name="xrsched-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the maintenance thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def build_cold_tasks(self, stop: threading.Event | None = None) -> None:
        """Have every task left cold by a start from a snapshot built, ``thaw_slice`` per hold of
        the lock, pausing between slices so that other calls take their turn; returns once none
        is left (or ``stop`` is set). The maintenance thread does this first; a call that may
        look up many tasks (``MANY_TASK_METHODS``) arriving earlier takes part, without
        holding the lock meanwhile."""
        while self._cold:
            with self._lock:
                if not self._cold:
                    return
                if self._thaw_began is None:
                    self._thaw_began = time.monotonic()
                    self._cold_at_start = self.core.cold_tasks_left()
                left = self.core.build_cold_tasks(self._thaw_slice)
                if not left:
                    self._cold = False
                    _log.info(
                        "built the %d DONE tasks restored cold, up to %d per hold of the lock, in %.1fs",
                        self._cold_at_start, self._thaw_slice, time.monotonic() - self._thaw_began,
                    )  # fmt: skip
            freeze_new_records()  # outside the lock: other calls may run while it collects
            if not left:
                return
            if stop is None:
                time.sleep(THAW_PAUSE)
            elif stop.wait(THAW_PAUSE):
                return

    def _maintain(self) -> None:
        try:
            self.build_cold_tasks(self._stop)
        except Exception:  # the next call that needs them builds them (and reports what fails)
            _log.exception("building the tasks restored cold failed")
        while not self._stop.wait(self._interval):
            try:
                self.run_maintenance()
            except Exception:
                _log.exception("maintenance pass failed; will retry in %.1fs", self._interval)

    # ---------------------------------------------------------------- health

    def status_counts(self) -> tuple[dict[str, int], int]:
        """Tasks per status (every status) and the number of workers, for the metrics. O(statuses)."""
        with self._lock:
            core = self.core
            return {status: len(ids) for status, ids in core.by_status.items()}, len(core.workers)

    def counts(self) -> dict[str, int]:
        """Task and worker counts for the health document. O(1)."""
        with self._lock:
            core = self.core
            return {
                "tasks": len(core.tasks),
                "pending": len(core.by_status[PENDING]),
                "running": len(core.by_status[RUNNING]),
                "failed": len(core.by_status[FAILED]),
                "disabled": len(core.by_status[DISABLED]),
                "workers": len(core.workers),
            }
