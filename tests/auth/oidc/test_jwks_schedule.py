"""KeySet's schedule and lookups, with the key set in a real file (a fetch is a read of it):
when a refresh is due, the sooner retry after a failure, what each refresh logs, and which
lookups fetch at all."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.auth.oidc.idp import SigningKey, jwks_document
from xrsched.auth.oidc.jwks import RETRY_AFTER_FAILURE, KeySet

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
