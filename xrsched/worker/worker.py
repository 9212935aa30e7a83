"""The worker: register a task graph, then ask the scheduler for work and run it in child processes.

One main thread drives everything: it walks and registers the graph (:mod:`.registrar`,
:mod:`.registration`), then loops: report what children finished and ask for work for its idle
children in *one* ``system.multicall`` request (sized by :mod:`.asking`, which may also hold a
few tasks ahead while tasks are short), hand the tasks out, wait for children, signals or
heartbeat messages. The heartbeat (:mod:`.heartbeat`) pings from its own thread. Children
(:mod:`.pool`, :mod:`.runner`) run one task at a time.

When to stop (Luigi's rules, simplified): after a ``get_work`` that handed out nothing, with
nothing running here, the worker stops unless tasks it registered are running on other workers
(their end may unblock ours). With ``keep_alive`` it also stays while the scheduler counts
pending tasks of ours (``n_pending_tasks``), waiting for retries of failed tasks, for other
workers' tasks, or for inputs; an assistant with ``keep_alive`` never stops by itself. Before
it stops, it takes back unfinished tasks the scheduler no longer holds for it because it was
dropped meanwhile (:mod:`.reclaim`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import replace
from typing import Any

from xrsched.client.errors import ClientError
from xrsched.client.retrying import Patience

from .asking import LINGER, AskSizer, linger_for, prefetch_slots
from .batches import open_batch, unopened_batch_reports
from .control import ControlMixin
from .heartbeat import Heartbeat
from .link import Call, as_link
from .pool import ChildPool
from .reclaim import ReclaimMixin
from .registrar import RegistrarMixin
from .registration import CompletenessChecker
from .runner import ChildOptions
from .settings import WorkerSettings
from .signals import SignalState, Wakeup
from .summary import GraphIndex, RunSummary, summarize

log = logging.getLogger("xrsched.worker")

#: Shortest pause between two asks for work when nothing could be handed out (seconds).
MIN_WAIT = 0.05


def new_worker_id(host: str) -> str:
    """A fresh worker id: host, process id and a random suffix (workers never share ids)."""
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Worker(RegistrarMixin, ControlMixin, ReclaimMixin):
    """Runs tasks for a scheduler (a RemoteScheduler or an in-process SchedulerService).

    Use as a context manager: ``with Worker(scheduler, processes=4) as w: w.add(task); w.run()``.
    ``add`` registers tasks and everything they need; ``run`` works until there is nothing left
    for this worker and returns a :class:`~xrsched.worker.summary.RunSummary` (``exit_code``).
    Arguments left as None come from ``settings``. ``preload_main=False`` keeps the fork
    server from importing the main script (when tasks live in modules, as with ``xrsched run``).
    """

    def __init__(
        self,
        scheduler: Any,
        worker_id: str | None = None,
        processes: int | None = None,
        assistant: bool | None = None,
        keep_alive: bool | None = None,
        *,
        settings: WorkerSettings | None = None,
        host: str | None = None,
        handle_signals: bool = True,
        preload_main: bool = True,
    ) -> None:
        base = settings or WorkerSettings()
        overrides = {"workers": processes, "assistant": assistant, "keep_alive": keep_alive, "worker_id": worker_id}
        self.settings = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        self.link = as_link(scheduler)
        self.host = host or socket.gethostname()
        self.worker_id = self.settings.worker_id or new_worker_id(self.host)
        self.processes = self.settings.workers
        self.index = GraphIndex()
        #: Last outcome of each task run here: "done" or "failed".
        self.outcomes: dict[str, str] = {}
        self.summary: RunSummary | None = None
        self._outgoing: list[Call] = []
        #: Threads sending the rest of pipelined registrations (``add(..., pipelined=True)``).
        self._registrars: list[threading.Thread] = []
        self._root_tasks: list[Any] = []
        self._reclaim_armed = True
        #: Set once ``run`` has asked for work the first time (the registrars wait for it).
        self._first_asked = threading.Event()
        self._hold_asks = threading.Event()
        self._coalesced: dict[tuple[str, str], Call] = {}
        self._fields: dict[str, dict[str, Any]] = {}
        self._inbox: deque[dict[str, Any]] = deque()
        self._wakeup = Wakeup()
        self._signals = SignalState(self._wakeup)
        self._handle_signals = handle_signals
        self._preload_main = preload_main
        self._started_children = False
        self._checker = CompletenessChecker(self.settings.check_threads)
        options = ChildOptions(
            check_complete_on_run=self.settings.check_complete_on_run,
            check_threads=self.settings.check_threads,
            log_level="WARNING",
            check_complete_before_run=self.settings.check_complete_before_run,
        )
        self._pool = ChildPool(self.settings.start_method, options, self.settings.max_tasks_per_child)
        self._heartbeat = Heartbeat(self.link, self.worker_id, self.settings.ping_interval, self._receive)
        self._announced = False
        self._batch_families: set[str] = set()
        #: Combined task id -> ids of the batch members it runs for (until its outcome is reported).
        self._batches: dict[str, list[str]] = {}
        self._last_reply: dict[str, Any] = {}
        #: Bounds a scheduler outage as a whole, retries included (None for an in-process scheduler).
        self._patience = self._bound_outages(self.link, self.settings.unreachable_timeout)
        #: Set when the worker gave up on the scheduler (unreachable for unreachable_timeout, or refusing us).
        self.lost_scheduler = False
        self._stop_reason = ""
        self._drain_started: float | None = None
        self._asks = AskSizer(self.processes)
        #: get_work replies handed to us while no child was idle (fetched ahead), oldest first.
        self._queue: deque[dict[str, Any]] = deque()
        #: Running estimate of how long this worker's tasks take (None until one has finished).
        self._task_seconds: float | None = None
        self._lock = threading.Lock()
        self._news = False

    @staticmethod
    def _bound_outages(link: Any, limit: float) -> Patience | None:
        """Give a remote client a :class:`Patience` of ``limit`` seconds (shared by the main loop,
        the heartbeat and the registrars), so no call retries past it and an outage logs a few lines."""
        if not hasattr(link, "patience"):
            return None
        link.patience = Patience(limit)
        return link.patience

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Worker:
        if self._handle_signals:
            self._signals.install()
        self._heartbeat.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        for thread in self._registrars:
            thread.join(timeout=60.0)
        self._heartbeat.stop()
        self._pool.close(kill=exc_type is not None or self._signals.hurried)
        self._checker.close()
        self._signals.restore()
        self._wakeup.close()

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> RunSummary:
        """Ask for work and run it until nothing is left for us; the summary says how it went."""
        self._start_children([])
        self._pool.ready()
        if not self._announced:
            self._outgoing.append(("add_worker", {"worker": self.worker_id, "info": self._worker_info()}))
            self._announced = True
        delay = MIN_WAIT
        next_ask = 0.0  # when to ask again although nothing changed (backoff while nothing is runnable)
        while True:
            if self._gave_up():
                break
            self._apply_control()
            self._dispatch_queued()
            # Read before the asks are decided: a registration that ends after this point is
            # seen on the next turn, which asks for what it registered (see ``idle`` below).
            registering = self._registering()
            busy = self._pool.busy()
            stopping = self._stopping()
            ahead = prefetch_slots(self.processes, self._task_seconds, self.settings.prefetch_below)
            slots = min(self.processes - len(busy), len(self._idle())) + ahead - len(self._queue)
            free = 0 if stopping or self._hold_asks.is_set() else max(0, slots)
            # A report (DONE, FAILED, new dependencies) or newly registered tasks may make tasks
            # runnable: ask at once. Otherwise ask only when the backoff has passed. News that
            # comes while asks are held waits for the first turn that may ask.
            news = False
            if free:
                news, self._news = self._news, False
            ask = self._asks.size(free) if (self._outgoing or news or time.monotonic() >= next_ask) else 0
            handed: int | None = 0
            if ask or self._outgoing or self._coalesced:
                handed = self._exchange(ask)
            if not self._first_asked.is_set():
                self._first_asked.set()
            if handed is None:
                if self._gave_up():
                    break
                next_ask = time.monotonic() + delay
                delay = min(delay * 2, self.settings.wait_interval)
            elif ask and handed == ask:
                # Everything asked for was handed out: maybe there is more (AskSizer decides how
                # many to ask for); fill the children still idle at once.
                self._asks.record(ask, handed, self.processes + ahead)
                delay = MIN_WAIT
                if free > handed > 1:
                    continue
            elif ask:
                # Fewer tasks than asked for (a chain gets one per request): back off while
                # nothing at all comes.
                self._asks.record(ask, handed, self.processes + ahead)
                delay = MIN_WAIT if handed else min(delay * 2, self.settings.wait_interval)
                next_ask = time.monotonic() + delay
            idle = not busy and not self._queue and not handed and not self._outgoing and not registering
            if idle and (stopping or not self._stay()):
                if not stopping and self._reclaim():
                    continue
                break
            timeout = max(0.0, next_ask - time.monotonic()) if free else 1.0
            deadline = self._pool.next_deadline()
            if deadline is not None:  # wake for a task's timeout on time, not up to a second late
                timeout = min(timeout, max(0.0, deadline - time.monotonic()))
            # Asks held while the rest is registered: sleep until the registrar wakes us.
            self._wait(timeout if busy or free or registering else 0.0)
            self._linger()
        self.summary = self._summarize()
        return self.summary

    def _linger(self) -> None:
        """With reports queued, give children that started about when the reporting ones did a
        moment to finish as well (see :func:`linger_for`)."""
        if not self._outgoing:
            return
        until = time.monotonic() + LINGER
        while True:
            pause = linger_for(time.monotonic(), until, [c.started for c in self._pool.busy()])
            if pause is None:
                return
            self._wait(pause)

    def _idle(self) -> list[Any]:
        return [c for c in self._pool.children if c.task_id is None and not c.retiring]

    def _stopping(self) -> bool:
        return bool(self._signals.draining or self._stop_reason)

    def _stay(self) -> bool:
        reply = self._last_reply
        if reply.get("running_tasks"):
            return True
        if self.settings.keep_alive:
            return self.settings.assistant or reply.get("n_pending_tasks", 0) > 0
        return False

    def _exchange(self, free: int) -> int | None:
        """Send queued reports plus ``free`` get_work calls in one request; tasks started, or None
        when the scheduler could not be reached."""
        calls = [*self._coalesced.values(), *self._outgoing]
        reports = len(calls)
        for i in range(free):
            ask: dict[str, Any] = {"worker": self.worker_id, "host": self.host}
            if self.settings.assistant:
                ask["assistant"] = True
            if i == 0:  # lets the scheduler hand back a task whose get_work reply we lost
                ask["current_tasks"] = [c.task_id for c in self._pool.busy()] + [r["task_id"] for r in self._queue]
            if i < free - 1:  # running_tasks once per request, in the last answer, is enough
                ask["brief"] = True
            calls.append(("get_work", ask))
        try:
            results = self.link.send_many(calls, max_entries=self.settings.batch_size)
        except ClientError as exc:
            if not exc.retryable:  # a 401 (token revoked), a certificate that stopped verifying...
                self._refused(exc)
            elif self._patience is None:
                log.warning("sending %d call(s) to the scheduler failed: %s (will retry)", len(calls), exc)
            return None  # a retryable error: the patience logs the outage as a whole
        self._coalesced.clear()
        self._outgoing.clear()
        self._note_refusals(calls[:reports], results[:reports])
        return sum(self._start(reply) for reply in results[reports:])

    def _start(self, reply: Any) -> int:
        if isinstance(reply, Exception):
            log.warning("get_work refused: %s", reply)
            return 0
        if "running_tasks" in reply or not self._last_reply:  # a brief answer leaves it out
            self._last_reply = reply
            if reply.get("n_pending_tasks", 0) > 0:  # held again: a later drop may be looked for
                self._reclaim_armed = True
        if reply.get("worker_state") == "disabled" and not self._stop_reason:
            self._stop_reason = "disabled by the scheduler"
            log.warning("the scheduler disabled this worker: finishing running tasks, taking no new ones")
        if reply.get("task_id") is None and reply.get("batch_id") is not None:
            reply = self._open_batch(reply)
        task_id = reply.get("task_id")
        if task_id is None or any(c.task_id == task_id for c in self._pool.busy()):
            return 0
        if any(queued["task_id"] == task_id for queued in self._queue):
            return 0
        idle = self._idle()
        if not idle:  # fetched ahead: it starts as soon as a child is free
            self._queue.append(reply)
            return 1
        self._assign(idle[0], reply)
        return 1

    def _open_batch(self, reply: dict[str, Any]) -> dict[str, Any]:
        """Make a batch reply runnable as one task (see :mod:`.batches`): the reply with the
        combined task's id, whose RUNNING registration goes out before the next ``get_work``;
        a batch whose combined task cannot be built fails every member, and nothing runs."""
        try:
            opened = open_batch(reply, self.worker_id)
        except Exception as exc:  # user code (a batch_method, a constructor) or an unknown family
            members, family = reply.get("batch_task_ids") or [], reply.get("task_family")
            log.error("cannot build the batch task of %s for %d task(s): %s", family, len(members), exc)
            self._outgoing.extend(unopened_batch_reports(reply, self.worker_id, exc))
            self.outcomes.update((str(member), "failed") for member in members)
            return {**reply, "task_id": None}
        combined = opened.reply["task_id"]
        log.info("batch of %d %s task(s) runs as %s", len(opened.members), reply.get("task_family"), combined)
        self._outgoing.append(opened.running)
        self._wakeup.set()  # tell the scheduler which task runs the batch without waiting
        self._batches[combined] = opened.members
        return opened.reply

    def _assign(self, child: Any, reply: dict[str, Any]) -> None:
        task_id = reply["task_id"]
        family, module = reply.get("task_family") or "", reply.get("task_module")
        log.info("running %s", task_id)
        self._pool.assign(child, task_id, module, family, reply.get("task_params") or {},
                          self.settings.task_timeout or None)  # fmt: skip

    def _dispatch_queued(self) -> None:
        """Start tasks fetched ahead on idle children (not once told to stop at once)."""
        while self._queue and not self._signals.hurried:
            idle = self._idle()
            if not idle:
                return
            self._assign(idle[0], self._queue.popleft())

    def _refused(self, exc: ClientError) -> None:
        """The scheduler refuses our requests as a whole: repeating them cannot help, so stop
        as when it is lost (running tasks are killed, exit status 3)."""
        if not self.lost_scheduler:
            self.lost_scheduler = True
            self._stop_reason = self._stop_reason or "refused by the scheduler"
            log.error("the scheduler refuses this worker's requests: %s; giving up", exc)

    def _gave_up(self) -> bool:
        """Whether the scheduler has been unreachable for ``unreachable_timeout`` (then stop)."""
        if self.lost_scheduler:
            return True
        since = self._patience.since if self._patience is not None else None
        if since is None or time.monotonic() - since < self.settings.unreachable_timeout:
            return False
        self.lost_scheduler = True
        self._stop_reason = self._stop_reason or "scheduler unreachable"
        running = len(self._pool.busy())
        log.error("scheduler unreachable for %.0fs: giving up%s", time.monotonic() - since,
                  f" (killing {running} running task(s))" if running else "")  # fmt: skip
        return True

    def _wait(self, timeout: float) -> None:
        messages, woke = self._pool.wait(timeout, [self._wakeup.fd])
        if woke:
            self._wakeup.clear()
        for child, message in messages:
            self._on_child(child, message)
        self._dispatch_queued()

    # -- the summary ------------------------------------------------------------------------

    def _summarize(self) -> RunSummary:
        statuses: dict[str, str] = {}
        unresolved = self.index.unresolved(self.outcomes) or self.index.external
        if unresolved and not self.lost_scheduler:
            try:
                for graph in self._root_graphs():
                    statuses.update({tid: info.get("status", "") for tid, info in graph.items()})
            except ClientError as exc:
                log.warning("cannot fetch the task graph for the summary: %s", exc)
        interrupted = self._signals.name() or self._stop_reason
        summary = summarize(self.index, self.outcomes, statuses, worker_id=self.worker_id, interrupted=interrupted)
        summary.lost_scheduler = self.lost_scheduler
        return summary
