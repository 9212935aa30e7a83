"""Typed scheduler errors with the stable application codes of DESIGN §2.

Only :mod:`xrsched.rpc.faults` turns these into XML-RPC faults; everywhere else
they are ordinary exceptions that carry a message safe to show a client (it names
the argument and what was wrong, never internal state).
"""

from __future__ import annotations


class SchedulerError(Exception):
    """Base class: a request the scheduler refuses. ``code`` is the fault code clients see."""

    code: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadValue(SchedulerError):
    """An argument is malformed or out of range (400)."""

    code = 400


class Forbidden(SchedulerError):
    """The caller may not call this method or touch this task (403)."""

    code = 403


class NotFound(SchedulerError):
    """No such task or worker (404)."""

    code = 404


class UnknownTask(NotFound):
    """The task id names no task the scheduler knows (404)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task_id: no task {task_id!r} is known to the scheduler")
        self.task_id = task_id


class UnknownWorker(NotFound):
    """The worker id names no worker the scheduler knows (404)."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(f"worker: no worker {worker_id!r} is known to the scheduler")
        self.worker_id = worker_id


class Conflict(SchedulerError):
    """The change conflicts with the task's current state (409)."""

    code = 409


class RateLimited(SchedulerError):
    """The caller sends too fast (429)."""

    code = 429


class Unavailable(SchedulerError):
    """The server is draining or cannot serve this now (503)."""

    code = 503
