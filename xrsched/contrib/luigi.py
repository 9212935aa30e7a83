"""Run unmodified Luigi tasks and Luigi's own worker against an xrsched server.

::

    import luigi
    from xrsched.contrib.luigi import XrschedFactory

    luigi.build([MyTask()], worker_scheduler_factory=XrschedFactory(
        "https://sched.example:8082", token=secret, ca="ca.pem"), workers=4)

Luigi's worker calls scheduler methods with keyword arguments on whatever the factory's
``create_remote_scheduler`` returns. Here that is a :class:`LuigiSchedulerAdapter` around a
:class:`~xrsched.client.RemoteScheduler` (TLS, token, retries with request ids). The adapter
makes the two sides meet:

* arguments: ``None`` inside structs and lists is dropped (XML-RPC has no null and xrsched
  never sends ``<nil/>``), and the worker info Luigi sends as ``(name, value)`` pairs becomes a
  struct;
* replies: keys the wire left out come back as None, except ``batch_id``/``batch_task_ids`` in
  ``get_work``, which Luigi's worker only expects when a batch was handed out;
* processes: Luigi forks a process per task when it runs several at once; a forked copy of the
  adapter opens its own connection instead of sharing the parent's.

The URL Luigi computes from its own configuration (``[core] scheduler_url``) is ignored: the
factory's is used. Luigi is imported only inside the factory's methods, never by xrsched.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xrsched.client import SCHEDULER_METHODS, RemoteScheduler

_BATCH_KEYS = ("batch_id", "batch_task_ids")


def without_none(value: Any) -> Any:
    """``value`` with None members of dicts and None items of lists/tuples removed, recursively."""
    if isinstance(value, Mapping):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [without_none(v) for v in value if v is not None]
    return value


class LuigiSchedulerAdapter:
    """Luigi's scheduler interface (``add_task``, ``get_work``, ``ping``, ...) over a RemoteScheduler."""

    def __init__(self, client: RemoteScheduler) -> None:
        self._client = client
        self._pid = os.getpid()

    def _remote(self) -> RemoteScheduler:
        if os.getpid() != self._pid:  # a forked task process: never share the parent's sockets
            self._client = pickle.loads(pickle.dumps(self._client))  # noqa: S301 (our own object)
            self._pid = os.getpid()
        return self._client

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` the way Luigi's worker does, with arguments and reply adapted."""
        if method == "add_worker":
            args, kwargs = _worker_info(args, kwargs)
        clean_args = tuple(without_none(a) for a in args)
        clean_kwargs = {k: without_none(v) for k, v in kwargs.items() if v is not None}
        reply = self._remote().call(method, *clean_args, **clean_kwargs)
        if method == "get_work" and isinstance(reply, dict):
            for key in _BATCH_KEYS:
                if reply.get(key) is None:
                    reply.pop(key, None)
            reply.setdefault("running_tasks", [])
        return reply

    def close(self) -> None:
        """Close the client's connections (Luigi calls this when its worker is done)."""
        self._client.close()

    def __getattr__(self, name: str) -> Any:
        if name not in SCHEDULER_METHODS:
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        return {"client": self._client}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._client = state["client"]
        self._pid = os.getpid()


def _worker_info(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Luigi sends worker info as a list of (name, value) pairs, some values None: make it a struct."""
    kwargs = dict(kwargs)
    if len(args) >= 2:
        kwargs.setdefault("worker", args[0])
        kwargs["info"] = args[1]
        args = ()
    info = kwargs.get("info")
    if isinstance(info, list | tuple):
        info = dict(pair for pair in info if isinstance(pair, list | tuple) and len(pair) == 2)
    if isinstance(info, dict):
        kwargs["info"] = {str(k): v if isinstance(v, bool | int | float) else str(v) for k, v in info.items()
                          if v is not None}  # fmt: skip
    return args, kwargs


class XrschedFactory:
    """A ``worker_scheduler_factory`` for ``luigi.build`` that schedules through xrsched.

    ``url``, ``token``, ``ca`` and any other keyword are passed to
    :class:`~xrsched.client.RemoteScheduler`. ``luigi.build(..., local_scheduler=True)`` still
    gets Luigi's own in-process scheduler.
    """

    def __init__(self, url: str, token: str | None = None, ca: str | Path | None = None, **client_options: Any) -> None:
        self.url = url
        self.token = token
        self.ca = ca
        self.client_options = client_options

    def create_local_scheduler(self) -> Any:
        """Luigi's in-process scheduler, as Luigi's default factory makes it."""
        from luigi import scheduler

        return scheduler.Scheduler(prune_on_get_work=True, record_task_history=False)

    def create_remote_scheduler(self, url: str | None = None) -> LuigiSchedulerAdapter:
        """The xrsched server (Luigi's ``url`` is ignored in favour of the factory's)."""
        return LuigiSchedulerAdapter(RemoteScheduler(self.url, self.token, self.ca, **self.client_options))

    def create_worker(self, scheduler: Any, worker_processes: int, assistant: bool = False) -> Any:
        """Luigi's own worker, talking to ``scheduler``."""
        from luigi import worker

        return worker.Worker(scheduler=scheduler, worker_processes=worker_processes, assistant=assistant)
