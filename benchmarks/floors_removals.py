"""The parts ``floors.py`` takes out of a call, one block at a time, in the benchmark process only.

A :class:`Bench` is one row's application (``percall.Server``) and workload. Each removal replaces
one object or function (an instance attribute over a method, a module global, or the bodies the
workload writes) and returns the undo that puts it back; nothing in ``xrsched/`` changes.
``tests/test_floors_bench_smoke.py`` checks that each really keeps its component from running.
"""

from __future__ import annotations

import contextlib
import xmlrpc.client
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import percall  # the application, workloads and bodies

CORE_METHODS = ("ping", "add_task", "get_work")


# --------------------------------------------------------------------------- one row's bench


@dataclass
class Bench:
    """One row: a server, its workload, and what the removals need between blocks."""

    row: str
    server: percall.Server
    workload: percall.Workload
    identity: object
    answers: dict[str, Any] = field(default_factory=dict)  # the core's last real answer per method
    parse_ahead: deque[Any] | None = None  # parsed bodies, while the parse is taken out
    kept: list[Any] | None = None  # values not marshalled, while marshalling is taken out
    frozen: bool = False  # the core is out: the workload's state must not move

    @property
    def pipelined(self) -> bool:
        return self.row != "multicall"


def make_bench(row: str, directory: Path, pool: int) -> Bench:
    """The bench of ``row`` in ``directory``, warmed up, with the core's answers recorded."""
    server = percall.Server(directory, store=None)
    identity = server.app.authenticate(server.headers, None, peer=percall.PEER)
    bench = Bench(row, server, percall.make_workload(row, server, pool), identity)
    with _recording(bench):
        for _ in range(20):  # warm-up, and the answers the core-less variant gives back
            bench.workload.check(server.post(bench.workload.next_body()))
    return bench


@contextlib.contextmanager
def _recording(bench: Bench) -> Iterator[None]:
    core = bench.server.service.core

    def recorder(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            bench.answers[name] = answer = real(*args, **kwargs)
            return answer

        return call

    for name in CORE_METHODS:
        setattr(core, name, recorder(name, getattr(core, name)))
    _expose_again(bench)
    try:
        yield
    finally:
        for name in CORE_METHODS:
            delattr(core, name)
        _expose_again(bench)


def _expose_again(bench: Bench) -> None:
    """The service's methods rebuilt (they capture the core's methods and the observer when
    built) and put back into the dispatcher."""
    service, dispatcher = bench.server.service, bench.server.app.dispatcher
    for name in CORE_METHODS:
        service._methods[name] = service._expose(name)
        dispatcher.replace_function(service._methods[name], name)


# ------------------------------------------------------------------------------- removals

Undo = Callable[[], None]


def _set(target: object, **values: Any) -> Undo:
    """Set attributes of ``target``; the undo puts the old values back."""
    old = {name: getattr(target, name) for name in values}
    for name, value in values.items():
        setattr(target, name, value)
    return lambda: [setattr(target, name, value) for name, value in old.items()] and None


def _shadow(target: object, **values: Any) -> Undo:
    """Instance attributes over ``target``'s methods; the undo removes them."""
    for name, value in values.items():
        setattr(target, name, value)
    return lambda: [delattr(target, name) for name in values] and None


def no_token(b: Bench) -> Undo:
    """``authenticate`` answers the identity it found once, without looking at the token."""
    identity = b.identity
    return _shadow(b.server.app, authenticate=lambda headers, cn, *, peer=None: identity)


def no_role(b: Bench) -> Undo:
    """No authorize hook in the dispatcher."""
    return _set(b.server.app.dispatcher, _authorize=None)


def no_audit_text(b: Bench) -> Undo:
    """A fixed line of the same length goes to the writer instead of the record's text."""
    audit = b.server.app.audit
    line = ('{"ts":"2026-12-06T14:00:00.000Z","peer":"127.0.0.1:50000","identity":"token:bench","role":"worker",'
            '"method":"add_task","outcome":"ok","duration_ms":0.123,"request_id":"' + "0" * 32 + '"}\n')  # fmt: skip
    return _shadow(audit, record_call=lambda *args, previous_secret=False: audit._append(line))


def no_audit_chain(b: Bench) -> Undo:
    """Lines are written as they come: no ``seq``, ``prev`` or SHA-256."""
    return _shadow(b.server.app.audit.chain, seal=lambda line: line.encode("ascii"), written=lambda data: None)


def no_audit_write(b: Bench) -> Undo:
    """The writer reports every byte written without ``os.write``."""
    return _shadow(b.server.app.audit, _write=lambda data: (len(data), None))


def no_audit(b: Bench) -> Undo:
    """No audit record and no batch around the request."""
    return _shadow(b.server.app.audit, record_call=lambda *args, previous_secret=False: None,
                   batch=contextlib.nullcontext)  # fmt: skip


def no_metrics(b: Bench) -> Undo:
    """No per-call counters, no transitions recorded for them, no ``get_work`` timer."""
    service, core = b.server.service, b.server.service.core
    undo_app = _set(b.server.app, metrics=None)
    undo_service = _set(service, _observer=None)
    core.tracking = False
    core.changes = core.fresh_changes()
    _expose_again(b)

    def undo() -> None:
        undo_app()
        undo_service()
        core.track_changes(transitions_only=True)
        _expose_again(b)

    return undo


def no_ownership(b: Bench) -> Undo:
    """The caller is unrestricted, so no ownership rule runs."""
    import xrsched.server.app as app_module

    real = app_module.Caller
    return _set(app_module, Caller=lambda identity, restricted, read_only: real(identity, False, read_only))


def no_reply_cache(b: Bench) -> Undo:
    """The reply cache finds nothing and keeps nothing."""
    return _shadow(b.server.service.replies, lookup=lambda *args: (False, None), remember=lambda *args: None)


def no_request_ids(b: Bench) -> Undo:
    """The bodies carry no ``__request_id`` (so the reply cache has nothing to do)."""
    real = percall._keywords

    def keywords(**kwargs: Any) -> dict[str, Any]:
        return {k: v for k, v in real(**kwargs).items() if k != "__request_id"}

    return _set(percall, _keywords=keywords)


def no_parse(b: Bench) -> Undo:
    """The bodies are parsed before the block; the dispatcher takes the next parsed one."""
    import xrsched.rpc.dispatch as dispatch

    b.parse_ahead = parsed = deque()
    undo = _set(dispatch, parse_call=lambda data, limits: parsed.popleft())

    def finish() -> None:
        undo()
        b.parse_ahead = None

    return finish


def no_marshal(b: Bench) -> Undo:
    """The reply is a fixed body; the values are kept aside for the check after the block."""
    import xrsched.rpc.dispatch as dispatch
    from xrsched.rpc.marshal import Rendered

    b.kept = kept = []
    sent = xmlrpc.client.dumps((True,), methodresponse=True).encode()

    def keep(value: Any) -> Rendered:
        kept.append(value)
        return Rendered("")

    undo = _set(dispatch, dump_response=lambda value: sent, dump_value=keep)

    def finish() -> None:
        undo()
        b.kept = None

    return finish


def no_core(b: Bench) -> Undo:
    """The core's methods give back their last real answer; the workload's state stays put."""
    core, answers = b.server.service.core, b.answers
    for name in CORE_METHODS:
        setattr(core, name, lambda *args, _name=name, **kwargs: answers[_name])
    _expose_again(b)
    b.frozen = True

    def undo() -> None:
        for name in CORE_METHODS:
            delattr(core, name)
        _expose_again(b)
        b.frozen = False

    return undo


@dataclass(frozen=True)
class Removal:
    """One variant of the call: ``apply`` takes its component out and returns the undo."""

    name: str
    required: bool
    apply: Callable[[Bench], Undo]


REQUIRED = (
    Removal("token check", True, no_token),
    Removal("role check", True, no_role),
    Removal("audit record text", True, no_audit_text),
    Removal("audit chain (seq, prev, SHA-256)", True, no_audit_chain),
    Removal("audit write", True, no_audit_write),
    Removal("metrics", True, no_metrics),
    Removal("ownership check", True, no_ownership),
    Removal("reply cache", True, no_reply_cache),
    Removal("request ids (and so the reply cache)", True, no_request_ids),
)
#: Disjoint required components whose savings are summed (the audit by its parts; request ids
#: include the reply cache). "audit, all" and "all required" are measured as one removal each.
SUMMED = ("token check", "role check", "audit record text", "audit chain (seq, prev, SHA-256)", "audit write",
          "metrics", "ownership check", "request ids (and so the reply cache)")  # fmt: skip


def _together(*removals: Callable[[Bench], Undo]) -> Callable[[Bench], Undo]:
    def apply(b: Bench) -> Undo:
        undos = [remove(b) for remove in removals]
        return lambda: [undo() for undo in reversed(undos)] and None

    return apply


REMOVALS = (
    Removal("full", False, lambda b: lambda: None),
    *REQUIRED,
    Removal("audit, all", True, no_audit),
    Removal("all required", True, _together(no_token, no_role, no_audit, no_metrics, no_ownership, no_request_ids)),
    Removal("XML parse", False, no_parse),
    Removal("marshalling of the reply", False, no_marshal),
    Removal("core call", False, no_core),
)
