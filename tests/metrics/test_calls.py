"""CallMetrics: counts by method and outcome, and a cumulative histogram with Prometheus' bounds."""

from __future__ import annotations

import sys
import threading

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from xrsched.metrics.calls import CallMetrics


def scrape(calls: CallMetrics) -> dict[tuple[str, tuple], float]:
    registry = CollectorRegistry()
    registry.register(calls)
    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_buckets_are_cumulative_and_a_value_on_a_bound_counts_in_it():
    calls = CallMetrics(("c_total", "calls"), ("d_seconds", "durations"), [0.1, 0.5, 1.0])
    for seconds in (0.05, 0.1, 0.3, 0.5, 2.0):
        calls.record("ping", "ok", seconds)
    calls.record("ping", "400", 0.2)
    found = scrape(calls)
    assert found[("c_total", (("method", "ping"), ("outcome", "ok")))] == 5
    assert found[("c_total", (("method", "ping"), ("outcome", "400")))] == 1
    bucket = {le: found[("d_seconds_bucket", (("le", le), ("method", "ping")))] for le in ("0.1", "0.5", "1.0", "+Inf")}
    assert bucket == {"0.1": 2, "0.5": 5, "1.0": 5, "+Inf": 6}
    assert found[("d_seconds_count", (("method", "ping"),))] == 6
    assert abs(found[("d_seconds_sum", (("method", "ping"),))] - 3.15) < 1e-9


def test_concurrent_records_are_all_counted():
    calls = CallMetrics(("c_total", "calls"), ("d_seconds", "durations"), [0.1])

    def hammer() -> None:
        for _ in range(5000):
            calls.record("ping", "ok", 0.01)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: without the lock counts get lost
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    found = scrape(calls)
    assert found[("c_total", (("method", "ping"), ("outcome", "ok")))] == 40000
    assert found[("d_seconds_count", (("method", "ping"),))] == 40000
