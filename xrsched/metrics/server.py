"""ServerMetrics: the registry of one server and every event that feeds it.

Each server owns its :class:`~prometheus_client.CollectorRegistry` (never the library's global
one), so two servers in one process count apart. Events arrive from the layers that see them:
the RPC layer (calls, outcomes, durations), authentication (failures by reason), the listener
(refused connections), the service (status transitions, ``get_work`` time, store writes).
Values that already exist elsewhere (tasks by status, workers, open connections, audit records
lost) are read when scraped, from O(1) counters: nothing is scanned per scrape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from xrsched.core.states import TASK_STATUSES

from .calls import CallMetrics
from .labels import OTHER, BoundedLabel
from .luigi_names import LuigiTaskMetrics, TaskView, Transition

#: Buckets for calls and commits: most calls take well under a millisecond to a few ms.
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: The method label of a name the server does not offer (never the name itself).
UNKNOWN_METHOD = "(unknown)"
#: Outcomes with a label of their own: "ok", the fault codes of DESIGN §2 and HTTP statuses.
KNOWN_OUTCOMES = (
    "ok",
    "-32700",
    "-32600",
    "-32601",
    "-32602",
    "-32603",
    "400",
    "401",
    "403",
    "404",
    "405",
    "409",
    "413",
    "429",
    "503",
)
#: HTTP statuses of requests refused before any method ran.
KNOWN_HTTP_STATUSES = (
    "400",
    "401",
    "403",
    "404",
    "405",
    "408",
    "411",
    "413",
    "414",
    "415",
    "429",
    "431",
    "500",
    "503",
    "505",
)
#: Reasons a connection is refused before any request is read (see README, "Metrics").
CONNECTION_REFUSALS = ("busy", "overflow", "plain_http", "handshake")
#: Authentication failure reasons beyond those known now that get a label of their own.
_MORE_AUTH_REASONS = 16

CountsSource = Callable[[], tuple[Mapping[str, int], int]]


class ServerMetrics:
    """Metric objects and the recording methods the server's layers call."""

    def __init__(self, *, methods: Iterable[str] = (), process: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.luigi = LuigiTaskMetrics(self.registry)
        self._method = BoundedLabel(methods)
        self._outcome = BoundedLabel(KNOWN_OUTCOMES)
        self._http_status = BoundedLabel(KNOWN_HTTP_STATUSES)
        self._auth_reason = BoundedLabel(limit=_MORE_AUTH_REASONS)
        self._labels_lock = threading.Lock()
        self._call_labels: dict[tuple[str, str | int], tuple[str, str]] = {}
        registry = self.registry
        self.calls = CallMetrics(
            ("xrsched_rpc_calls", "Method calls (XML-RPC, multicall entries, /api/) by method and outcome."),
            ("xrsched_rpc_call_duration_seconds", "Time to check, run and encode one method call."),
            FAST_BUCKETS,
        )
        registry.register(self.calls)
        self.get_work_seconds = Histogram(
            "xrsched_get_work_duration_seconds",
            "Time get_work spends in the scheduler: waiting for its lock and choosing a task.",
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self.http_refusals = Counter(
            "xrsched_http_refusals_total",
            "Requests refused before any method ran, by HTTP status.",
            ["status"],
            registry=registry,
        )
        self.auth_failures = Counter(
            "xrsched_auth_failures_total",
            "Requests whose credentials were missing, wrong or expired, by reason.",
            ["reason"],
            registry=registry,
        )
        self.store_errors = Counter(
            "xrsched_store_errors_total",
            "State store transactions that failed (their changes are retried).",
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "xrsched_store_commit_duration_seconds",
            "Time to write one state store transaction.",
            buckets=FAST_BUCKETS,
            registry=registry,
        )
        self.refused_connections = Counter(
            "xrsched_connections_refused_total",
            "Connections refused before a request was read, by reason.",
            ["reason"],
            registry=registry,
        )
        for reason in CONNECTION_REFUSALS:
            self.refused_connections.labels(reason)
        self.live = LiveValues()
        registry.register(self.live)
        if process:
            ProcessCollector(registry=registry)

    def set_methods(self, names: Iterable[str]) -> None:
        """The method names that get a label of their own (the server's method table)."""
        self._method = BoundedLabel(names)

    # -- events from the RPC layer -------------------------------------------------------------

    def rpc_call(self, method: str, outcome: str | int, seconds: float) -> None:
        """One call or multicall entry ended with ``outcome`` ("ok" or a fault code)."""
        key = (method, outcome)
        labels = self._call_labels.get(key)
        if labels is None:
            labels = self._labels_for(key)
        self.calls.record(labels[0], labels[1], seconds)

    def _labels_for(self, key: tuple[str, str | int]) -> tuple[str, str]:
        method = self._method(key[0])
        if method == OTHER:
            method = UNKNOWN_METHOD
        labels = (method, self._outcome(str(key[1])))
        with self._labels_lock:
            # Remember only names with a label of their own: unknown names are unbounded.
            if method != UNKNOWN_METHOD and len(self._call_labels) < 4096:
                self._call_labels[key] = labels
        return labels

    def http_refusal(self, status: int) -> None:
        """A request was refused at the HTTP level (401, 404, 413, ...)."""
        self.http_refusals.labels(self._http_status(str(status))).inc()

    def auth_failure(self, reason: str) -> None:
        """Credentials were refused; ``reason`` is the authenticator's short text."""
        self.auth_failures.labels(self._auth_reason(reason.strip().lower().replace(" ", "_") or "unknown")).inc()

    def connection_refused(self, reason: str) -> None:
        """A connection was refused before a request was read (one of :data:`CONNECTION_REFUSALS`)."""
        self.refused_connections.labels(reason if reason in CONNECTION_REFUSALS else OTHER).inc()

    # -- events from the service ---------------------------------------------------------------

    def transitions(self, method: str, transitions: Iterable[Transition], tasks: Mapping[str, TaskView]) -> None:
        """Status changes one call made (under the service's lock: cheap per transition)."""
        self.luigi.observe(method, transitions, tasks)

    def get_work(self, seconds: float) -> None:
        """``get_work`` took ``seconds`` in the scheduler."""
        self.get_work_seconds.observe(seconds)

    def store_write(self, seconds: float, ok: bool) -> None:
        """One transaction of the state store took ``seconds`` and committed or failed."""
        if ok:
            self.commit_seconds.observe(seconds)
        else:
            self.store_errors.inc()


class LiveValues(Collector):
    """Values read at scrape time from counters the server keeps anyway; unset sources are left out."""

    def __init__(self) -> None:
        self.scheduler: CountsSource | None = None
        self.connections: Callable[[], int] | None = None
        self.audit_errors: Callable[[], int] | None = None
        #: (leading, epoch) of a server sharing a PostgreSQL store; None for one on its own.
        self.leadership: Callable[[], tuple[bool, int]] | None = None

    def collect(self) -> Iterator[Metric]:
        """Tasks by status, workers, open connections, audit records lost, leadership."""
        if self.scheduler is not None:
            by_status, workers = self.scheduler()
            yield _tasks_family(by_status)
            yield GaugeMetricFamily(
                "xrsched_workers_active", "Workers the scheduler knows (not yet timed out).", value=workers
            )
        if self.connections is not None:
            yield GaugeMetricFamily(
                "xrsched_connections_open",
                "Connections holding a slot (handshaking, idle or busy).",
                value=self.connections(),
            )
        if self.audit_errors is not None:
            yield CounterMetricFamily(
                "xrsched_audit_write_errors", "Audit records that could not be written.", value=self.audit_errors()
            )
        if self.leadership is not None:
            leading, epoch = self.leadership()
            yield GaugeMetricFamily(
                "xrsched_ha_leader", "1 while this server leads its PostgreSQL store, 0 as a standby.", value=leading
            )
            yield GaugeMetricFamily("xrsched_ha_epoch", "The fencing epoch this server last saw.", value=epoch)

    def describe(self) -> Iterator[Metric]:
        """The names :meth:`collect` may yield (checked against the other collectors' names)."""
        yield _tasks_family({})
        yield GaugeMetricFamily("xrsched_workers_active", "", value=0)
        yield GaugeMetricFamily("xrsched_connections_open", "", value=0)
        yield CounterMetricFamily("xrsched_audit_write_errors", "", value=0)
        yield GaugeMetricFamily("xrsched_ha_leader", "", value=0)
        yield GaugeMetricFamily("xrsched_ha_epoch", "", value=0)


def _tasks_family(by_status: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily("xrsched_tasks", "Tasks the scheduler holds, by status.", labels=["status"])
    for status in TASK_STATUSES:
        family.add_metric([status], by_status.get(status, 0))
    return family
