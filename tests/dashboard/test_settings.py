"""``[dashboard]`` settings through the server's settings loader."""

from __future__ import annotations

import pytest

from xrsched.core.errors import BadValue
from xrsched.dashboard import DashboardSettings
from xrsched.settings import build_settings


def test_defaults_are_eight_hours_idle_and_a_day_absolute():
    settings = build_settings({}, environ={}).dashboard
    assert settings == DashboardSettings()
    assert (settings.enabled, settings.session_idle, settings.session_max) == (True, 8 * 3600.0, 24 * 3600.0)


def test_the_table_sets_them():
    table = {"enabled": False, "session_idle": 60, "session-max": 120.5, "max_sessions": 5}
    settings = build_settings({"dashboard": table}, environ={}).dashboard
    assert (settings.enabled, settings.session_idle, settings.session_max, settings.max_sessions) == (
        False,
        60.0,
        120.5,
        5,
    )


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"colour": "red"}, "unknown [dashboard] setting 'colour'"),
        ({"enabled": "yes"}, "dashboard.enabled must be true or false"),
        ({"session_idle": 0}, "dashboard.session_idle must be a positive number"),
        ({"session_max": True}, "dashboard.session_max must be a positive number"),
        ({"max_sessions": 0}, "dashboard.max_sessions must be a positive integer"),
        ({"session_idle": 100, "session_max": 50}, "session_idle must not exceed"),
    ],
)
def test_bad_values_are_named(table, words):
    with pytest.raises(BadValue, match=None) as caught:
        build_settings({"dashboard": table}, environ={})
    assert words in str(caught.value)


def test_the_section_must_be_a_table():
    with pytest.raises(BadValue, match=r"\[dashboard\] must be a table"):
        build_settings({"dashboard": 3}, environ={})
