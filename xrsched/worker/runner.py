"""The child-process side: rebuild each assigned task, run it, and tell the parent what happened.

A child is a long-lived process that runs one task at a time. It never talks to the scheduler
itself: everything goes to the parent worker over its pipe (status messages, progress,
answers to scheduler messages, dynamic dependencies, the outcome), so one code path serves the
remote and the in-process scheduler alike.

Pipe protocol (tuples, first item the kind). Parent to child: ``("run", task_id, module,
family, params)``, ``("message", task_id, message_id, content)``, ``("stop",)``. Child to
parent: ``("started", task_id, worker_timeout)`` (only for a task with its own
``worker_timeout``, so the parent can set its deadline), ``("status", task_id, text)``,
``("progress", task_id, pct)``, ``("tracking", task_id, url)``, ``("response", task_id,
message_id, text)``, and one outcome, whose last item is the task's scheduler fields (priority,
resources, retry policy...; ``{}`` when the task could not be built): ``("deps", task_id,
add_task_kwargs, new_dep_ids, batchers, fields)`` (batchers: the new batchable families'
``add_task_batcher`` arguments by family), ``("done", task_id, expl, fields)``, ``("complete",
task_id, expl, fields)`` (outputs already there: not run), ``("failed", task_id, expl, fields)``.
The fields travel with the outcome rather than in a message of their own at the start: on a
short task, one more message wakes the parent once more per task, which costs more than the
task's own work.

The child puts itself in its own process group (a terminal's Ctrl-C reaches only the parent,
which decides how to drain; a timed-out task is killed with its whole group), and it exits at
once when the parent's end of the pipe closes, so a killed worker leaves no task running.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import os
import queue
import signal
import sys
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

import xrsched
from xrsched.task import Reporter, Task, flatten, run_until_blocked, task_class

from .registration import CompletenessChecker, walk

log = logging.getLogger("xrsched.worker")

#: Exit status of a child whose parent went away.
ORPHANED = 70

#: Source files of xrsched itself: their frames at the top of a task's traceback are left out.
_OUR_FILES = str(Path(xrsched.__file__).parent) + os.sep


@dataclass(frozen=True)
class ChildOptions:
    """What a child needs to know besides the tasks it is given."""

    check_complete_on_run: bool = True
    check_threads: int = 8
    log_level: str = "WARNING"
    check_complete_before_run: bool = True


class _Sender:
    """Sends to the parent from any thread of the child (the task may report from its own threads)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            try:
                self._conn.send(message)
            except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
                os._exit(ORPHANED)


class _PipeReporter(Reporter):
    """Routes a task's status, progress and tracking URL to the parent worker."""

    def __init__(self, sender: _Sender, task_id: str) -> None:
        self._sender = sender
        self._task_id = task_id

    def status_message(self, message: str) -> None:
        """Show ``message`` as the task's status."""
        self._sender.send(("status", self._task_id, message))

    def progress_percentage(self, percentage: float) -> None:
        """Show how far the task has got."""
        self._sender.send(("progress", self._task_id, percentage))

    def tracking_url(self, url: str) -> None:
        """Link the task to an external page."""
        self._sender.send(("tracking", self._task_id, url))


class SchedulerMessage:
    """A message sent to a running task (``send_scheduler_message``); ``respond`` answers it.

    Tasks with ``accepts_messages = True`` find these on ``self.scheduler_messages`` (a
    ``queue.Queue``), as in Luigi.
    """

    def __init__(self, sender: _Sender, task_id: str, message_id: str, content: str) -> None:
        self._sender = sender
        self.task_id = task_id
        self.message_id = message_id
        self.content = content

    def respond(self, response: str) -> None:
        """Send ``response`` back; the sender reads it with ``get_scheduler_message_response``."""
        self._sender.send(("response", self.task_id, self.message_id, str(response)))

    def __str__(self) -> str:
        return self.content


class _Mailbox:
    """The message queue of the task running now, if it accepts messages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._task_id: str | None = None
        self._queue: queue.Queue[SchedulerMessage] | None = None

    def open(self, task_id: str, box: queue.Queue[SchedulerMessage] | None) -> None:
        with self._lock:
            self._task_id, self._queue = task_id, box

    def close(self) -> None:
        with self._lock:
            self._task_id = self._queue = None

    def deliver(self, message: SchedulerMessage) -> None:
        with self._lock:
            if self._queue is not None and message.task_id == self._task_id:
                self._queue.put(message)


def child_main(conn: Connection, options: ChildOptions) -> None:
    """Entry point of a child process: run assignments until told to stop or orphaned."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sender = _Sender(conn)
    assignments: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
    mailbox = _Mailbox()
    threading.Thread(target=_read, args=(conn, sender, assignments, mailbox), daemon=True).start()
    checker = CompletenessChecker(options.check_threads)
    while True:
        item = assignments.get()
        if item is None:
            break
        _, task_id, module, family, params = item
        run_assignment(sender, mailbox, checker, options, task_id, module, family, params)
    checker.close()


def _read(
    conn: Connection, sender: _Sender, assignments: queue.Queue[tuple[Any, ...] | None], mailbox: _Mailbox
) -> None:
    """Reader thread: assignments to the main thread, messages to the running task; EOF ends us."""
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            os._exit(ORPHANED)  # the parent is gone: never finish (or half-report) a task alone
        kind = item[0]
        if kind == "run":
            assignments.put(item)
        elif kind == "message":
            _, task_id, message_id, content = item
            mailbox.deliver(SchedulerMessage(sender, task_id, message_id, content))
        elif kind == "stop":
            assignments.put(None)
            return


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this process when the parent dies (belt and braces with EOF)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def load_task(module: str | None, family: str, params: dict[str, Any]) -> Task:
    """Rebuild a task from what the scheduler knows: import its module, look up its family."""
    if module:
        importlib.import_module(module)
    cls = task_class(family)
    return cls.from_str_params(params)


def report_fields(task: Task) -> dict[str, Any]:
    """The fields an outcome report on ``task`` carries: its scheduler fields but the id. The
    scheduler replaces a task's retry policy, priority, resources... with those of every
    ``add_task``, so a report must carry them again (as Luigi's worker does)."""
    return {k: v for k, v in task.scheduler_fields().items() if k != "task_id"}


def run_assignment(
    sender: _Sender,
    mailbox: _Mailbox,
    checker: CompletenessChecker,
    options: ChildOptions,
    task_id: str,
    module: str | None,
    family: str,
    params: dict[str, Any],
) -> None:
    """Run one task and send exactly one outcome: ``done``, ``failed`` or ``deps``."""
    try:
        task = load_task(module, family, params)
    except Exception as exc:  # an unknown family or bad parameters: the task fails, the child lives on
        sender.send(("failed", task_id, f"cannot load task {family} from module {module}:\n{_format(exc)}", {}))
        return
    if task.task_id != task_id:
        log.warning("task %s rebuilt with id %s (parameters changed?)", task_id, task.task_id)
    fields = report_fields(task)
    if task.worker_timeout:
        sender.send(("started", task_id, float(task.worker_timeout)))
    task.attach_reporter(_PipeReporter(sender, task_id))
    box: queue.Queue[SchedulerMessage] | None = queue.Queue() if task.accepts_messages else None
    if box is not None:
        task.scheduler_messages = box  # type: ignore[attr-defined]
    mailbox.open(task_id, box)
    try:
        outcome = _run(task, checker, options)
    except BaseException as exc:  # SystemExit from a task is a failure too, not the child's end
        exc.__traceback__ = task_frames(exc.__traceback__)
        try:
            expl = task.on_failure(exc)
        except Exception as hook_error:  # a broken on_failure must not lose the failure itself
            expl = f"{_format(exc)}\non_failure() raised too:\n{_format(hook_error)}"
        outcome = ("failed", task_id, expl)
    finally:
        mailbox.close()
        task.attach_reporter(None)
    sender.send((outcome[0], task_id, *outcome[2:], fields))


def _run(task: Task, checker: CompletenessChecker, options: ChildOptions) -> tuple[Any, ...]:
    # Another worker may have finished the task since this one saw it incomplete and registered
    # it PENDING again (after the scheduler's stable_done_cooldown_secs): its outputs say so.
    if options.check_complete_before_run and flatten(task.output()) and task.complete():
        return ("complete", task.task_id, "its outputs existed when its turn came: not run again")
    missing = [dep for dep in task.deps() if not dep.complete()]
    if missing:
        shown = ", ".join(repr(dep) for dep in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise RuntimeError(f"Unfulfilled dependencies at run time: {shown}")
    request = run_until_blocked(task)
    if request is not None:
        found = walk(request.tasks, checker)
        return ("deps", task.task_id, found.calls, request.task_ids, found.batchers)
    if options.check_complete_on_run and flatten(task.output()) and not task.complete():
        raise RuntimeError(f"{task!r}: run() returned but some of its outputs do not exist")
    return ("done", task.task_id, task.on_success())


def task_frames(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` without xrsched's own frames at its top (the child running the task), so a
    failure's traceback starts in the task's code; None if every frame is xrsched's."""
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_OUR_FILES):
        tb = tb.tb_next
    return tb


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))
