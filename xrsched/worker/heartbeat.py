"""The heartbeat: a thread that pings the scheduler and hands its messages to the worker.

The scheduler drops a worker it has not heard from for ``worker_disconnect_delay`` seconds and
fails the tasks it was running, so the ping must keep going while a long task runs and the
main thread waits. Each ``ping`` reply may carry ``rpc_messages`` (``set_worker_processes``,
``dispatch_scheduler_message``); they are queued for the main thread, which applies them
between two steps of its loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from xrsched.client.errors import ClientError

from .link import SchedulerLink

log = logging.getLogger("xrsched.worker")


class Heartbeat:
    """Pings every ``interval`` seconds from its own thread (and so its own connection)."""

    def __init__(
        self,
        link: SchedulerLink,
        worker_id: str,
        interval: float,
        on_messages: Callable[[list[dict[str, Any]]], None],
    ) -> None:
        self._link = link
        self._worker_id = worker_id
        self._interval = interval
        self._on_messages = on_messages
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="xrsched-heartbeat", daemon=True)
        #: Whether the last ping failed (a refusal is logged once, not once per interval).
        self._failing = False

    def start(self) -> None:
        """Start pinging."""
        self._thread.start()

    def stop(self) -> None:
        """Stop pinging and wait for the thread (a ping in flight finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 5.0)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                reply = self._link.call("ping", worker=self._worker_id)
            except ClientError as exc:  # an unreachable scheduler is logged by the client's patience
                quiet = exc.retryable or self._failing
                self._failing = True
                log.log(logging.DEBUG if quiet else logging.WARNING, "ping failed: %s", exc)
                continue
            except Exception:  # a heartbeat that dies silently gets the worker's tasks failed
                log.exception("ping failed unexpectedly")
                continue
            self._failing = False
            messages = reply.get("rpc_messages") if isinstance(reply, dict) else None
            if messages:
                self._on_messages([m for m in messages if isinstance(m, dict)])
