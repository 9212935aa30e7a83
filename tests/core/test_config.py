"""SchedulerConfig and RetryPolicy: Luigi's names and defaults, validation, from_mapping."""

from __future__ import annotations

import math

import pytest

from tests.core.conftest import T0
from xrsched.core import BadValue, RetryPolicy, Scheduler, SchedulerConfig


def test_defaults_are_luigis():
    c = SchedulerConfig()
    assert c.retry_delay == 900
    assert c.remove_delay == 600
    assert c.worker_disconnect_delay == 60
    assert c.disable_window == 3600
    assert c.retry_count == 999_999_999
    assert c.disable_hard_timeout == 999_999_999
    assert c.disable_persist == 86400
    assert c.max_shown_tasks == 100_000
    assert c.max_graph_nodes == 100_000
    assert c.record_task_history is False
    assert c.prune_on_get_work is False
    assert c.pause_enabled is True
    assert c.send_messages is True
    assert c.stable_done_cooldown_secs == 10


def test_default_retry_policy_comes_from_the_config():
    c = SchedulerConfig(retry_count=3, disable_hard_timeout=100, disable_window=50)
    assert c.retry_policy == RetryPolicy(3, 100, 50)
    assert RetryPolicy() == SchedulerConfig().retry_policy


def test_scheduler_default_config_and_resources():
    s = Scheduler()
    assert s.config == SchedulerConfig()
    assert s.resource_list(now=T0) == []


def test_config_is_immutable():
    c = SchedulerConfig()
    with pytest.raises(AttributeError):
        c.retry_delay = 5  # type: ignore[misc]


def test_from_mapping_accepts_luigi_keys_and_ignores_inapplicable_ones():
    c = SchedulerConfig.from_mapping(
        {
            "retry_delay": 30.0,
            "remove_delay": 20,
            "worker_disconnect_delay": 10,
            "disable_window": 100,
            "retry_count": 3.0,
            "disable_hard_timeout": 400,
            "disable_persist": 500,
            "max_shown_tasks": 7,
            "max_graph_nodes": 8,
            "record_task_history": True,
            "prune_on_get_work": True,
            "pause_enabled": False,
            "send_messages": False,
            "stable_done_cooldown_secs": 2,
            "state_path": "/var/lib/luigi-server/state.pickle",
            "batch_emails": True,
            "metrics_collector": "prometheus",
            "metrics_custom_import": "x.y",
        }
    )
    assert c.retry_delay == 30
    assert c.retry_count == 3
    assert isinstance(c.retry_count, int)
    assert c.max_shown_tasks == 7
    assert c.pause_enabled is False
    assert c.stable_done_cooldown_secs == 2


def test_from_mapping_empty_is_the_defaults():
    assert SchedulerConfig.from_mapping({}) == SchedulerConfig()


def test_from_mapping_refuses_unknown_keys():
    with pytest.raises(BadValue, match="retry_dealy"):
        SchedulerConfig.from_mapping({"retry_dealy": 5})


def test_from_mapping_refuses_fractional_whole_numbers():
    with pytest.raises(BadValue, match="retry_count"):
        SchedulerConfig.from_mapping({"retry_count": 2.5})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("remove_delay", -1),
        ("worker_disconnect_delay", -0.5),
        ("disable_window", -1),
        ("retry_count", -1),
        ("disable_persist", -1),
        ("stable_done_cooldown_secs", -1),
        ("retry_delay", math.nan),
        ("retry_delay", math.inf),
        ("remove_delay", "600"),
        ("retry_count", True),
        ("retry_count", None),
        ("max_shown_tasks", 0),
        ("max_graph_nodes", 0),
        ("fair_lookahead", 0),
        ("batch_lookahead", 0),
        ("pause_enabled", 1),
        ("prune_on_get_work", "yes"),
        ("send_messages", None),
        ("record_task_history", 0),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(name, value):
    with pytest.raises(BadValue, match=name) as info:
        SchedulerConfig(**{name: value})
    assert info.value.code == 400


def test_negative_retry_delay_is_allowed():
    # Luigi: a negative retry_delay means FAILED tasks are never retried automatically
    assert SchedulerConfig(retry_delay=-1).retry_delay == -1


def test_zero_delays_are_allowed():
    c = SchedulerConfig(remove_delay=0, worker_disconnect_delay=0, stable_done_cooldown_secs=0)
    assert c.remove_delay == 0


# ------------------------------------------------------------------ RetryPolicy


def test_retry_policy_merge_applies_non_none_members():
    base = RetryPolicy(5, 100, 60)
    assert base.merged(None) is base
    assert base.merged({}) is base
    assert base.merged({"retry_count": 2}) == RetryPolicy(2, 100, 60)
    assert base.merged({"retry_count": None, "disable_window": 10}) == RetryPolicy(5, 100, 10)
    merged = base.merged({"retry_count": 2.0, "disable_hard_timeout": 7.5})
    assert merged == RetryPolicy(2, 7.5, 60)
    assert isinstance(merged.retry_count, int)


@pytest.mark.parametrize(
    "overrides",
    [
        {"bogus": 1},
        {"retry_count": "1"},
        {"retry_count": True},
        {"disable_window": -1},
        {"disable_hard_timeout": math.inf},
        {"disable_window": [1]},
    ],
)
def test_retry_policy_merge_refuses_bad_members(overrides):
    with pytest.raises(BadValue, match="retry_policy_dict"):
        RetryPolicy().merged(overrides)


def test_retry_policy_is_hashable_and_shared():
    s = Scheduler()
    for i in range(5):
        s.add_task(task_id=f"T{i}", worker="w1", retry_policy_dict={"retry_count": 3}, now=T0)
    policies = {id(s.tasks[f"T{i}"].retry_policy) for i in range(5)}
    assert len(policies) == 1
