"""What the worker's main loop does between two asks for work: child reports, scheduler
messages, signals and time limits. A mixin of :class:`~xrsched.worker.worker.Worker`, kept
apart so each file reads as one job."""

from __future__ import annotations

import logging
import sys
import textwrap
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from xrsched.task import ParameterException, TaskClassException

from .asking import typical_after
from .batches import combined_fields
from .link import Call
from .registration import batcher_calls
from .runner import load_task, report_fields

if TYPE_CHECKING:
    from .pool import Child, ChildPool
    from .settings import WorkerSettings
    from .signals import SignalState, Wakeup
    from .summary import GraphIndex

log = logging.getLogger("xrsched.worker")


class ControlMixin:
    """Turns child reports into scheduler calls and applies messages, signals and timeouts."""

    settings: WorkerSettings
    worker_id: str
    processes: int
    index: GraphIndex
    outcomes: dict[str, str]
    _outgoing: list[Call]
    _coalesced: dict[tuple[str, str], Call]
    _inbox: deque[dict[str, Any]]
    _pool: ChildPool
    _signals: SignalState
    _wakeup: Wakeup
    _drain_started: float | None
    #: Scheduler fields of tasks whose outcome is being reported (see :meth:`_report`).
    _fields: dict[str, dict[str, Any]]
    _queue: deque[dict[str, Any]]
    _task_seconds: float | None
    #: Combined task id -> the batch members it runs for (see :mod:`.batches`).
    _batches: dict[str, list[str]]
    #: Families declared to the scheduler with ``add_task_batcher``.
    _batch_families: set[str]
    _lock: threading.Lock

    # -- from the heartbeat thread ----------------------------------------------------------

    def _receive(self, messages: list[dict[str, Any]]) -> None:
        """Queue ``rpc_messages`` from a ping for the main thread (called on the heartbeat thread)."""
        self._inbox.extend(messages)
        self._wakeup.set()

    # -- in the main thread -----------------------------------------------------------------

    def _apply_control(self) -> None:
        while self._inbox:
            self._apply_message(self._inbox.popleft())
        now = time.monotonic()
        if self._signals.draining and self._drain_started is None:
            self._drain_started = now
            log.warning("%s: taking no new tasks; waiting for %d running task(s)",
                        self._signals.name(), len(self._pool.busy()))  # fmt: skip
        if self._signals.hurried:
            self._kill_running("killed: the worker was told to stop at once")
        elif (
            self._signals.terminating
            and self.settings.drain_timeout
            and self._drain_started is not None
            and now - self._drain_started >= self.settings.drain_timeout
        ):
            self._kill_running(f"killed: still running {self.settings.drain_timeout:g}s after SIGTERM")
        for child in self._pool.expired(now):
            seconds = now - child.started
            self._fail_child(child, f"killed: timed out after {seconds:.1f}s")

    def _apply_message(self, message: dict[str, Any]) -> None:
        name = message.get("name")
        kwargs = message.get("kwargs") or {}
        if name == "set_worker_processes":
            count = kwargs.get("n")
            if isinstance(count, int) and not isinstance(count, bool) and count >= 1:
                log.info("the scheduler asks for %d process(es) (was %d)", count, self.processes)
                self.processes = count
                self._pool.resize(count)
                info = {"workers": count}
                self._outgoing.append(("add_worker", {"worker": self.worker_id, "info": info}))
        elif name == "dispatch_scheduler_message":
            task_id, message_id = kwargs.get("task_id"), kwargs.get("message_id")
            content = kwargs.get("content", "")
            delivered = (
                isinstance(task_id, str)
                and isinstance(message_id, str)
                and self._pool.send_message(task_id, message_id, str(content))
            )
            if not delivered:
                log.info("message %s for %s: the task is not running here", message_id, task_id)
        else:
            log.warning("ignoring unknown scheduler message %r", name)

    def _kill_running(self, reason: str) -> None:
        for child in self._pool.busy():
            self._fail_child(child, reason)
        while self._queue:  # fetched ahead, never started: failed, so the scheduler retries them
            reply = self._queue.popleft()
            task_id = reply["task_id"]
            self._keep_fields(task_id, reply.get("task_module"), reply.get("task_family") or "",
                              reply.get("task_params") or {})  # fmt: skip
            log.error("%s: not started: %s", task_id, reason)
            self._report(task_id, "FAILED", f"not started ({reason})")

    def _fail_child(self, child: Child, reason: str) -> None:
        task_id = child.task_id
        self._keep_child_fields(child)
        self._pool.kill(child)
        if task_id is not None:
            log.error("%s: %s", task_id, reason)
            self._report(task_id, "FAILED", reason)

    def _keep_child_fields(self, child: Child) -> None:
        """:meth:`_keep_fields` for the task ``child`` runs."""
        if child.task_id is not None and child.assignment is not None:
            self._keep_fields(child.task_id, *child.assignment)

    def _keep_fields(self, task_id: str, module: str | None, family: str, params: dict[str, Any]) -> None:
        """Remember the scheduler fields of a task, for a failure reported without its child's
        help (it died, was killed, or never started): the scheduler replaces a task's retry
        policy and resources with those of each report, so the report must carry them.

        The task is rebuilt here only when its module is already imported in this process (as
        with ``xrsched run`` and scripts); the worker never imports task code of its own accord.
        """
        if task_id in self._fields or (module and module not in sys.modules):
            return
        try:
            self._fields[task_id] = report_fields(load_task(module, family, params))
        except (TaskClassException, ParameterException) as exc:  # not a task this process knows
            log.debug("%s: reported without its own fields: %s", task_id, exc)
        except Exception:  # task code or a bug; the failure must still be reported, so go on
            log.warning("%s: cannot rebuild the task to repeat its fields in the failure report; "
                        "the scheduler resets its retry policy and resources", task_id, exc_info=True)  # fmt: skip

    def _report(self, task_id: str, status: str, expl: str | None, *, ran: bool = True, **extra: Any) -> None:
        members = self._batches.pop(task_id, None)
        for each in (task_id, *(members or ())):
            if not ran:  # the summary then goes by the scheduler's status
                self.outcomes.pop(each, None)
            elif status != "PENDING":
                self.outcomes[each] = "done" if status == "DONE" else "failed"
        fields = self._fields.pop(task_id, {})
        if members is not None:  # the scheduler gives the members this outcome
            fields = combined_fields(fields)
        call = {**fields, "task_id": task_id, "worker": self.worker_id, "status": status, "expl": expl, **extra}
        self._outgoing.append(("add_task", call))

    def _on_child(self, child: Child, message: tuple[Any, ...]) -> None:
        kind, task_id = message[0], message[1]
        if kind in ("status", "progress"):
            method, key = (
                ("set_task_status_message", "status_message")
                if kind == "status"
                else ("set_task_progress_percentage", "progress_percentage")
            )
            self._coalesced[(method, task_id)] = (method, {"task_id": task_id, key: message[2]})
            return
        if kind == "started":  # sent only by a task with its own worker_timeout
            if child.task_id == task_id and message[2]:
                child.deadline = child.started + float(message[2])
            return
        if kind == "tracking":
            call = {"task_id": task_id, "worker": self.worker_id, "status": "RUNNING", "tracking_url": message[2]}
            self._outgoing.append(("add_task", call))
            return
        if kind == "response":
            call = {"task_id": task_id, "message_id": message[2], "response": message[3]}
            self._outgoing.append(("add_scheduler_message_response", call))
            return
        if kind == "died":
            if task_id is not None:
                self._keep_child_fields(child)
                self._report(task_id, "FAILED", f"the child process running the task died (exit status {message[2]})")
                log.error("%s: child process died (exit status %s)", task_id, message[2])
            return
        if task_id != child.task_id:
            log.warning("ignoring a late %s report for %s", kind, task_id)
            return
        elapsed = time.monotonic() - child.started
        self._task_seconds = typical_after(self._task_seconds, elapsed)
        self._fields[task_id] = message[-1]
        self._pool.finished(child)
        if kind == "done":
            log.info("done %s (%.3fs)", task_id, elapsed)
            self._report(task_id, "DONE", message[2])
        elif kind == "complete":
            log.info("%s was complete when its turn came (another worker ran it?): not run again", task_id)
            self._report(task_id, "DONE", message[2], ran=False)
        elif kind == "failed":
            log.error("failed %s: %s\n%s", task_id, _last_line(message[2]), _indented(message[2]))
            self._report(task_id, "FAILED", message[2])
        elif kind == "deps":
            calls, new_deps, batchers = message[2], message[3], message[4]
            log.info("%s waits for %d dynamic dependencies", task_id, len(new_deps))
            with self._lock:  # a registrar thread may be recording the rest of the graph
                self.index.ingest(calls)
                self.index.add_new_deps(task_id, new_deps)
            self._outgoing.extend(batcher_calls(batchers, self._batch_families, self.worker_id))
            self._outgoing.extend(("add_task", {**kwargs, "worker": self.worker_id}) for kwargs in calls)
            self._report(task_id, "PENDING", None, new_deps=new_deps)


def _indented(text: str | None) -> str:
    """A failure's explanation (its traceback) to print under the failure line."""
    return textwrap.indent((text or "(no explanation)").rstrip(), "    ")


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no explanation)"
