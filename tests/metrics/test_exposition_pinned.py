"""The per-call metrics' exposition, pinned against prometheus_client's own metric objects.

The per-call families (``luigi_task_*`` and ``xrsched_get_work_duration_seconds``) are kept
by a collector of ours (one lock per call, not one per value). Scrapers, dashboards and
alerts must not see the difference: the reference below declares the same families the way
prometheus_client's ``Counter``, ``Gauge`` and ``Histogram`` keep them, is fed what a known
sequence of scheduler calls should count, and each family's text (HELP, TYPE, every sample
with its labels and value, the ``_created`` series) must match ours byte for byte; only the
``_created`` timestamps differ (they are the time each series was made).
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from xrsched.core import Scheduler, SchedulerConfig
from xrsched.metrics import ServerMetrics
from xrsched.metrics.server import FAST_BUCKETS
from xrsched.service import SchedulerService

W = "w1"
#: The families this file pins: those recorded on every scheduler call.
PER_CALL = (
    "luigi_task_started",
    "luigi_task_done",
    "luigi_task_failed",
    "luigi_task_disabled",
    "luigi_task_execution_time_seconds",
    "xrsched_get_work_duration_seconds",
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Reference:
    """The per-call families as prometheus_client's own objects (how main declared them)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.started = Counter("luigi_task_started_total", "Tasks handed out to a worker by get_work.", ["family"],
                               registry=r)  # fmt: skip
        self.done = Counter("luigi_task_done_total", "Tasks that became DONE.", ["family"], registry=r)
        self.failed = Counter("luigi_task_failed_total",
                              "Tasks that became FAILED (not counting failures that disabled them).", ["family"],
                              registry=r)  # fmt: skip
        self.disabled = Counter("luigi_task_disabled_total", "Tasks that became DISABLED.", ["family"], registry=r)
        self.execution_time = Gauge("luigi_task_execution_time_seconds",
                                    "Length of the last run of a task of this family that ended.", ["family"],
                                    registry=r)  # fmt: skip
        self.get_work = Histogram("xrsched_get_work_duration_seconds",
                                  "Time get_work spends in the scheduler: waiting for its lock and choosing a task.",
                                  buckets=FAST_BUCKETS, registry=r)  # fmt: skip


def family_blocks(text: str) -> dict[str, str]:
    """Each family's lines (from its ``# HELP`` on) by family name, ``_created`` values masked."""
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            current = blocks.setdefault(line.split()[2], [])
        if re.match(r"^[a-z_]+_created[ {]", line):
            line = re.sub(r" \S+$", " <created>", line)
        current.append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def masked_get_work(block: str) -> str:
    """The get_work histogram's block with its bucket values and sum masked (they are timings)."""
    return re.sub(r"^(xrsched_get_work_duration_seconds_(bucket|sum)\S*) \S+$", r"\1 <t>", block, flags=re.M)


def scenario() -> tuple[ServerMetrics, Reference, int]:
    """Scheduler calls through a real service with our metrics, and what the reference counts
    for them; also the number of get_work calls."""
    clock = Clock()
    metrics = ServerMetrics(process=False)
    service = SchedulerService(Scheduler(SchedulerConfig(retry_count=2, retry_delay=1)), clock=clock,
                               observer=metrics)  # fmt: skip
    ref = Reference()
    asks = 0

    def run(task_id: str, family: str, status: str, took: float) -> None:
        nonlocal asks
        service.call("add_task", task_id=task_id, worker=W, family=family)
        assert service.call("get_work", worker=W)["task_id"] == task_id
        asks += 1
        ref.started.labels(family).inc()
        ref.execution_time.labels(family)
        clock.now += took
        service.call("add_task", task_id=task_id, worker=W, status=status)

    run("Load_1", "Load", "DONE", 2.5)
    ref.done.labels("Load").inc()
    ref.execution_time.labels("Load").set(2.5)
    run("Flaky_1", "Flaky", "FAILED", 1.0)
    ref.failed.labels("Flaky").inc()
    ref.execution_time.labels("Flaky").set(1.0)
    service.call("add_task", task_id="Ext_1", worker=W, family="Ext", status="DONE")  # done, never ran here
    ref.done.labels("Ext").inc()
    run("Load_2", "Load", "DONE", 4.0)
    ref.done.labels("Load").inc()
    ref.execution_time.labels("Load").set(4.0)
    clock.now += 5  # past retry_delay
    service.run_maintenance()
    assert service.call("get_work", worker=W)["task_id"] == "Flaky_1"
    asks += 1
    ref.started.labels("Flaky").inc()
    clock.now += 3.0
    service.call("add_task", task_id="Flaky_1", worker=W, status="FAILED")  # the second failure disables it
    ref.disabled.labels("Flaky").inc()
    ref.execution_time.labels("Flaky").set(3.0)
    assert service.call("get_work", worker=W)["task_id"] is None  # nothing to hand out: still timed
    asks += 1
    for _ in range(asks):
        ref.get_work.observe(0.0)  # how long each took is not known here: those values are masked
    return metrics, ref, asks


def test_the_per_call_families_read_as_prometheus_clients_own_byte_for_byte():
    metrics, ref, asks = scenario()
    ours = family_blocks(generate_latest(metrics.registry).decode())
    theirs = family_blocks(generate_latest(ref.registry).decode())
    for name in PER_CALL:
        assert any(block.startswith(name) for block in ours), name
    assert set(theirs) <= set(ours)
    for name, block in theirs.items():
        if name.startswith("xrsched_get_work_duration_seconds"):
            assert masked_get_work(ours[name]) == masked_get_work(block)
        else:
            assert ours[name] == block, name
    get_work = {s.name: s.value for f in text_string_to_metric_families(ours["xrsched_get_work_duration_seconds"])
                for s in f.samples if not s.labels or s.labels.get("le") == "+Inf"}  # fmt: skip
    assert get_work["xrsched_get_work_duration_seconds_count"] == asks
    assert get_work["xrsched_get_work_duration_seconds_bucket"] == asks


def test_the_per_call_families_in_openmetrics_match_too():
    metrics, ref, _ = scenario()
    ours = generate_openmetrics(metrics.registry).decode()
    theirs = generate_openmetrics(ref.registry).decode()

    def per_call_lines(text: str) -> list[str]:
        lines = [line for line in text.splitlines() if any(name in line for name in PER_CALL)]
        lines = [re.sub(r"^(\S+_created\S*) \S+$", r"\1 <created>", line) for line in lines]
        return [re.sub(r"^(xrsched_get_work_duration_seconds_(bucket|sum)\S*) \S+$", r"\1 <t>", line)
                for line in lines]  # fmt: skip

    assert per_call_lines(ours) == per_call_lines(theirs)


def test_the_family_order_of_a_scrape_is_kept():
    """The per-call families keep their place among the others (a diff of two scrapes stays small)."""
    metrics, _, _ = scenario()
    names = [line.split()[2] for line in generate_latest(metrics.registry).decode().splitlines()
             if line.startswith("# HELP ")]  # fmt: skip
    assert names[:13] == [
        "luigi_task_started_total", "luigi_task_started_created", "luigi_task_done_total", "luigi_task_done_created",
        "luigi_task_failed_total", "luigi_task_failed_created",
        "luigi_task_disabled_total", "luigi_task_disabled_created",
        "luigi_task_execution_time_seconds", "xrsched_rpc_calls_total", "xrsched_rpc_call_duration_seconds",
        "xrsched_get_work_duration_seconds", "xrsched_get_work_duration_seconds_created",
    ]  # fmt: skip
