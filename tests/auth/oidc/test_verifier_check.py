"""OidcVerifier.check with the key set in a real file: the cached answer on a second check,
tokens without a key id, and the token's header and subject rules."""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path

import pytest

from tests.auth.oidc.idp import AUDIENCE, ISSUER, SigningKey, claims, jwks_document, sign
from xrsched.auth.oidc.config import OidcSettings
from xrsched.auth.oidc.verifier import MAX_SUBJECT_LENGTH, OidcVerifier
from xrsched.auth.roles import Role

ROLES = {"etl-bots": "worker", "readers": "viewer"}


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.rsa("k1")


@pytest.fixture(scope="module")
def second_rsa_key() -> SigningKey:
    return SigningKey.rsa("k2")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.ec("e1")


def make_verifier(tmp_path: Path, *keys: SigningKey, **extra: object) -> OidcVerifier:
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(jwks_document(*keys))
    values = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": str(jwks), "roles": ROLES, **extra}
    verifier = OidcVerifier(OidcSettings.from_mapping(values))
    verifier.keys.load_at_start(time.time())
    return verifier


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_second_check_of_a_token_is_answered_from_the_cache_with_the_same_result(tmp_path, rsa_key, caplog):
    verifier = make_verifier(tmp_path, rsa_key)
    now = time.time()
    mapped = sign(rsa_key, claims("w1", groups=["etl-bots"]))
    unmapped = sign(rsa_key, claims("eve", groups=["marketing"]))
    with caplog.at_level(logging.WARNING, logger="xrsched.server"):
        for _ in range(2):
            first = verifier.check(mapped, now)
            assert (first.identity.principal, first.identity.role, first.reason) == ("oidc:w1", Role.WORKER, "ok")
            second = verifier.check(unmapped, now + 1)
            assert (second.identity.principal, second.identity.role, second.reason) == (
                "oidc:eve",
                Role.NONE,
                "no mapped role",
            )
    # Only the first check of the unmapped token verified it (and warned): the second was cached.
    assert len(_warnings(caplog)) == 1
    assert len(verifier.cache) == 2


def test_a_cached_token_is_verified_again_after_cache_seconds(tmp_path, rsa_key, caplog):
    verifier = make_verifier(tmp_path, rsa_key, cache_seconds=10)
    now = time.time()
    token = sign(rsa_key, claims("eve", groups=["marketing"], lifetime=300))
    with caplog.at_level(logging.WARNING, logger="xrsched.server"):
        verifier.check(token, now)
        verifier.check(token, now + 9.5)
        assert len(_warnings(caplog)) == 1
        assert verifier.check(token, now + 10).reason == "no mapped role"
    assert len(_warnings(caplog)) == 2


def test_a_token_without_a_key_id_is_accepted_when_one_key_fits_its_algorithm(tmp_path, rsa_key, ec_key):
    verifier = make_verifier(tmp_path, rsa_key, ec_key)
    for key in (rsa_key, ec_key):
        result = verifier.check(sign(key, claims(groups=["readers"]), kid=None), time.time())
        assert (result.identity.role, result.reason) == (Role.VIEWER, "ok")


def test_a_token_without_a_key_id_is_refused_when_two_keys_fit(tmp_path, rsa_key, second_rsa_key):
    verifier = make_verifier(tmp_path, rsa_key, second_rsa_key)
    result = verifier.check(sign(rsa_key, claims(groups=["readers"]), kid=None), time.time())
    assert (result.identity, result.reason) == (None, "unknown signing key")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_key_id_that_is_no_string_is_refused(tmp_path, rsa_key):
    """PyJWT refuses it while reading the header (an InvalidTokenError of no listed kind)."""
    verifier = make_verifier(tmp_path, rsa_key)
    token = sign(rsa_key, claims(groups=["readers"]))
    _, payload, signature = token.split(".")
    header = _b64(json.dumps({"alg": "RS256", "kid": 1, "typ": "JWT"}).encode())
    result = verifier.check(f"{header}.{payload}.{signature}", time.time())
    assert (result.identity, result.reason) == (None, "invalid token")


def test_a_header_that_is_not_json_is_a_malformed_token(tmp_path, rsa_key):
    verifier = make_verifier(tmp_path, rsa_key)
    result = verifier.check(_b64(b"not json") + ".e30.c2ln", time.time())
    assert (result.identity, result.reason) == (None, "malformed token")


@pytest.mark.parametrize(
    ("subject", "accepted"),
    [
        ("a" * MAX_SUBJECT_LENGTH, True),
        ("a" * (MAX_SUBJECT_LENGTH + 1), False),
        ("x", True),
        ("~", True),
        ("svc account", True),
        ("alice ", True),
        (" alice", False),
        ("", False),
        ("ali\x7fce", False),
        ("alicé", False),
    ],
)
def test_the_subject_must_be_printable_ascii_not_starting_with_a_blank(tmp_path, rsa_key, subject, accepted):
    verifier = make_verifier(tmp_path, rsa_key)
    result = verifier.check(sign(rsa_key, claims(subject, groups=["readers"])), time.time())
    if accepted:
        assert (result.identity.principal, result.reason) == (f"oidc:{subject}", "ok")
    else:
        assert (result.identity, result.reason) == (None, "bad subject claim")


def test_a_key_replaced_under_the_same_kid_ends_the_cached_tokens_of_the_old_one(tmp_path, rsa_key):
    verifier = make_verifier(tmp_path, rsa_key, min_refresh_interval=0)
    now = time.time()
    token = sign(rsa_key, claims(groups=["readers"]))
    assert verifier.check(token, now).reason == "ok"
    assert verifier.keys.refresh(now + 1)  # the same set again: the cached answer stays
    assert len(verifier.cache) == 1
    (tmp_path / "jwks.json").write_bytes(jwks_document(SigningKey.rsa("k1")))  # new key, same kid
    assert verifier.keys.refresh(now + 2)
    assert len(verifier.cache) == 0
    assert verifier.check(token, now + 3).reason == "bad signature"
