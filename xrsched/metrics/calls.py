"""Call counts and call durations, recorded with one lock per call.

prometheus_client's Counter and Histogram take a lock per value they touch: three per call for
a counter and a histogram (its sum and one bucket), about 1.5 µs on this project's machines,
a tenth of a ``ping`` answered in process. Here one lock covers a call's whole record; the
registry reads it when scraped through the same metric families prometheus_client writes
(:class:`~prometheus_client.core.CounterMetricFamily`, ``HistogramMetricFamily``).
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class CallMetrics(Collector):
    """``<calls>{method,outcome}`` (a counter) and ``<seconds>{method}`` (a histogram)."""

    def __init__(self, calls: tuple[str, str], seconds: tuple[str, str], buckets: Sequence[float]) -> None:
        self._calls_name, self._calls_help = calls
        self._seconds_name, self._seconds_help = seconds
        self._bounds = tuple(sorted(buckets))
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        #: method -> [calls in each bucket (its own, not cumulative)..., calls above the last, sum]
        self._histograms: dict[str, list[float]] = {}

    def record(self, method: str, outcome: str, seconds: float) -> None:
        """Count one call of ``method`` ending with ``outcome`` after ``seconds``."""
        slot = bisect_left(self._bounds, seconds)  # the first bucket whose bound is >= seconds
        key = (method, outcome)
        with self._lock:
            counts = self._counts
            counts[key] = counts.get(key, 0) + 1
            histogram = self._histograms.get(method)
            if histogram is None:
                histogram = self._histograms[method] = [0] * (len(self._bounds) + 1) + [0.0]
            histogram[slot] += 1
            histogram[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        """Both families, from a copy taken under the lock."""
        with self._lock:
            counts = dict(self._counts)
            histograms = {method: list(values) for method, values in self._histograms.items()}
        calls = CounterMetricFamily(self._calls_name, self._calls_help, labels=["method", "outcome"])
        for (method, outcome), value in counts.items():
            calls.add_metric([method, outcome], value)
        yield calls
        seconds = HistogramMetricFamily(self._seconds_name, self._seconds_help, labels=["method"])
        for method, values in histograms.items():
            seconds.add_metric([method], self._cumulative(values), sum_value=values[-1])
        yield seconds

    def describe(self) -> Iterator[Metric]:
        """The two names (for the registry's duplicate check)."""
        yield CounterMetricFamily(self._calls_name, self._calls_help, labels=["method", "outcome"])
        yield HistogramMetricFamily(self._seconds_name, self._seconds_help, labels=["method"])

    def _cumulative(self, values: list[float]) -> list[tuple[str, float]]:
        buckets = []
        total = 0.0
        for bound, count in zip((*self._bounds, math.inf), values, strict=False):
            total += count
            buckets.append((floatToGoString(bound), total))
        return buckets
