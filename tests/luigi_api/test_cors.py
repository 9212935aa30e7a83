"""``[cors]`` with luigid's keys and the cross-site POST refusal, as pure functions."""

from __future__ import annotations

import pytest

from xrsched.core.errors import BadValue
from xrsched.luigi_api.cors import CorsSettings, cross_site_refusal, preflight_headers, response_headers
from xrsched.settings import build_settings

OWN = "https://sched.example:8082"


def test_defaults_are_luigids_and_allow_nothing():
    settings = CorsSettings()
    assert (settings.enabled, settings.max_age, settings.allowed_methods) == (False, 86400, "GET, OPTIONS")
    assert settings.allowed_headers == "Accept, Content-Type, Origin"
    assert response_headers(settings, "https://a.example") == []
    assert preflight_headers(settings, "https://a.example") == []


def test_loaded_from_the_toml_table_like_luigi_cfg():
    settings = build_settings(
        {"cors": {"enabled": True, "allowed_origins": ["https://a.example", "*", "null"], "max_age": 60}}, environ={}
    ).cors
    assert settings.allowed_origins == ("https://a.example",)  # "*" and "null" are not origins (as luigid)
    assert settings.origin_allowed("https://a.example")
    assert not settings.origin_allowed("null")
    assert ("Access-Control-Max-Age", "60") in preflight_headers(settings, "https://a.example")


@pytest.mark.parametrize(
    ("table", "message"),
    [({"enabeld": True}, r"unknown \[cors\] setting"), ({"enabled": "yes"}, "true or false"),
     ({"allowed_origins": "https://a"}, "list of strings"), ({"max_age": -1}, "non-negative")],
)  # fmt: skip
def test_bad_cors_settings_are_named(table, message):
    with pytest.raises(BadValue, match=message):
        build_settings({"cors": table}, environ={})


def test_any_and_null_origins_follow_their_switches():
    anyone = CorsSettings(enabled=True, allow_any_origin=True)
    assert response_headers(anyone, "https://x.example") == [("Access-Control-Allow-Origin", "*")]
    assert response_headers(anyone, "null") == []
    null = CorsSettings(enabled=True, allow_null_origin=True)
    assert response_headers(null, "null") == [("Access-Control-Allow-Origin", "null")]


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),
        ({"origin": OWN}, False),
        ({"origin": OWN.upper()}, False),
        ({"sec-fetch-site": "same-origin"}, False),
        ({"origin": "https://evil.example"}, True),
        ({"origin": "null"}, True),
        ({"sec-fetch-site": "cross-site"}, True),
        ({"origin": "https://sched.example:8083"}, True),
    ],
)
def test_cross_site_posts_are_refused_plain_clients_are_not(headers, refused):
    assert (cross_site_refusal(CorsSettings(), headers, OWN) is not None) is refused


def test_an_origin_allowed_by_cors_may_post():
    settings = CorsSettings(enabled=True, allowed_origins=("https://dash.example",))
    assert cross_site_refusal(settings, {"origin": "https://dash.example"}, OWN) is None
    disabled = CorsSettings(allowed_origins=("https://dash.example",))  # enabled = false: the list is unused
    assert cross_site_refusal(disabled, {"origin": "https://dash.example"}, OWN) is not None
