"""KeySet's schedule and lookups, with the key set in a real file (a fetch is a read of it):
when a refresh is due, the sooner retry after a failure, what each refresh logs, and which
lookups fetch at all."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.auth.oidc.idp import SigningKey, jwks_document
from xrsched.auth.oidc.jwks import RETRY_AFTER_FAILURE, JwksError, KeySet, KeySetState

T0 = 1_000_000.0


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.rsa("k1")


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey.rsa("k2")


@pytest.fixture
def jwks(tmp_path: Path, rsa_key: SigningKey) -> Path:
    path = tmp_path / "jwks.json"
    path.write_bytes(jwks_document(rsa_key))
    return path


def _failed_at_start(path: Path, **intervals: float) -> KeySet:
    """A key set whose start-up read at T0 failed (the file was broken), now repaired."""
    good = path.read_bytes()
    path.write_text("{broken")
    keys = KeySet(str(path), **intervals)
    assert not keys.refresh(T0)
    path.write_bytes(good)
    return keys


def test_a_key_set_never_loaded_is_due_at_once(jwks):
    keys = KeySet(str(jwks))
    keys.refresh_if_due(T0)
    assert (keys.state().ok, keys.state().last_refresh, keys.state().keys) == (True, T0, 1)


def test_a_scheduled_refresh_is_due_exactly_at_its_interval(jwks):
    keys = KeySet(str(jwks), refresh_interval=100, min_refresh_interval=0)
    keys.load_at_start(T0)
    keys.refresh_if_due(T0 + 99.5)
    assert keys.state().last_refresh == T0
    keys.refresh_if_due(T0 + 100)
    assert keys.state().last_refresh == T0 + 100


def test_after_a_failure_the_retry_comes_sooner_than_the_interval(jwks):
    keys = _failed_at_start(jwks, refresh_interval=3600, min_refresh_interval=0)
    keys.refresh_if_due(T0 + RETRY_AFTER_FAILURE - 0.5)
    assert keys.state().last_refresh == T0
    keys.refresh_if_due(T0 + RETRY_AFTER_FAILURE)
    assert (keys.state().ok, keys.state().last_refresh) == (True, T0 + RETRY_AFTER_FAILURE)


def test_the_retry_after_a_failure_waits_at_least_min_refresh_interval(jwks):
    keys = _failed_at_start(jwks, refresh_interval=3600, min_refresh_interval=2 * RETRY_AFTER_FAILURE)
    keys.refresh_if_due(T0 + 2 * RETRY_AFTER_FAILURE - 0.5)
    assert keys.state().last_refresh == T0
    keys.refresh_if_due(T0 + 2 * RETRY_AFTER_FAILURE)
    assert keys.state().ok


def test_the_retry_after_a_failure_never_waits_longer_than_the_interval(jwks):
    keys = _failed_at_start(jwks, refresh_interval=10, min_refresh_interval=0)
    keys.refresh_if_due(T0 + 10)
    assert (keys.state().ok, keys.state().last_refresh) == (True, T0 + 10)


def test_a_known_key_id_is_found_without_a_fetch(jwks, rsa_key, other_key):
    keys = KeySet(str(jwks), min_refresh_interval=0)
    keys.load_at_start(T0)
    jwks.write_bytes(jwks_document(other_key))  # a fetch now would drop k1
    assert keys.find("k1", "RS256", T0 + 1) is not None
    assert keys.state().last_refresh == T0
    assert keys.find("k1", "ES256", T0 + 2) is None  # k1 is an RSA key: a miss, which fetches
    assert keys.state().last_refresh == T0 + 2


def test_each_refresh_that_changes_the_keys_logs_why_it_ran(jwks, rsa_key, other_key, caplog):
    keys = KeySet(str(jwks), refresh_interval=100, min_refresh_interval=0)
    with caplog.at_level(logging.INFO, logger="xrsched.server"):
        keys.load_at_start(T0)
        jwks.write_bytes(jwks_document(rsa_key, other_key))
        assert keys.find("k2", "RS256", T0 + 1) is not None
        jwks.write_bytes(jwks_document(other_key))
        keys.refresh_if_due(T0 + 101)
        jwks.write_text("{broken")
        keys.refresh_if_due(T0 + 201)
    assert [r.getMessage() for r in caplog.records] == [
        f"oidc: loaded 1 signing key(s) from {jwks} (start-up)",
        f"oidc: loaded 2 signing key(s) from {jwks} (a token names an unknown key id)",
        f"oidc: loaded 1 signing key(s) from {jwks} (scheduled)",
        f"oidc: key set not refreshed (scheduled), keeping 1 cached key(s): JWKS file {jwks}: not JSON",
    ]


def test_before_its_first_load_a_key_set_says_so(jwks):
    assert KeySet(str(jwks)).state() == KeySetState(keys=0, last_refresh=None, ok=False, error="not loaded yet")


def test_the_default_intervals_are_an_hour_and_30_seconds(jwks):
    keys = KeySet(str(jwks))
    keys.load_at_start(T0)
    assert not keys.refresh(T0 + 29.5)  # too soon after the last fetch
    assert keys.refresh(T0 + 30)
    keys.refresh_if_due(T0 + 30 + 3599.5)
    assert keys.state().last_refresh == T0 + 30
    keys.refresh_if_due(T0 + 30 + 3600)
    assert keys.state().last_refresh == T0 + 3630


def test_a_refresh_asked_for_logs_its_change_and_warns_of_its_failure(jwks, other_key, caplog):
    keys = KeySet(str(jwks), min_refresh_interval=0)
    keys.load_at_start(T0)
    jwks.write_bytes(jwks_document(other_key))
    with caplog.at_level(logging.INFO, logger="xrsched.server"):
        assert keys.refresh(T0 + 1)
        jwks.write_text("[]")
        assert not keys.refresh(T0 + 2)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, f"oidc: loaded 1 signing key(s) from {jwks} (asked)"),
        (
            logging.WARNING,
            f"oidc: key set not refreshed (asked), keeping 1 cached key(s): JWKS file {jwks}: "
            "not a JWK Set (no 'keys' list)",
        ),
    ]


def test_a_bad_file_at_start_up_stops_the_start_without_a_warning_of_its_own(jwks, caplog):
    jwks.write_text("{broken")
    with caplog.at_level(logging.INFO, logger="xrsched.server"), pytest.raises(JwksError) as refused:
        KeySet(str(jwks)).load_at_start(T0)
    assert refused.value.message == f"JWKS file {jwks}: not JSON"
    assert caplog.records == []  # the server reports the error once, as it stops


def test_an_unreachable_url_at_start_up_is_a_warning(caplog):
    with caplog.at_level(logging.INFO, logger="xrsched.server"):
        KeySet("https://localhost:1/certs").load_at_start(T0)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(
        "oidc: key set not refreshed (start-up), keeping 0 cached key(s): https://localhost:1/certs: "
    )
