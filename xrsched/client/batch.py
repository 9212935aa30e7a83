"""Many calls in few requests: ``system.multicall`` chunks with per-entry results and faults.

Each call gets its own request id in its own ``__starstar`` struct, so resending a chunk
(after a lost reply) or just its ``429``/``503`` entries is as safe as retrying one call.
A chunk holds at most ``max_entries`` calls (never more than the server's default limit of
1000); one failing entry never hides the others: its exception takes its place in the results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xrsched.client.errors import ClientError, MalformedResponse, SchedulerFault
from xrsched.client.remote import SCHEDULER_METHODS, name_arguments, new_request_id
from xrsched.client.wire import MULTICALL, as_fault, restore

if TYPE_CHECKING:
    from xrsched.client.remote import RemoteScheduler

#: The server's default ``max_multicall``; larger chunks would be refused as a whole.
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class Call:
    """One call to put in a multicall: a method name and its keyword arguments."""

    method: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


class _RetryEntries(ClientError):
    """Some entries of a chunk were answered 429/503; resend just those."""

    retryable = True


_UNSET: Any = object()


class BatchEntry:
    """The eventual result of one call in a :class:`MultiCallBatch`."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self._outcome: Any = _UNSET

    @property
    def done(self) -> bool:
        """Whether the batch was sent and this entry has an answer."""
        return self._outcome is not _UNSET

    @property
    def error(self) -> ClientError | None:
        """The exception this entry ended with, or None."""
        return self._outcome if isinstance(self._outcome, ClientError) else None

    def result(self) -> Any:
        """The call's value; raises the entry's exception, or RuntimeError before the batch is sent."""
        if self._outcome is _UNSET:
            raise RuntimeError(f"{self.call.method}: the batch has not been sent yet")
        if isinstance(self._outcome, ClientError):
            raise self._outcome
        return self._outcome

    def _settle(self, outcome: Any) -> None:
        self._outcome = outcome


class MultiCallBatch:
    """Collects calls (``batch.add_task(...)`` or ``batch.call(name, ...)``) and sends them together.

    Used as a context manager it sends on a clean exit; :meth:`send` sends explicitly. Each
    collected call returns a :class:`BatchEntry` whose ``result()`` gives its value or raises.
    """

    def __init__(self, scheduler: RemoteScheduler, max_entries: int = 500) -> None:
        self._scheduler = scheduler
        self._max_entries = _check_max(max_entries)
        self._entries: list[BatchEntry] = []

    def call(self, method: str, *args: Any, **kwargs: Any) -> BatchEntry:
        """Queue ``method(*args, **kwargs)``; positional arguments are named as in RemoteScheduler."""
        entry = BatchEntry(Call(method, name_arguments(method, args, kwargs)))
        self._entries.append(entry)
        return entry

    def __getattr__(self, name: str) -> Any:
        if name in SCHEDULER_METHODS:
            return lambda *args, **kwargs: self.call(name, *args, **kwargs)
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(self._entries)

    def send(self) -> list[BatchEntry]:
        """Send every queued call; returns the entries (each now ``done``) and empties the batch."""
        entries, self._entries = self._entries, []
        outcomes = send_many(self._scheduler, [e.call for e in entries], self._max_entries)
        for entry, outcome in zip(entries, outcomes, strict=True):
            entry._settle(outcome)
        return entries

    def __enter__(self) -> MultiCallBatch:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.send()


def send_many(
    scheduler: RemoteScheduler,
    calls: Iterable[Call | tuple[str, Mapping[str, Any]]],
    max_entries: int = 500,
) -> list[Any]:
    """Send ``calls`` in multicalls of at most ``max_entries``; per call a value or an exception.

    Entries answered with a fault get the fault's exception; an error that sinks a whole
    chunk (the server refusing the multicall, a connection lost for good) is raised.
    """
    size = _check_max(max_entries)
    prepared: list[tuple[str, list[Any]]] = []
    for item in calls:
        call = item if isinstance(item, Call) else Call(item[0], item[1])
        params = scheduler.prepare(call.method, (), dict(call.kwargs), new_request_id())
        prepared.append((call.method, params))
    results: list[Any] = []
    for start in range(0, len(prepared), size):
        results.extend(_send_chunk(scheduler, prepared[start : start + size]))
    return results


def _send_chunk(scheduler: RemoteScheduler, chunk: list[tuple[str, list[Any]]]) -> list[Any]:
    results: list[Any] = [None] * len(chunk)
    pending = list(range(len(chunk)))
    header_id = new_request_id()  # for the audit log; each entry carries its own id
    try:
        for attempt in scheduler.retrying(f"{MULTICALL} of {len(chunk)} calls"):
            with attempt:
                entries = [{"methodName": chunk[i][0], "params": chunk[i][1]} for i in pending]
                answers = scheduler.post_once(MULTICALL, [entries], header_id)
                if not isinstance(answers, list) or len(answers) != len(pending):
                    raise MalformedResponse("multicall answer does not have one entry per call")
                for index, answer in zip(pending, answers, strict=True):
                    results[index] = _entry_outcome(chunk[index][0], answer)
                pending = [i for i in pending if _retryable_fault(results[i])]
                if pending:  # raised from a fault, so that a 503 (a standby) moves the client on
                    first = results[pending[0]]
                    raise _RetryEntries(f"{len(pending)} entries answered {first.code}") from first
    except _RetryEntries:
        pass  # out of retries: those entries keep their 429/503 faults
    return results


def _retryable_fault(outcome: Any) -> bool:
    return isinstance(outcome, SchedulerFault) and outcome.retryable


def _entry_outcome(method: str, answer: Any) -> Any:
    if isinstance(answer, list) and len(answer) == 1:
        return restore(method, answer[0])
    if isinstance(answer, dict):
        return as_fault(answer)
    raise MalformedResponse("a multicall entry must be [value] or a fault struct")


def _check_max(max_entries: int) -> int:
    if not 1 <= max_entries <= MAX_ENTRIES:
        raise ValueError(f"max_entries must be between 1 and {MAX_ENTRIES}")
    return max_entries
