"""The worker's ``add``: walk a task graph and register it with the scheduler, in one go or
pipelined (the first leaves at once, the rest from a thread of its own while ``run`` works).
A mixin of :class:`~xrsched.worker.worker.Worker`, kept apart so each file reads as one job."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from xrsched.client.errors import ClientError
from xrsched.task import Task

from .link import Call
from .registration import GraphWalk, Walker, add_task_calls, describe, is_leaf_call, registration_calls

if TYPE_CHECKING:
    from xrsched.client.retrying import Patience

    from .link import SchedulerLink
    from .pool import ChildPool
    from .registration import CompletenessChecker
    from .settings import WorkerSettings
    from .signals import Wakeup
    from .summary import GraphIndex

log = logging.getLogger("xrsched.worker")

#: Registrations sent by a pipelined ``add`` before ``run`` takes over: small, so it is quick.
FIRST_CHUNK = 16
#: Tasks a pipelined ``add`` visits at a time while it looks for the first leaves to send.
EARLY_STEP = 64
#: How long the rest of a pipelined registration waits for ``run`` to hand out its first tasks.
REST_WAITS_FOR_FIRST_TASKS = 2.0
#: The first request of the rest of a pipelined registration (see :func:`rest_chunks`).
FIRST_REST_CHUNK = 50


def rest_chunks(total: int, batch_size: int) -> list[int]:
    """Sizes of the requests that send the rest of a pipelined registration: 50 calls, then twice
    as many each time up to ``batch_size``. While a request of 500 registrations is parsed, the
    server serves the worker's own requests slowly (one Python process: they take turns), so
    small requests come first, while the first tasks run; big ones keep a large graph to a few
    tens of requests."""
    sizes: list[int] = []
    size = min(FIRST_REST_CHUNK, batch_size)
    while total > 0:
        sizes.append(min(size, total))
        total -= size
        size = min(size * 2, batch_size)
    return sizes


def _raise_if_not_a_worker(calls: list[Call], results: list[Any]) -> None:
    """Raise the scheduler's refusal of ``add_worker`` (e.g. 403 "needs the worker role"): then
    every registration fails for that one reason, which is what the user must hear."""
    for (method, _), result in zip(calls, results, strict=True):
        if method == "add_worker" and isinstance(result, ClientError):
            raise result


class RegistrarMixin:
    """``add``, and the threads that send the rest of a pipelined registration."""

    settings: WorkerSettings
    link: SchedulerLink
    worker_id: str
    host: str
    processes: int
    index: GraphIndex
    _pool: ChildPool
    _checker: CompletenessChecker
    _announced: bool
    #: Families declared to the scheduler with ``add_task_batcher``.
    _batch_families: set[str]
    _started_children: bool
    _preload_main: bool
    _registrars: list[threading.Thread]
    #: The tasks given to ``add``, to walk again after a drop (:mod:`.reclaim`).
    _root_tasks: list[Task]
    _first_asked: threading.Event
    #: Set while the rest of a registration that holds batchable tasks is sent: ``run`` asks for
    #: no work meanwhile, so that a batch can take every member that is ready.
    _hold_asks: threading.Event
    _lock: threading.Lock
    _news: bool
    _wakeup: Wakeup
    _patience: Patience | None

    def _start_children(self, modules: list[str]) -> None:
        """Start the children (first call only), so they get ready while the graph is walked."""
        if not self._started_children:
            self._started_children = True
            self._pool.preload(modules, main=self._preload_main)
            self._pool.begin(self.processes)

    def _worker_info(self) -> dict[str, Any]:
        return {"host": self.host, "pid": os.getpid(), "workers": self.processes,
                "assistant": self.settings.assistant}  # fmt: skip

    def add(self, *tasks: Task, pipelined: bool = False) -> bool:
        """Register ``tasks`` and everything they need; False if some could not be scheduled.

        With ``pipelined``, the walk stops as soon as it has met :data:`FIRST_CHUNK` leaves
        (tasks with no dependency, which can start at once) and sends those; a thread walks the
        rest of the graph and sends it once ``run`` has asked for work, deepest tasks first. So
        the first tasks of a wide graph start before all of it has been checked. Refusals and
        errors found after the first leaves are logged and show in the summary instead of in the
        return value. A graph whose batchable tasks turn up before the first leaves are sent is
        registered in one go, so that batches are full.
        """
        self._start_children([task.task_module for task in tasks])
        walker = Walker(tasks, self._checker, skip=self.index.__contains__)
        for task in tasks:
            if task.task_id not in self.index.roots:
                self.index.roots.append(task.task_id)
                self._root_tasks.append(task)
        leaves = self._first_leaves(walker) if pipelined else []
        if walker.finished or walker.found.batchers or not leaves:
            return self._add_walked(walker.finish(described=False), pipelined=pipelined)
        return self._add_streamed(walker, leaves)

    def _first_leaves(self, walker: Walker) -> list[dict[str, Any]]:
        """Walk until :data:`FIRST_CHUNK` leaves are known, the walk ends or a batchable family
        turns up; the leaves' calls."""
        leaves: list[dict[str, Any]] = []
        while len(leaves) < FIRST_CHUNK and not walker.finished and not walker.found.batchers:
            leaves.extend(call for call in walker.advance(EARLY_STEP) if is_leaf_call(call))
        return leaves[:FIRST_CHUNK]

    def _add_walked(self, found: GraphWalk, *, pipelined: bool) -> bool:
        """Register a graph walked to its end (its calls not described yet, see
        :func:`~.registration.describe`): all of it now, or (``pipelined``) its deepest
        :data:`FIRST_CHUNK` tasks now and the rest from a thread, which also describes the rest,
        builds its calls and records them in the index: a chain of 20,000 links asks for its first
        task without first reading 20,000 tasks' fields and copying their registrations."""
        if pipelined and found.batchers:
            # A batch holds only tasks registered when it is handed out: a partial registration
            # would split batches into more runs than max_batch_size makes.
            log.info("registering in one go: the graph has batchable tasks (%s)", ", ".join(found.batchers))
            pipelined = False
        if not pipelined:
            found.calls = describe(found, found.calls)
            self.index.ingest(found.calls)
            refused, seconds = self._send_first(
                self._announced_with(registration_calls(found, self.worker_id, self._batch_families))
            )
            self._log_registered(found, seconds)
            return not found.errors and not refused
        first = describe(found, found.calls[: FIRST_CHUNK - (0 if self._announced else 1)])
        self.index.ingest(first)
        refused, seconds = self._send_first(self._announced_with(add_task_calls(first, self.worker_id)))
        rest = found.calls[len(first) :]
        self._log_registered(found, seconds, len(rest))
        if rest:
            self._start_registrar(self._register_walked_rest, found, rest)
        return not found.errors and not refused

    def _log_registered(self, found: GraphWalk, seconds: float, rest: int = 0) -> None:
        log.info("registered %d task(s) in %.3fs (%d already complete, %d missing external input)%s",
                 len(found.calls) - rest, seconds, len(found.complete), len(found.missing_external),
                 f"; {rest} more while running" if rest else "")  # fmt: skip

    def _register_walked_rest(self, found: GraphWalk, rest: list[dict[str, Any]]) -> None:
        """Register the rest of a graph walked to its end (no batchable tasks in it), once ``run``
        has asked for the first tasks: describe it, record it in the index, send it deepest first.
        A task whose fields cannot be read (a ``process_resources()`` that raises...) stops the
        registration there, as a request that fails does: the tasks left are not scheduled."""
        self._first_asked.wait(REST_WAITS_FOR_FIRST_TASKS)
        try:
            described = describe(found, rest)
        except Exception as exc:  # user code
            log.error("cannot describe the rest of the graph to the scheduler: %s", exc)
            described = []
            with self._lock:
                self.index.errors.update(kwargs["task_id"] for kwargs in rest)
        with self._lock:
            self.index.ingest(described)
        self._register_rest(add_task_calls(described, self.worker_id), wait=False)

    def _add_streamed(self, walker: Walker, leaves: list[dict[str, Any]]) -> bool:
        """Send the first leaves now; a thread walks the rest of the graph and registers it."""
        calls = self._announced_with([])
        leaves = leaves[: FIRST_CHUNK - len(calls)]
        calls.extend(add_task_calls(describe(walker.found, leaves), self.worker_id))
        self.index.ingest(leaves)
        refused, seconds = self._send_first(calls)
        log.info("registered the first %d task(s) in %.3fs; walking the rest of the graph while running",
                 len(leaves), seconds)  # fmt: skip
        self._start_registrar(self._walk_rest, walker, {kwargs["task_id"] for kwargs in leaves})
        return not walker.found.errors and not refused

    def _announced_with(self, calls: list[Call]) -> list[Call]:
        """``calls``, after an ``add_worker`` if this worker has not announced itself yet."""
        if self._announced:
            return calls
        self._announced = True
        return [("add_worker", {"worker": self.worker_id, "info": self._worker_info()}), *calls]

    def _send_first(self, calls: list[Call]) -> tuple[int, float]:
        """Send the first registrations; the number refused and the seconds taken."""
        started = time.perf_counter()
        results = self._send_patiently(calls)
        _raise_if_not_a_worker(calls, results)
        return self._note_refusals(calls, results), time.perf_counter() - started

    def _start_registrar(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name="xrsched-register", daemon=True)
        self._registrars.append(thread)
        thread.start()

    def _walk_rest(self, walker: Walker, sent: set[str]) -> None:
        """Walk the rest of a graph whose first leaves were sent, then register the rest, deepest
        first. With batchable tasks among it, ``run`` asks for nothing until all is sent."""
        started = time.perf_counter()
        found = walker.finish()
        calls = registration_calls(found, self.worker_id, self._batch_families, sent=sent)
        with self._lock:
            self.index.ingest(kwargs for _, kwargs in calls if "task_id" in kwargs)
        log.info("walked %d more task(s) in %.3fs (%d already complete, %d missing external input, %d broken); "
                 "registering them", len(found.calls) - len(sent), time.perf_counter() - started,
                 len(found.complete), len(found.missing_external), len(found.errors))  # fmt: skip
        if not found.batchers:
            self._register_rest(calls)
            return
        log.info("registering the rest before asking for more work: it has batchable tasks (%s)",
                 ", ".join(found.batchers))  # fmt: skip
        self._hold_asks.set()
        try:
            self._register_rest(calls, wait=False)
        finally:
            self._hold_asks.clear()
            self._wakeup.set()

    def _send_patiently(self, calls: list[Call]) -> list[Any]:
        """Send the first registrations, again and again while the scheduler is unreachable and
        the worker's patience (``unreachable_timeout``) lasts: a client's own retries may give up
        sooner (``rpc_retries``). Registering twice is harmless."""
        while True:
            try:
                return self.link.send_many(calls, max_entries=self.settings.batch_size)
            except ClientError as exc:
                left = self._patience.left() if self._patience is not None else 0.0
                if not exc.retryable or left <= 0:
                    raise
                time.sleep(min(self.settings.wait_interval, left))

    def _register_rest(self, calls: list[Call], *, wait: bool = True) -> None:
        """Send registrations from a thread of their own (its own connection), so the main loop
        hands out and reports tasks meanwhile; the deepest tasks were sent first.

        It starts once ``run`` has asked for the first tasks (unless ``wait`` is False): a
        500-call request encoded here and parsed by the server would otherwise hold up that first
        ``get_work`` by tens of ms.
        """
        if wait:
            self._first_asked.wait(REST_WAITS_FOR_FIRST_TASKS)
        start = 0
        for size in rest_chunks(len(calls), self.settings.batch_size):
            chunk = calls[start : start + size]
            try:
                results = self.link.send_many(chunk, max_entries=size)
            except ClientError as exc:
                log.error("registering %d task(s) failed: %s", len(calls) - start, exc)
                with self._lock:
                    self.index.errors.update(kwargs["task_id"] for _, kwargs in calls[start:] if "task_id" in kwargs)
                break
            start += size
            with self._lock:
                self._note_refusals(chunk, results)
            self._news = True  # newly registered tasks may be runnable: ask now
            self._wakeup.set()
        self._wakeup.set()

    def _registering(self) -> bool:
        self._registrars = [t for t in self._registrars if t.is_alive()]
        return bool(self._registrars)

    def _note_refusals(self, calls: list[Call], results: list[Any]) -> int:
        refused = 0
        for (method, kwargs), result in zip(calls, results, strict=True):
            if isinstance(result, Exception):
                refused += 1
                log.error("%s(%s) refused: %s", method, kwargs.get("task_id", ""), result)
                if method == "add_task" and kwargs.get("status") != "DONE" and kwargs["task_id"] in self.index:
                    self.index.errors.add(kwargs["task_id"])
        return refused
