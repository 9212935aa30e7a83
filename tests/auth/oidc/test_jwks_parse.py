"""parse_jwks on documents as providers send them: what is a key set, which entries are skipped
(and that skipping one does not stop the rest), and the refusal messages."""

from __future__ import annotations

import json

import pytest

from tests.auth.oidc.idp import SigningKey
from xrsched.auth.oidc.jwks import JwksError, KeySet, parse_jwks


@pytest.fixture(scope="module")
def rsa_jwk() -> dict:
    return SigningKey.rsa("k1").jwk()


@pytest.fixture(scope="module")
def ec_jwk() -> dict:
    return SigningKey.ec("e1").jwk()


def parsed(*entries: object) -> dict[str, list[str]]:
    keys = parse_jwks(json.dumps({"keys": list(entries)}).encode(), "here")
    return {kid: [key.algorithm_name for key in found] for kid, found in keys.items()}


def refused(data: bytes) -> str:
    with pytest.raises(JwksError) as caught:
        parse_jwks(data, "https://idp/certs")
    return caught.value.message


@pytest.mark.parametrize("data", [b"{", b"", b"\xff\xfe", b"keys"])
def test_a_document_that_is_not_json(data):
    assert refused(data) == "https://idp/certs: not JSON"


@pytest.mark.parametrize("data", [b"[]", b'["keys"]', b'"keys"', b"{}", b'{"keys": {}}', b'{"keys": null}'])
def test_a_document_that_is_no_jwk_set(data):
    assert refused(data) == "https://idp/certs: not a JWK Set (no 'keys' list)"


def test_a_set_with_nothing_usable():
    assert refused(b'{"keys": []}') == "https://idp/certs: no usable signing key in the set"


def test_unusable_entries_are_skipped_and_the_ones_after_them_still_read(rsa_jwk, ec_jwk):
    junk = [
        "not an object",
        {**rsa_jwk, "kid": "enc", "use": "enc"},
        {"kty": "oct", "k": "c2VjcmV0", "kid": "secret"},
        {"kid": "no-kty"},
    ]
    assert parsed(*junk, rsa_jwk, {**ec_jwk, "use": "sig"}) == {"k1": ["RS256"], "e1": ["ES256"]}


def test_use_may_be_left_out_but_not_set_to_anything_else(rsa_jwk):
    without_use = {k: v for k, v in rsa_jwk.items() if k != "use"}
    assert parsed(without_use) == {"k1": ["RS256"]}
    for use in ("SIG", "", None, "enc"):
        with pytest.raises(JwksError, match="no usable signing key"):
            parse_jwks(json.dumps({"keys": [{**rsa_jwk, "use": use}]}).encode(), "here")


def test_keys_without_a_kid_share_the_empty_id_and_a_kid_may_name_several(rsa_jwk, ec_jwk):
    no_kid = {k: v for k, v in rsa_jwk.items() if k != "kid"}
    assert parsed(no_kid, {**ec_jwk, "kid": "k1"}, rsa_jwk) == {"": ["RS256"], "k1": ["ES256", "RS256"]}


def test_a_key_that_cannot_be_built_is_skipped_not_an_error(tmp_path, rsa_jwk, ec_jwk):
    """PyJWT refuses these with InvalidKeyError (a malformed modulus, an unknown curve, wrong
    coordinates, an OKP key without a curve): one such key must not cost the provider's others."""
    broken = [
        {**rsa_jwk, "kid": "short-n", "n": "AQ"},
        {**rsa_jwk, "kid": "n-no-text", "n": 5},
        {**ec_jwk, "kid": "curve", "crv": "P-999"},
        {**ec_jwk, "kid": "coords", "x": "AA"},
        {"kty": "OKP", "kid": "okp", "x": "AA"},
    ]
    assert parsed(*broken, rsa_jwk) == {"k1": ["RS256"]}
    assert refused(json.dumps({"keys": broken}).encode()) == "https://idp/certs: no usable signing key in the set"
    # A provider publishing one such key: the start and every refresh still load the good one.
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [*broken, rsa_jwk]}))
    keys = KeySet(str(path), min_refresh_interval=0)
    keys.load_at_start(1000.0)
    assert keys.refresh(1001.0) and keys.state().keys == 1
    assert keys.find("k1", "RS256", 1002.0) is not None
