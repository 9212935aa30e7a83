"""Differential test: one scripted sequence of calls, run against Luigi's own scheduler
(``luigi.scheduler.Scheduler``, in process) and against xrsched, replies compared (issue 14).

The script covers every public method of Luigi's scheduler API, with Luigi's keyword names.
Replies are compared after :func:`normalise`: times (both sides read the same real clock,
but not at the same instant) become a marker, message ids a per-side reference, and lists
Luigi builds from sets or dicts are sorted.

The xrsched side is pluggable: each entry of ``XRSCHED_CALLERS`` builds a caller that takes
``(method, kwargs)`` and returns the reply as a client of that path would see it:

* ``service``: the in-process :class:`~xrsched.service.SchedulerService`;
* ``api``: a real server over TLS asked through ``/api/<method>`` by Luigi's own
  ``luigi.rpc.RemoteScheduler`` (JSON, Luigi's nulls and exact keys);
* ``xmlrpc``: the same server through ``/RPC2`` with the stdlib's ``ServerProxy`` and the
  ``__starstar`` keyword convention. XML-RPC has no ``<nil/>`` in replies, so for this side
  only, Luigi's replies are compared as that wire carries them (:func:`xmlrpc_wire`).

The servers run the script's POLICY and RESOURCES as their ``[scheduler]`` and
``[resources]`` tables. What a server answers on purpose unlike Luigi is listed in
``SERVER_DIFFERS`` and in README.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.server.conftest import LiveServer, live_server_factory  # noqa: F401 (fixture)
from xrsched.core import PUBLIC_METHODS, Scheduler, SchedulerConfig
from xrsched.core.scheduler import XRSCHED_ONLY_METHODS
from xrsched.service import SchedulerService

luigi_scheduler = pytest.importorskip("luigi.scheduler")
luigi_rpc = pytest.importorskip("luigi.rpc")

#: Policy for both sides: long delays, so nothing times out while the script runs.
POLICY: dict[str, Any] = {
    "retry_delay": 3600.0,
    "remove_delay": 3600.0,
    "worker_disconnect_delay": 3600.0,
    "disable_window": 3600,
    "retry_count": 3,
    "disable_persist": 3600,
    "max_shown_tasks": 12,
    "send_messages": True,
}
RESOURCES = {"db": 2, "gpu": 1}

#: Reply members that carry a time.
TIME_KEYS = {"time_running", "start_time", "last_updated", "first_seen", "last_active", "started", "timestamp"}

Caller = Callable[[str, dict[str, Any]], Any]


def xrsched_policy() -> dict[str, Any]:
    """POLICY as xrsched's ``[scheduler]`` table: it always delivers messages, so Luigi's
    ``send_messages`` switch is not one of its keys."""
    return {key: value for key, value in POLICY.items() if key != "send_messages"}


@dataclass(frozen=True)
class Harness:
    """What a caller factory may use: a real server started with the script's policy and
    resources (stopped at the end of the test), and the test's environment."""

    start: Callable[..., LiveServer]
    monkeypatch: pytest.MonkeyPatch

    def start_server(self) -> LiveServer:
        return self.start(scheduler=xrsched_policy(), resources=dict(RESOURCES))


@dataclass(frozen=True)
class Ref:
    """A value taken from an earlier reply of the same side (e.g. a message id)."""

    name: str


def luigi_caller() -> Caller:
    """Luigi 3.8's scheduler in process, as luigid's ``/api/`` handler calls it."""
    sched = luigi_scheduler.Scheduler(resources=dict(RESOURCES), **POLICY)

    def call(method: str, kwargs: dict[str, Any]) -> Any:
        return getattr(sched, method)(**kwargs)

    return call


def service_caller(harness: Harness) -> Caller:
    """xrsched's service over the core, in process (what every RPC codec dispatches to)."""
    service = SchedulerService(Scheduler(SchedulerConfig(**xrsched_policy()), dict(RESOURCES)))

    def call(method: str, kwargs: dict[str, Any]) -> Any:
        return service.call(method, **kwargs)

    return call


def api_caller(harness: Harness) -> Caller:
    """A real server over TLS, asked through ``/api/<method>`` by ``luigi.rpc.RemoteScheduler``:
    the client Luigi's workers and scripts use (form field ``data``, reply ``{"response": ...}``
    unwrapped, credentials in the URL sent as HTTP Basic, the CA from ``REQUESTS_CA_BUNDLE``)."""
    live = harness.start_server()
    harness.monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(live.ca))
    base = live.url.removesuffix("/RPC2")
    remote = luigi_rpc.RemoteScheduler(base.replace("https://", f"https://admin:{live.admin}@", 1))
    remote._rpc_retry_wait = 0  # a failure shows at once instead of after 3 x 30 s

    def call(method: str, kwargs: dict[str, Any]) -> Any:
        return getattr(remote, method)(**kwargs)

    return call


def xmlrpc_caller(harness: Harness) -> Caller:
    """The same server through ``/RPC2`` with the stdlib's ``ServerProxy``, keyword arguments
    in a trailing struct marked ``__starstar`` (DESIGN section 2)."""
    live = harness.start_server()
    proxy = live.proxy(live.admin)

    def call(method: str, kwargs: dict[str, Any]) -> Any:
        return getattr(proxy, method)({**kwargs, "__starstar": True})

    return call


def xmlrpc_wire(value: Any) -> Any:
    """What XML-RPC can carry of a Luigi reply: no ``<nil/>``, so a None reply is ``true`` and
    None members of a struct are left out (DESIGN section 2). Applied to Luigi's side only."""
    return True if value is None else _without_none(value)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple | set):
        return [_without_none(item) for item in value]
    return value


#: What a real server answers on purpose unlike Luigi's defaults (README, "Where xrsched
#: differs from Luigi"): it keeps a durable task history, so ``has_task_history`` is true.
SERVER_DIFFERS: dict[str, Any] = {"has_task_history": True}


@dataclass(frozen=True)
class Side:
    """One xrsched path: how to build its caller, what its wire makes of Luigi's replies, and
    the methods whose answer differs from Luigi's on purpose (method -> xrsched's answer)."""

    build: Callable[[Harness], Caller]
    wire: Callable[[Any], Any] = lambda value: value
    differs: dict[str, Any] = field(default_factory=dict)


#: name -> one xrsched path the script runs against.
XRSCHED_CALLERS: dict[str, Side] = {
    "service": Side(service_caller),
    "api": Side(api_caller, differs=SERVER_DIFFERS),
    "xmlrpc": Side(xmlrpc_caller, xmlrpc_wire, differs=SERVER_DIFFERS),
}


# ---------------------------------------------------------------------- the script


def task(worker: str, task_id: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    """An ``add_task`` as Luigi's worker sends it."""
    kwargs: dict[str, Any] = {
        "worker": worker,
        "task_id": task_id,
        "status": "PENDING",
        "runnable": True,
        "family": task_id.split("_")[0],
        "module": "pipeline",
        "params": {"n": task_id.split("_")[-1]},
        "param_visibilities": {"n": 0},
        "priority": 0,
        "resources": {},
        "deps": [],
    }
    kwargs.update(extra)
    return "add_task", kwargs


def script() -> Iterator[tuple[str, dict[str, Any]]]:
    """The sequence of calls: three workers run a small pipeline with failures, resources,
    a batch, messages, an operator's interventions and the visualiser's listings."""
    for worker, processes in (("W1", 2), ("W2", 1), ("W3", 1)):
        yield "add_worker", {"worker": worker, "info": {"workers": processes, "host": "h-" + worker}}
        yield "ping", {"worker": worker}
    # A fan-in: Sum_0 needs Load_0..Load_7; Load_k needs Raw_k (an external task).
    loads = [f"Load_{k}" for k in range(8)]
    for k in range(8):
        yield task("W1", f"Raw_{k}", status="DONE", runnable=False)
        yield task("W1", f"Load_{k}", deps=[f"Raw_{k}"], resources={"db": 1}, priority=k)
    yield task("W1", "Sum_0", deps=loads, priority=1)
    for k in range(0, 8, 2):
        yield task("W2", f"Load_{k}", deps=[f"Raw_{k}"], resources={"db": 1}, priority=k)
    yield from listings()
    # Run the loads: W1 and W2 ask, report DONE, one fails twice.
    for _ in range(5):
        for worker in ("W1", "W2"):
            yield "get_work", {"worker": worker, "host": "h-" + worker}
            yield "count_pending", {"worker": worker}
        yield "resource_list", {}
        yield "worker_list", {}
    for k in range(7, -1, -1):
        runner = "W1" if k % 2 else "W2"
        if k == 3:
            yield task(runner, "Load_3", status="FAILED", expl="boom: disk full", resources={"db": 1}, priority=3)
        else:
            yield task(runner, f"Load_{k}", status="DONE", resources={"db": 1}, priority=k)
    yield from listings()
    yield "fetch_error", {"task_id": "Load_3"}
    yield "fetch_error", {"task_id": "Load_0"}
    yield "fetch_error", {"task_id": "nope"}
    yield "forgive_failures", {"task_id": "Load_3"}
    yield "get_work", {"worker": "W1"}
    yield "set_task_status_message", {"task_id": "Load_3", "status_message": "retrying"}
    yield "get_task_status_message", {"task_id": "Load_3"}
    yield "set_task_progress_percentage", {"task_id": "Load_3", "progress_percentage": 40}
    yield "get_task_progress_percentage", {"task_id": "Load_3"}
    yield "get_running_task_resources", {"task_id": "Load_3"}
    yield "decrease_running_task_resources", {"task_id": "Load_3", "decrease_resources": {"db": 1}}
    yield "get_running_task_resources", {"task_id": "Load_3"}
    yield "resource_list", {}
    yield from messages()
    yield task("W1", "Load_3", status="DONE", resources={"db": 1}, priority=3)
    yield "get_work", {"worker": "W1", "current_tasks": []}
    yield task("W1", "Sum_0", status="DONE", deps=loads, priority=1)
    yield from listings()
    yield from batch()
    yield from operator()
    yield from resources()
    yield from listings()
    for worker in ("W1", "W2", "W3"):
        yield "count_pending", {"worker": worker}
        yield "ping", {"worker": worker}


def listings() -> Iterator[tuple[str, dict[str, Any]]]:
    """What the visualiser asks, over every status and a few filters."""
    for status in ("", "PENDING", "RUNNING", "DONE", "FAILED", "DISABLED", "UNKNOWN", "BATCH_RUNNING"):
        yield "task_list", {"status": status, "upstream_status": ""}
    yield "task_list", {"status": "PENDING", "upstream_status": "UPSTREAM_FAILED"}
    yield "task_list", {"status": "PENDING", "upstream_status": "UPSTREAM_RUNNING", "limit": False}
    yield "task_list", {"status": "", "upstream_status": "UPSTREAM_DISABLED"}
    yield "task_list", {"status": "", "upstream_status": "", "search": "Load"}
    yield "task_list", {"status": "DONE", "upstream_status": "", "max_shown_tasks": 100}
    yield "task_search", {"task_str": "Load"}
    yield "task_search", {"task_str": "zzz"}
    yield "worker_list", {}
    yield "worker_list", {"include_running": False}
    yield "graph", {}
    yield "dep_graph", {"task_id": "Sum_0"}
    yield "dep_graph", {"task_id": "Sum_0", "include_done": False}
    yield "inverse_dep_graph", {"task_id": "Raw_0"}
    yield "inverse_dep_graph", {"task_id": "Raw_0", "include_done": False}
    yield "dep_graph", {"task_id": "nope"}


def messages() -> Iterator[tuple[str, dict[str, Any]]]:
    """A message to a worker and its answer, through ``ping``."""
    yield "send_scheduler_message", {"worker": "W1", "task": "Load_3", "content": "hello"}, "msg"
    yield "ping", {"worker": "W1"}
    yield "ping", {"worker": "W1"}
    yield "add_scheduler_message_response", {"task_id": "Load_3", "message_id": Ref("msg"), "response": "hi"}
    yield "get_scheduler_message_response", {"task_id": "Load_3", "message_id": Ref("msg")}
    yield "get_scheduler_message_response", {"task_id": "Load_3", "message_id": "unknown"}
    yield "set_worker_processes", {"worker": "W2", "n": 3}
    yield "ping", {"worker": "W2"}
    yield "report_task_statistics", {"task_id": "Load_3", "statistics": {"rows": 10}}
    yield "has_task_history", {}


def batch() -> Iterator[tuple[str, dict[str, Any]]]:
    """A batchable family handed out as one batch."""
    yield "add_task_batcher", {"worker": "W3", "task_family": "Day", "batched_args": ["d"], "max_batch_size": 3}
    for day in range(5):
        yield task("W3", f"Day_{day}", family="Day", params={"d": str(day)}, batchable=True)
    yield "get_work", {"worker": "W3"}
    yield "task_list", {"status": "BATCH_RUNNING", "upstream_status": ""}
    yield "get_work", {"worker": "W3", "current_tasks": []}
    yield "count_pending", {"worker": "W3"}


def operator() -> Iterator[tuple[str, dict[str, Any]]]:
    """Pause, disabling, re-enabling and marking done."""
    yield "is_pause_enabled", {}
    yield "is_paused", {}
    yield "pause", {}
    yield "is_paused", {}
    yield task("W2", "Late_0")
    yield "get_work", {"worker": "W2"}
    yield "unpause", {}
    yield "is_paused", {}
    yield task("W2", "Fails_0", status="FAILED", expl="once")
    yield task("W2", "Fails_0", status="DISABLED")
    yield "task_list", {"status": "DISABLED", "upstream_status": ""}
    yield "re_enable_task", {"task_id": "Fails_0"}
    yield "mark_as_done", {"task_id": "Fails_0"}
    yield "task_list", {"status": "DONE", "upstream_status": "", "search": "Fails"}
    yield (
        "announce_scheduling_failure",
        {
            "worker": "W2",
            "task_name": "Broken(x=1)",
            "family": "Broken",
            "params": {"x": "1"},
            "expl": "could not build",
            "owners": [],
        },
    )
    yield "task_list", {"status": "FAILED", "upstream_status": ""}
    yield "fetch_error", {"task_id": "Broken(x=1)"}
    yield "disable_worker", {"worker": "W2"}
    yield "get_work", {"worker": "W2"}
    yield "worker_list", {}
    yield "prune", {}


def resources() -> Iterator[tuple[str, dict[str, Any]]]:
    """Capacities changed at run time."""
    yield "update_resources", {"gpu": 2, "db": 3}
    yield "update_resource", {"resource": "gpu", "amount": 4}
    yield "update_resource", {"resource": "gpu", "amount": -1}
    yield "resource_list", {}
    yield task("W1", "Train_0", resources={"gpu": 3})
    yield "get_work", {"worker": "W1"}
    yield "resource_list", {}
    yield task("W1", "Train_0", status="DONE", resources={"gpu": 3})


# ---------------------------------------------------------------------- comparing


def normalise(value: Any, refs: dict[str, Any]) -> Any:
    """A reply with its times replaced, this side's reference values named, and the lists
    Luigi builds from unordered containers sorted."""
    reverse = {v: f"<ref {k}>" for k, v in refs.items() if isinstance(v, str)}
    return _normalise(value, reverse)


def _normalise(value: Any, reverse: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: "<time>" if key in TIME_KEYS and isinstance(item, float | int) else _normalise(item, reverse)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set):
        items = [_normalise(item, reverse) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=repr))
    if isinstance(value, str):
        return reverse.get(value, value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def run_script(call: Caller, wire: Callable[[Any], Any] = lambda value: value) -> list[tuple[str, Any]]:
    """Every call's reply, as ``wire`` carries it, normalised, in order."""
    refs: dict[str, Any] = {}
    replies: list[tuple[str, Any]] = []
    for step in script():
        method, kwargs = step[0], step[1]
        kwargs = {k: refs[v.name] if isinstance(v, Ref) else v for k, v in kwargs.items()}
        answer = call(method, kwargs)
        if len(step) > 2:
            refs[step[2]] = answer["message_id"] if isinstance(answer, dict) else answer
        replies.append((method, normalise(wire(answer), refs)))
    return replies


def test_the_script_covers_every_public_method_and_is_long_enough():
    called = {step[0] for step in script()}
    assert set(PUBLIC_METHODS) - XRSCHED_ONLY_METHODS <= called
    assert not XRSCHED_ONLY_METHODS & called  # Luigi has no such method to compare with
    assert sum(1 for _ in script()) >= 200


@pytest.mark.parametrize("side", sorted(XRSCHED_CALLERS))
def test_xrsched_answers_every_call_as_luigi_does(side, live_server_factory, monkeypatch):  # noqa: F811
    path = XRSCHED_CALLERS[side]
    luigis = run_script(luigi_caller(), path.wire)
    stale = {method for method, reply in luigis if method in path.differs and reply == path.differs[method]}
    assert not stale, f"no longer a difference, take it out of the list: {sorted(stale)}"
    theirs = [(method, path.differs.get(method, reply)) for method, reply in luigis]
    ours = run_script(path.build(Harness(live_server_factory, monkeypatch)))
    differences = [
        f"call {i} {method}: luigi {a!r}\n{' ' * 12}xrsched {b!r}"
        for i, ((method, a), (_, b)) in enumerate(zip(theirs, ours, strict=True))
        if a != b
    ]
    assert not differences, "\n".join(differences[:15])
