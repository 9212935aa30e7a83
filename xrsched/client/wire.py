"""XML-RPC bytes for the client: ``methodCall`` documents out, ``methodResponse`` documents in.

Requests are written with the server's own value writer (:func:`xrsched.rpc.marshal.dump_value`),
so both sides agree on what goes on the wire: no ``<nil/>`` (``None`` keyword arguments are
left out, which means "the server's default"), ``<i8>`` past 32 bits, never ``nan``.

Responses are read by the server's parsers (:mod:`xrsched.rpc.treeparse`, else
:mod:`xrsched.rpc.parse`) and liberal scalar decoders, so ``<nil/>``, ``<ex:nil/>`` and ``<i8>``
from other servers read fine. Since our server leaves out the ``None`` members of a struct,
:func:`restore` puts back, as None, the keys Luigi's callers read directly (``reply["task_id"]``);
its tables follow :mod:`xrsched.core`, and unknown methods pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from xrsched.client.errors import EncodeError, MalformedResponse, SchedulerFault, fault_error
from xrsched.requestid import REQUEST_ID_MEMBER
from xrsched.rpc.faults import ProtocolError
from xrsched.rpc.marshal import MarshalError, dump_value, escape_text
from xrsched.rpc.treeparse import parse_response_tree

STARSTAR = "__starstar"
MULTICALL = "system.multicall"
DEFAULT_MAX_DEPTH = 100

_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'


def keyword_struct(kwargs: Mapping[str, Any], request_id: str | None) -> dict[str, Any]:
    """The trailing ``__starstar`` struct carrying ``kwargs`` (None values left out) and the id."""
    struct: dict[str, Any] = {STARSTAR: True}
    for name, value in kwargs.items():
        if value is not None:
            struct[name] = value
    if request_id is not None:
        struct[REQUEST_ID_MEMBER] = request_id
    return struct


def encode_call(method: str, params: Sequence[Any]) -> bytes:
    """A complete methodCall document for ``method(*params)``; EncodeError for unsendable values."""
    try:
        values = "".join(f"<param>{dump_value(p)}</param>" for p in params)
    except (MarshalError, RecursionError) as exc:
        raise EncodeError(f"{method}: cannot send the arguments: {exc}") from None
    return (
        f"{_HEADER}<methodCall><methodName>{escape_text(method)}</methodName><params>{values}</params></methodCall>\n"
    ).encode()


def malformed(message: str) -> MalformedResponse:
    return MalformedResponse(f"malformed XML-RPC response: {message}")


def decode_response(body: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The value a methodResponse carries, or the fault as a :class:`SchedulerFault`.

    A fault is *returned*, not raised, so multicall code and single calls can share this;
    a document that is not an acceptable methodResponse raises :class:`MalformedResponse`.
    Plain documents are read by :func:`~xrsched.rpc.treeparse.parse_response_tree`; the
    streaming parser (:func:`stream_response`) judges everything else.
    """
    parsed = parse_response_tree(body, max_depth)
    if parsed is not None:
        is_fault, value = parsed
        return as_fault(value) if is_fault else value
    return stream_response(body, max_depth=max_depth)


def stream_response(body: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """:func:`decode_response` through defusedxml's streaming driver only (any document, exact errors).

    :mod:`xrsched.rpc.parse` is imported on first use: the SAX machinery costs start-up time
    that the plain responses of the fast path never need.
    """
    from xrsched.rpc.parse import stream_response as stream

    try:
        is_fault, value = stream(body, max_depth)
    except ProtocolError as exc:
        raise malformed(exc.message.partition(": ")[2]) from None
    return as_fault(value) if is_fault else value


def as_fault(value: Any) -> SchedulerFault:
    """The exception for a ``{faultCode, faultString}`` struct (from a fault or a multicall entry)."""
    if not isinstance(value, dict):
        raise malformed("a fault must be a struct")
    code, text = value.get("faultCode"), value.get("faultString", "")
    if type(code) is not int or not isinstance(text, str):
        raise malformed("a fault needs an integer faultCode and a string faultString")
    return fault_error(code, text)


#: Keys of a task as listings show it (``serialize_task``) that are None when not applicable.
TASK_KEYS: tuple[str, ...] = (
    "worker_running",
    "time_running",
    "resources_running",
    "tracking_url",
    "status_message",
    "progress_percentage",
)

#: Method → keys its struct reply always carries in Luigi (None when there is nothing).
REPLY_KEYS: dict[str, tuple[str, ...]] = {
    "get_work": ("task_id", "task_family", "task_module", "task_params", "batch_id", "batch_task_ids"),
    "fetch_error": ("taskId", "error", "displayName", "taskParams", "taskModule", "taskFamily"),
    "get_task_status_message": ("taskId", "statusMessage"),
    "get_task_progress_percentage": ("taskId", "progressPercentage"),
    "get_running_task_resources": ("taskId", "resources"),
    "send_scheduler_message": ("message_id",),
    "get_scheduler_message_response": ("response",),
}


def _fill(struct: Any, keys: tuple[str, ...]) -> None:
    if isinstance(struct, dict):
        for key in keys:
            struct.setdefault(key, None)


def _task_map(tasks: Any) -> None:
    """``{task_id: task}``; other members (``num_tasks`` when a listing is too long) are left alone."""
    if isinstance(tasks, dict):
        for task in tasks.values():
            _fill(task, TASK_KEYS)


def _by_status(groups: Any) -> None:
    if isinstance(groups, dict):
        for tasks in groups.values():
            _task_map(tasks)


def _running_lists(entries: Any) -> None:
    """``worker_list`` and ``resource_list``: each entry's ``running`` is a task map."""
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict):
                _task_map(entry.get("running"))


def _history(entries: Any) -> None:
    """``task_history``: each recorded transition names its worker and host, or None."""
    if isinstance(entries, list):
        for entry in entries:
            _fill(entry, ("worker", "host"))


def _single_task(task: Any) -> None:
    if task:  # re_enable_task answers {} when the task was not disabled by the scheduler
        _fill(task, TASK_KEYS)


_SHAPES: dict[str, Callable[[Any], None]] = {
    "task_list": _task_map,
    "graph": _task_map,
    "dep_graph": _task_map,
    "inverse_dep_graph": _task_map,
    "task_search": _by_status,
    "worker_list": _running_lists,
    "resource_list": _running_lists,
    "re_enable_task": _single_task,
    "task_history": _history,
}


def restore(method: str, value: Any) -> Any:
    """``value`` (the reply of ``method``) with the expected-but-omitted members set to None."""
    keys = REPLY_KEYS.get(method)
    if keys is not None:
        _fill(value, keys)
    else:
        shape = _SHAPES.get(method)
        if shape is not None:
            shape(value)
    return value
