"""RemoteScheduler: every scheduler method as a Python method, through a hardened ``ServerProxy``.

Arguments always travel as keyword arguments in the trailing ``__starstar`` struct of
DESIGN §2 (positional arguments are named from :data:`SCHEDULER_METHODS` first), because a
``None`` cannot be sent positionally without ``<nil/>`` while an omitted keyword simply
means "the server's default". Each logical call gets a fresh request id (128 random bits) in that
struct and keeps it across its retries, so the server answers a repeat with the first
answer (DESIGN §4b): a lost ``get_work`` reply never assigns a second task.
"""

from __future__ import annotations

import inspect
import logging
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xrsched.auth.tokenwatch import TokenFileWatcher
from xrsched.client.endpoint import MIB, ClientStats, TransportSettings, split_urls
from xrsched.client.failover import Cluster, Route
from xrsched.client.proxy import SchedulerProxy
from xrsched.client.retrying import Attempts, Patience, RetryPolicy
from xrsched.client.transport import SchedulerTransport
from xrsched.client.wire import keyword_struct, restore

if TYPE_CHECKING:
    from xrsched.client.batch import Call, MultiCallBatch

TOKEN_ENV = "XRSCHED_TOKEN"  # noqa: S105 (the variable's name, not a secret)
TOKEN_FILE_ENV = "XRSCHED_TOKEN_FILE"  # noqa: S105

#: Public method → parameter names in the documented order (docs/api.rst). Positional
#: arguments are named from here; a test keeps it in step with the server's signatures.
SCHEDULER_METHODS: dict[str, tuple[str, ...]] = {
    "add_task": ("task_id", "status", "runnable", "deps", "new_deps", "expl", "resources", "priority",
                 "family", "module", "params", "param_visibilities", "accepts_messages", "assistant",
                 "tracking_url", "worker", "batchable", "batch_id", "retry_policy_dict", "owners"),
    "add_worker": ("worker", "info"),
    "add_task_batcher": ("worker", "task_family", "batched_args", "max_batch_size"),
    "announce_scheduling_failure": ("task_name", "family", "params", "expl", "owners"),
    "get_work": ("host", "assistant", "current_tasks", "worker", "brief"),
    "ping": ("worker",),
    "count_pending": ("worker",),
    "set_task_status_message": ("task_id", "status_message"),
    "get_task_status_message": ("task_id",),
    "set_task_progress_percentage": ("task_id", "progress_percentage"),
    "get_task_progress_percentage": ("task_id",),
    "decrease_running_task_resources": ("task_id", "decrease_resources"),
    "get_running_task_resources": ("task_id",),
    "send_scheduler_message": ("worker", "task", "content"),
    "add_scheduler_message_response": ("task_id", "message_id", "response"),
    "get_scheduler_message_response": ("task_id", "message_id"),
    "report_task_statistics": ("task_id", "statistics"),
    "task_list": ("status", "upstream_status", "limit", "search", "max_shown_tasks"),
    "worker_list": ("include_running",),
    "resource_list": (),
    "task_search": ("task_str",),
    "graph": (),
    "dep_graph": ("task_id", "include_done"),
    "inverse_dep_graph": ("task_id", "include_done"),
    "fetch_error": ("task_id",),
    "overview": (),
    "task_page": ("status", "family", "search", "offset", "limit"),
    "task_info": ("task_id",),
    "has_task_history": (),
    "task_history": ("task_id",),
    "is_pause_enabled": (),
    "is_paused": (),
    "pause": (),
    "unpause": (),
    "prune": (),
    "disable_worker": ("worker",),
    "set_worker_processes": ("worker", "n"),
    "re_enable_task": ("task_id",),
    "mark_as_done": ("task_id",),
    "forgive_failures": ("task_id",),
    "update_resources": (),
    "update_resource": ("resource", "amount"),
    "audit_search": ("identity", "method", "outcome", "limit", "before"),
}  # fmt: skip

#: ``system.*`` methods other than multicall (which :mod:`xrsched.client.batch` speaks).
SYSTEM_METHODS: dict[str, tuple[str, ...]] = {
    "system.listMethods": (),
    "system.methodHelp": ("method_name",),
    "system.methodSignature": ("method_name",),
    "system.getCapabilities": (),
    "system.health": (),
}
_PARAMS = {**SCHEDULER_METHODS, **SYSTEM_METHODS}


log = logging.getLogger("xrsched.client")


class TokenError(ValueError):
    """The token cannot be used: its file is missing, unreadable or empty, or it holds
    characters an HTTP header cannot carry. The message is one line naming the file."""


def new_request_id() -> str:
    """A fresh id for one logical call: 128 random bits as 32 hex digits, as unique as a uuid4
    without building one (the server accepts ``[A-Za-z0-9._:-]{1,128}``)."""
    return os.urandom(16).hex()


def name_arguments(method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` plus ``args`` named in the documented order of ``method``; TypeError as Python's."""
    names = _PARAMS.get(method)
    if args and names is None:
        raise TypeError(f"{method}: unknown method, pass its arguments by keyword")
    if args and len(args) > len(names or ()):
        raise TypeError(f"{method}() takes at most {len(names or ())} positional arguments")
    named = dict(kwargs)
    for name, value in zip(names or (), args, strict=False):
        if name in named:
            raise TypeError(f"{method}() got multiple values for argument {name!r}")
        named[name] = value
    return named


def read_token_file(path: Path) -> str:
    """The secret on the first non-blank line of ``path`` (TokenError if there is none or the file
    cannot be read); logs a warning if group or others can read it."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TokenError(f"token file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise TokenError(f"token file {path}: not UTF-8 text") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("token file %s is accessible by group or others; chmod 600 it", path)
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    raise TokenError(f"token file {path}: no token in it")


def resolve_token(
    token: str | None, token_file: str | Path | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The token to send, by the rule every xrsched client follows (flag > file > environment):
    ``token`` (a ``--token`` flag), else the token file (``token_file``, else
    ``$XRSCHED_TOKEN_FILE``), else ``$XRSCHED_TOKEN``, else None (no Authorization header).

    A token file that is named but missing, unreadable or empty is a :class:`TokenError`, never
    skipped for the next source.
    """
    env = os.environ if environ is None else environ
    path = token_file or env.get(TOKEN_FILE_ENV) or None
    if token:
        secret: str | None = token
    elif path:
        secret = read_token_file(Path(path))
    else:
        secret = env.get(TOKEN_ENV) or None
    if secret is None:
        return None
    secret = secret.strip()
    if not secret or not secret.isascii() or not secret.isprintable() or " " in secret:
        raise TokenError("the token must be printable ASCII without blanks: an HTTP header cannot carry it")
    return secret


def read_checked_token(path: Path) -> str:
    """The token in ``path``, checked as :func:`resolve_token` checks it (TokenError if unusable)."""
    return resolve_token(None, path, {}) or ""


def _token_watch(
    token: str | None, token_file: str | Path | None, environ: Mapping[str, str] | None, secret: str | None
) -> TokenFileWatcher | None:
    """A watcher of the token file the secret came from (same rule as :func:`resolve_token`)."""
    env = os.environ if environ is None else environ
    path = None if token else token_file or env.get(TOKEN_FILE_ENV)
    return TokenFileWatcher(Path(path), secret, read_checked_token) if path and secret else None


class RemoteScheduler:
    """A client for one xrsched server, or a leader and its standbys; safe to share between
    threads, picklable.

    Every scheduler method of docs/api.rst is a method here (``add_task``, ``get_work``,
    ``ping``, ...) taking its parameters positionally or by keyword; ``None`` means "leave
    it out". Faults become :mod:`xrsched.client.errors` exceptions; connection errors,
    timeouts, 429 and 503 are retried with backoff. Use :meth:`batch` or :meth:`send_many`
    to send many calls as ``system.multicall`` requests.

    ``url`` is ``https://host[:port][/path]`` (port 8082, path ``/RPC2`` by default), or
    ``unix:/run/xrsched.sock`` for a server's ``--unix-socket`` (no TLS there). Several URLs
    (a leader and its standbys) are given as ``urls=[...]`` or as one comma-separated ``url``:
    they share the CA and the token, calls go to one of them at a time and follow the leader
    within the retry budget (:mod:`xrsched.client.failover`). The token
    comes from ``token``, else ``token_file`` / ``$XRSCHED_TOKEN_FILE``, else ``$XRSCHED_TOKEN``
    (:func:`resolve_token`); ``environ`` replaces ``os.environ`` for that lookup. A token from a
    file is re-read when the file changes, so a rotated secret reaches a running client. ``timeout`` is
    the ``read_timeout`` of :class:`~xrsched.client.endpoint.TransportSettings`, which explains
    the other connection options; ``retries``, ``backoff``, ``max_backoff``, ``max_retry_after``
    and ``deadline`` are the :class:`~xrsched.client.retrying.RetryPolicy`. Calls go through
    :attr:`proxy` (a ``ServerProxy``) over :attr:`transport` (a ``SafeTransport``).
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        ca: str | Path | None = None,
        timeout: float = 60.0,
        retries: int = 5,
        *,
        token_file: str | Path | None = None,
        verify: bool = True,
        client_cert: str | Path | None = None,
        client_key: str | Path | None = None,
        connect_timeout: float = 10.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        deadline: float | None = None,
        max_response_bytes: int = 64 * MIB,
        environ: Mapping[str, str] | None = None,
        urls: Sequence[str] | None = None,
    ) -> None:
        if (url is None) == (urls is None):
            raise ValueError("give the scheduler as url or as urls, not both or neither")
        settings = TransportSettings(
            ca=Path(ca) if ca is not None else None,
            verify=verify,
            client_cert=Path(client_cert) if client_cert is not None else None,
            client_key=Path(client_key) if client_key is not None else None,
            connect_timeout=connect_timeout,
            read_timeout=timeout,
            max_response_bytes=max_response_bytes,
        )
        self.policy = RetryPolicy(retries, backoff, max_backoff, max_retry_after, deadline)
        #: Bounds an outage across all calls when set (the worker sets one: --unreachable-timeout).
        self.patience: Patience | None = None
        secret = resolve_token(token, token_file, environ)
        # One token-file watcher per URL: each transport takes a rotated secret into its own head.
        transports = [
            SchedulerTransport(u, secret, settings, token_watch=_token_watch(token, token_file, environ, secret))
            for u in split_urls(urls if url is None else url)
        ]
        self.cluster = Cluster(transports, ClientStats())

    @property
    def urls(self) -> tuple[str, ...]:
        """Every scheduler URL this client was given, in order."""
        return tuple(member.url for member in self.cluster.members)

    @property
    def url(self) -> str:
        """The scheduler URL this client talks to now."""
        return self.cluster.current.url

    @property
    def transport(self) -> SchedulerTransport:
        """The transport to the scheduler URL in use now."""
        return self.cluster.current.transport

    @property
    def proxy(self) -> SchedulerProxy:
        """The ``ServerProxy`` for the scheduler URL in use now."""
        return self.cluster.current.proxy

    @property
    def stats(self) -> ClientStats:
        """Connections opened, HTTP requests sent, retries and moves between URLs of this client."""
        return self.cluster.stats

    def __repr__(self) -> str:
        return f"RemoteScheduler({','.join(self.urls)!r})"  # never the token

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the open connections; the client stays usable and reconnects when called."""
        self.cluster.close()

    def __enter__(self) -> RemoteScheduler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        members = self.cluster.members
        return {"transports": [m.transport for m in members], "current": self.cluster.current_index,
                "policy": self.policy}  # fmt: skip

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.cluster = Cluster(state["transports"], ClientStats(), state["current"])
        self.policy = state["policy"]
        self.patience = None

    # -- calling --------------------------------------------------------------------------------

    def call(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` with a fresh request id, retrying as the policy allows."""
        request_id = new_request_id()
        params = self.prepare(method, args, kwargs, request_id)
        for attempt in self.retrying(method):
            with attempt:
                value = self.post_once(method, params, request_id)
        return restore(method, value)

    def prepare(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], request_id: str) -> list[Any]:
        """The XML-RPC params for ``method(*args, **kwargs)``: one ``__starstar`` struct."""
        return [keyword_struct(name_arguments(method, args, kwargs), request_id)]

    def retrying(self, what: str) -> Attempts:
        """The attempts of one logical call (see :class:`~xrsched.client.retrying.Attempts`),
        routed across the URLs when there are several."""
        route = Route(self.cluster) if len(self.cluster.members) > 1 else None
        return Attempts(self.policy, self.stats, what, self.patience, route)

    def post_once(self, method: str, params: list[Any], request_id: str) -> Any:
        """One exchange with the URL in use: the value, or raise the fault / transport error."""
        value = self.cluster.pick().proxy.invoke(method, *params, request_id=request_id)
        self.cluster.served()
        return value

    # -- batching ---------------------------------------------------------------------------------

    def batch(self, max_entries: int = 500) -> MultiCallBatch:
        """A :class:`~xrsched.client.batch.MultiCallBatch` that sends its calls on leaving ``with``."""
        from xrsched.client.batch import MultiCallBatch

        return MultiCallBatch(self, max_entries)

    def send_many(self, calls: Iterable[Call | tuple[str, Mapping[str, Any]]], max_entries: int = 500) -> list[Any]:
        """Send ``calls`` as multicalls; one result or exception instance per call, in order."""
        from xrsched.client.batch import send_many

        return send_many(self, calls, max_entries)

    if TYPE_CHECKING:  # the scheduler methods are generated below; tell type checkers they exist

        def __getattr__(self, name: str) -> Any: ...

    # -- system methods ---------------------------------------------------------------------------

    def list_methods(self) -> list[str]:
        """``system.listMethods``: every method name the server answers."""
        return self.call("system.listMethods")

    def method_help(self, method_name: str) -> str:
        """``system.methodHelp``: the first paragraph of a method's documentation."""
        return self.call("system.methodHelp", method_name=method_name)

    def method_signature(self, method_name: str) -> list[list[str]]:
        """``system.methodSignature``: XML-RPC type names, the return type first."""
        return self.call("system.methodSignature", method_name=method_name)

    def get_capabilities(self) -> dict[str, Any]:
        """``system.getCapabilities``: the XML-RPC extensions the server implements."""
        return self.call("system.getCapabilities")

    def health(self) -> dict[str, Any]:
        """``system.health``: the health document (DESIGN §5) as a struct."""
        return self.call("system.health")


def _scheduler_method(name: str, params: tuple[str, ...]) -> Any:
    def method(self: RemoteScheduler, *args: Any, **kwargs: Any) -> Any:
        return self.call(name, *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"RemoteScheduler.{name}"
    method.__doc__ = f"Call the scheduler's ``{name}`` (see docs/api.rst); None arguments are left out."
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    method.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", keyword)]
        + [inspect.Parameter(p, keyword, default=None) for p in params]
        + [inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)]
    )
    return method


for _name, _params in SCHEDULER_METHODS.items():
    setattr(RemoteScheduler, _name, _scheduler_method(_name, _params))
del _name, _params
