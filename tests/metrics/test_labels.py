"""BoundedLabel: known values pass, a bounded number of others pass, the rest share one value."""

from __future__ import annotations

import threading

from xrsched.metrics import OTHER, BoundedLabel
from xrsched.metrics.labels import MAX_VALUE_LENGTH


def test_known_values_always_pass_and_others_only_up_to_the_limit():
    label = BoundedLabel(["ping", "get_work"], limit=2)
    assert [label(v) for v in ("ping", "a", "b", "c", "get_work", "a", "d")] == [
        "ping", "a", "b", OTHER, "get_work", "a", OTHER,
    ]  # fmt: skip
    assert label.admitted == 2


def test_without_a_limit_only_known_values_pass():
    label = BoundedLabel(["ok"])
    assert label("ok") == "ok"
    assert label("anything else") == OTHER


def test_long_values_are_cut():
    label = BoundedLabel(limit=1)
    assert label("x" * 1000) == "x" * MAX_VALUE_LENGTH


def test_concurrent_newcomers_never_pass_the_limit():
    label = BoundedLabel(limit=50)
    results: list[str] = []
    lock = threading.Lock()

    def admit(base: int) -> None:
        mine = [label(f"v{base}-{i}") for i in range(100)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=admit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert label.admitted == 50
    assert len(set(results) - {OTHER}) == 50
