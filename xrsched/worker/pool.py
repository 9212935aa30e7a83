"""The parent side of the child processes: start, assign, watch, time out, replace.

Process model: ``processes`` long-lived children, each running one task at a time and many
tasks over its life, so a task runs in a process of its own (apart from the worker's threads
and sockets) while start-up is paid once per child, not once per task.

Children start with multiprocessing's ``forkserver`` method by default (``spawn`` where there
is none). The fork server is one fresh interpreter that imports the task modules once; each
child is forked from it, which is fast and inherits no threads, locks or open connections
from the worker (``fork`` from the worker would: it has a heartbeat thread and keep-alive TLS
connections). ``spawn`` (a fresh interpreter per child: slowest start, most isolated) and
``fork`` can be chosen with ``start_method``. As with any of them, a script that defines tasks
and starts a worker must keep that under ``if __name__ == "__main__":``.

A child that dies, or outlives its task's timeout, is killed with its process group and replaced.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from .forkserver import preload_list
from .runner import ChildOptions, child_main

log = logging.getLogger("xrsched.worker")


@dataclass(eq=False)
class Child:
    """One child process and the task it runs (None when idle)."""

    process: Any
    conn: Connection
    task_id: str | None = None
    #: ``(module, family, params)`` of the task it runs, to rebuild it if the child dies.
    assignment: tuple[str | None, str, dict[str, Any]] | None = None
    started: float = 0.0
    deadline: float | None = None
    runs: int = 0
    retiring: bool = field(default=False)

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self.process.pid


class ChildPool:
    """A set of child processes that run tasks; the parent's main thread drives it."""

    def __init__(self, start_method: str, options: ChildOptions, max_tasks_per_child: int = 0) -> None:
        if start_method not in multiprocessing.get_all_start_methods():
            start_method = "spawn"
        self.start_method = start_method
        self._context = multiprocessing.get_context(start_method)
        self._options = options
        self._preloaded = False
        self._starting: threading.Thread | None = None
        self._max_runs = max_tasks_per_child
        self.children: list[Child] = []

    # -- size -----------------------------------------------------------------------------

    def preload(self, modules: list[str], main: bool = True) -> None:
        """Have the fork server import ``modules`` (and the main script, with ``main``) once, before
        it forks any child (forkserver only)."""
        if self._preloaded or self.start_method != "forkserver":
            return
        self._preloaded = True
        self._context.set_forkserver_preload(preload_list(modules, main))  # type: ignore[attr-defined]

    def begin(self, size: int) -> None:
        """Start ``size`` children without waiting for them: with forkserver, in a thread, so the
        fork server's start-up (a fresh interpreter importing the task modules) overlaps with
        the caller's work. Everything else waits for it through :meth:`ready`."""
        if self.start_method == "forkserver":
            self._starting = threading.Thread(target=self.resize, args=(size,), name="xrsched-pool-start", daemon=True)
            self._starting.start()
        else:  # spawn/fork children die with the thread that started them (PDEATHSIG): start them here
            self.resize(size)

    def ready(self) -> None:
        """Wait until children started by :meth:`begin` exist."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None

    def resize(self, size: int) -> None:
        """Have ``size`` children: start missing ones, retire idle extra ones (busy ones after their task)."""
        live = [c for c in self.children if not c.retiring]
        for child in live[size:]:
            child.retiring = True
            if child.task_id is None:
                self._stop(child)
        for child in live[:size]:
            child.retiring = False
        for _ in range(size - len(live)):
            self.children.append(self._start())

    def _start(self) -> Child:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=child_main, args=(child_end, self._options), name="xrsched-task", daemon=True
        )
        process.start()
        child_end.close()
        return Child(process, parent_end)

    def _stop(self, child: Child) -> None:
        with contextlib.suppress(OSError, ValueError):
            child.conn.send(("stop",))
        self.children.remove(child)
        child.process.join(0.5)
        if child.process.is_alive():
            self._kill(child)
        child.conn.close()

    # -- work -----------------------------------------------------------------------------

    def idle(self) -> Child | None:
        """A child free to take a task, if any."""
        for child in self.children:
            if child.task_id is None and not child.retiring:
                return child
        return None

    def busy(self) -> list[Child]:
        """The children running a task."""
        return [c for c in self.children if c.task_id is not None]

    def assign(self, child: Child, task_id: str, module: str | None, family: str, params: dict[str, Any],
               timeout: float | None) -> None:  # fmt: skip
        """Give ``child`` a task; ``timeout`` seconds from now it will be killed if still running."""
        child.task_id = task_id
        child.assignment = (module, family, params)
        child.started = time.monotonic()
        child.deadline = child.started + timeout if timeout else None
        child.runs += 1
        child.conn.send(("run", task_id, module, family, params))

    def send_message(self, task_id: str, message_id: str, content: str) -> bool:
        """Deliver a scheduler message to the child running ``task_id``; False if none does."""
        for child in self.children:
            if child.task_id == task_id:
                with contextlib.suppress(OSError, ValueError):
                    child.conn.send(("message", task_id, message_id, content))
                    return True
        return False

    def finished(self, child: Child) -> None:
        """The child reported its task's outcome: free it, or replace it when it has run enough."""
        child.task_id = None
        child.assignment = None
        child.deadline = None
        if child.retiring or (self._max_runs and child.runs >= self._max_runs):
            retire = not child.retiring
            self._stop(child)
            if retire:
                self.children.append(self._start())

    def wait(self, timeout: float, extra: list[int]) -> tuple[list[tuple[Child, tuple[Any, ...]]], bool]:
        """Wait up to ``timeout`` for messages from children or for ``extra`` fds to be readable.

        Returns the messages (each with its child) and whether an extra fd woke us. A child that
        died is reported as ``("died", task_id, exitcode)`` and replaced.
        """
        conns = {child.conn: child for child in self.children}
        ready = wait([*conns, *extra], timeout=max(0.0, timeout))
        messages: list[tuple[Child, tuple[Any, ...]]] = []
        woke = False
        for item in ready:
            if isinstance(item, int):
                woke = True
                continue
            child = conns[item]
            try:
                while item.poll():
                    messages.append((child, item.recv()))
            except (EOFError, OSError):
                messages.append((child, ("died", child.task_id, self._reap(child))))
        return messages, woke

    def _reap(self, child: Child) -> int | None:
        child.process.join(1.0)
        code = child.process.exitcode
        if child in self.children:
            self.children.remove(child)
            child.conn.close()
            if not child.retiring:
                self.children.append(self._start())
        return code

    def expired(self, now: float) -> list[Child]:
        """Busy children whose task is past its deadline."""
        return [c for c in self.children if c.task_id is not None and c.deadline is not None and now >= c.deadline]

    def next_deadline(self) -> float | None:
        """The earliest deadline of a running task (``time.monotonic()`` time), if any has one."""
        deadlines = [c.deadline for c in self.children if c.task_id is not None and c.deadline is not None]
        return min(deadlines) if deadlines else None

    def kill(self, child: Child) -> None:
        """Kill ``child`` (and whatever its task started) and start a replacement."""
        self._kill(child)
        child.process.join(2.0)
        if child in self.children:
            self.children.remove(child)
            child.conn.close()
            if not child.retiring:
                self.children.append(self._start())

    @staticmethod
    def _kill(child: Child) -> None:
        pid = child.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)

    def close(self, kill: bool = False) -> None:
        """Stop every child: politely when idle, by force when ``kill`` or when they do not stop."""
        self.ready()
        for child in list(self.children):
            if kill or child.task_id is not None:
                self._kill(child)
            else:
                with contextlib.suppress(OSError, ValueError):
                    child.conn.send(("stop",))
        deadline = time.monotonic() + 3.0
        for child in self.children:
            child.process.join(max(0.0, deadline - time.monotonic()))
            if child.process.is_alive():
                self._kill(child)
                child.process.join(1.0)
            child.conn.close()
        self.children.clear()
