"""OidcVerifier and KeySet against a real loopback HTTPS key-set server (no xrsched server)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from tests.auth.oidc.idp import AUDIENCE, ISSUER, JwksServer, SigningKey, claims, sign
from xrsched.auth import Identity
from xrsched.auth.oidc.config import OidcSettings
from xrsched.auth.oidc.jwks import JwksError, KeySet, KeySetState, load_jwks
from xrsched.auth.oidc.shape import bearer_jwt, looks_like_jwt
from xrsched.auth.oidc.verifier import OidcVerifier, VerifiedCache, claim_values
from xrsched.auth.roles import Role
from xrsched.auth.tokens import new_secret

ROLES = {"sched-admins": "admin", "data-eng": "operator", "etl-bots": "worker", "readers": "viewer"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict, payload: dict, signature: bytes = b"") -> str:
    """A token put together by hand, as an attacker would (PyJWT refuses to make these)."""
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
    return head + "." + _b64(signature)


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.rsa("k1")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.ec("e1")


@pytest.fixture
def idp(dev_certs, rsa_key, ec_key) -> Iterator[JwksServer]:
    server = JwksServer(str(dev_certs.server_cert), str(dev_certs.server_key)).start()
    server.serve(rsa_key, ec_key)
    yield server
    server.stop()


def make_verifier(idp: JwksServer, dev_certs, **extra) -> OidcVerifier:
    values = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks": idp.url,
        "ca": str(dev_certs.ca_cert),
        "roles": ROLES,
        "leeway": 30,
        "min_refresh_interval": 0,
        **extra,
    }
    verifier = OidcVerifier(OidcSettings.from_mapping(values))
    verifier.keys.load_at_start(time.time())
    return verifier


# ------------------------------------------------------------------ shape


def test_a_jwt_is_recognised_by_its_shape(rsa_key):
    token = sign(rsa_key, claims())
    assert looks_like_jwt(token)
    assert bearer_jwt(f"Bearer {token}") == token
    assert bearer_jwt(f"bearer  {token} ") == token
    assert looks_like_jwt(forged({"alg": "none"}, {"sub": "x"}))  # an empty signature is still the shape


@pytest.mark.parametrize(
    "value",
    [
        new_secret(),  # our own secrets: 43 base64url characters, no dot
        "a.b.c",
        _b64(b'{"typ": "JWT"}') + ".e30.sig",  # no alg
        _b64(b'["alg"]') + ".e30.sig",
        _b64(b"not json") + ".e30.sig",
        _b64(b'{"alg": "RS256"}') + ".e30.sig.extra",
        _b64(b'{"alg": "RS256"}') + "..sig",
        _b64(b'{"alg": "RS256"}') + ".e30.s+g",
        "x" * 20000,
    ],
)
def test_other_values_are_not_jwts(value):
    assert not looks_like_jwt(value)
    assert bearer_jwt(f"Bearer {value}") is None


def test_a_jwt_in_basic_auth_is_not_taken_for_one(rsa_key):
    assert bearer_jwt("Basic " + base64.b64encode(f":{sign(rsa_key, claims())}".encode()).decode()) is None


def test_claim_values_read_lists_strings_and_dotted_paths():
    assert claim_values({"groups": ["a", 1, "b"]}, "groups") == ["a", "b"]
    assert claim_values({"role": "admin"}, "role") == ["admin"]
    assert claim_values({"realm_access": {"roles": ["x"]}}, "realm_access.roles") == ["x"]
    assert claim_values({"https://ex.com/groups": ["y"]}, "https://ex.com/groups") == ["y"]
    assert claim_values({"groups": {"a": 1}}, "groups") == []


# ------------------------------------------------------------------ accepted


@pytest.mark.parametrize("which", ["rsa_key", "ec_key"])
def test_a_valid_token_gives_the_mapped_role(request, idp, dev_certs, which):
    key = request.getfixturevalue(which)
    result = make_verifier(idp, dev_certs).check(sign(key, claims("alice", groups=["etl-bots"])), time.time())
    assert result.identity is not None
    assert (result.identity.principal, result.identity.role, result.reason) == ("oidc:alice", Role.WORKER, "ok")


def test_the_highest_mapped_role_wins(idp, dev_certs, rsa_key):
    token = sign(rsa_key, claims(groups=["readers", "data-eng", "unrelated"]))
    assert make_verifier(idp, dev_certs).check(token, time.time()).identity.role is Role.OPERATOR


def test_no_mapped_role_authenticates_with_role_none(idp, dev_certs, rsa_key):
    result = make_verifier(idp, dev_certs).check(sign(rsa_key, claims(groups=["marketing"])), time.time())
    assert result.identity is not None
    assert result.identity.role is Role.NONE
    assert result.reason == "no mapped role"


def test_a_nested_role_claim(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs, role_claim="realm_access.roles")
    token = sign(rsa_key, claims(realm_access={"roles": ["sched-admins"]}))
    assert verifier.check(token, time.time()).identity.role is Role.ADMIN


def test_exp_and_nbf_get_the_leeway(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs, leeway=30)
    now = int(time.time())
    recently_expired = sign(rsa_key, claims(groups=["readers"], exp=now - 10))
    almost_valid = sign(rsa_key, claims(groups=["readers"], nbf=now + 10))
    assert verifier.check(recently_expired, now).identity is not None
    assert verifier.check(almost_valid, now).identity is not None


# ------------------------------------------------------------------ refused


def test_refusals_say_why(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs, leeway=5)
    other = SigningKey.rsa("k1")  # same kid, different key: the signature cannot verify
    now = int(time.time())
    cases = {
        "expired token": sign(rsa_key, claims(exp=now - 60)),
        "token not valid yet": sign(rsa_key, claims(nbf=now + 60)),
        "wrong audience": sign(rsa_key, claims(aud="someone-else")),
        "wrong issuer": sign(rsa_key, claims(iss="https://evil.test")),
        "bad signature": sign(other, claims()),
        "required claim missing": sign(rsa_key, claims(exp=None)),
        "bad subject claim": sign(rsa_key, claims(sub="line\nbreak")),
        "unknown signing key": sign(rsa_key, claims(), kid="nobody"),
    }
    for reason, token in cases.items():
        result = verifier.check(token, now)
        assert (result.identity, result.reason) == (None, reason)


def test_times_are_judged_at_the_now_given_not_the_wall_clock(idp, dev_certs, rsa_key):
    """exp, nbf and iat are compared with the caller's ``now`` (the server's clock reading),
    so a token valid by the wall clock is refused at a ``now`` past its exp or before its iat."""
    verifier = make_verifier(idp, dev_certs, leeway=5)
    wall = int(time.time())
    token = sign(rsa_key, claims(groups=["readers"], lifetime=300))  # iat = wall, exp = wall + 300
    assert verifier.check(token, wall + 300 + 6).reason == "expired token"
    assert verifier.check(token, wall - 3600).reason == "token not valid yet"
    later = sign(rsa_key, claims(groups=["readers"], nbf=wall + 120, lifetime=600))
    assert verifier.check(later, wall + 100).reason == "token not valid yet"
    assert verifier.check(later, wall + 200).identity is not None


def test_a_time_claim_that_is_not_a_number_is_refused(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs)
    now = int(time.time())
    for bad in ({"exp": str(now + 300)}, {"nbf": "soon"}, {"iat": True}):
        result = verifier.check(sign(rsa_key, claims(groups=["readers"], **bad)), now)
        assert (result.identity, result.reason) == (None, "malformed token"), bad


def test_missing_sub_is_refused(idp, dev_certs, rsa_key):
    result = make_verifier(idp, dev_certs).check(sign(rsa_key, claims(sub=None)), time.time())
    assert (result.identity, result.reason) == (None, "required claim missing")


def test_alg_none_is_refused(idp, dev_certs):
    token = forged({"alg": "none", "kid": "k1"}, claims(groups=["sched-admins"]))
    result = make_verifier(idp, dev_certs).check(token, time.time())
    assert (result.identity, result.reason) == (None, "algorithm not allowed")


def test_hs256_signed_with_the_public_key_is_refused(idp, dev_certs, rsa_key):
    header = {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    unsigned = forged(header, claims(groups=["sched-admins"])).rsplit(".", 1)[0]
    mac = hmac.new(rsa_key.public_pem(), unsigned.encode(), hashlib.sha256).digest()
    result = make_verifier(idp, dev_certs).check(unsigned + "." + _b64(mac), time.time())
    assert (result.identity, result.reason) == (None, "algorithm not allowed")


def test_an_allowed_alg_naming_a_key_of_another_kind_is_refused(idp, dev_certs, rsa_key, ec_key):
    # An ES256 token that points at the RSA key's id: the key is bound to RS256.
    token = sign(ec_key, claims(groups=["sched-admins"]), kid="k1")
    result = make_verifier(idp, dev_certs).check(token, time.time())
    assert (result.identity, result.reason) == (None, "unknown signing key")


def test_an_algorithm_outside_the_configured_list_is_refused(idp, dev_certs, ec_key):
    verifier = make_verifier(idp, dev_certs, algorithms=["RS256"])
    result = verifier.check(sign(ec_key, claims()), time.time())
    assert (result.identity, result.reason) == (None, "algorithm not allowed")


# ------------------------------------------------------------------ keys


def test_a_rotated_key_is_picked_up_on_its_first_token(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs)
    new = SigningKey.rsa("k2")
    idp.serve(new)
    fetched = idp.requests
    result = verifier.check(sign(new, claims(groups=["readers"])), time.time())
    assert result.identity is not None and result.identity.role is Role.VIEWER
    assert idp.requests == fetched + 1
    # The old key left the set: its tokens stop working.
    assert verifier.check(sign(rsa_key, claims(sub="bob")), time.time()).reason == "unknown signing key"


def test_a_token_waiting_on_a_refresh_in_flight_finds_the_key_it_brought(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs, min_refresh_interval=60)
    keys, new = verifier.keys, SigningKey.rsa("k3")
    idp.serve(rsa_key, new)
    results: list = []
    now = time.time()
    with keys._lock:  # another request's refresh is in flight (what refresh() does under its lock)
        waiter = threading.Thread(target=lambda: results.append(verifier.check(sign(new, claims()), now)))
        waiter.start()
        time.sleep(0.3)  # the waiter missed k3 and now waits for the lock
        keys._keys = load_jwks(idp.url, ca=dev_certs.ca_cert)
        keys._state = KeySetState(2, now, ok=True)
    waiter.join(10)
    assert results and results[0].identity is not None, results


def test_unknown_kids_cannot_flood_the_provider(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs, min_refresh_interval=60)
    fetched = idp.requests
    now = time.time()
    for i in range(50):
        assert verifier.check(sign(rsa_key, claims(), kid=f"made-up-{i}"), now).reason == "unknown signing key"
    assert idp.requests == fetched  # the start-up fetch was less than 60 s ago: no fetch at all
    for i in range(50):
        verifier.check(sign(rsa_key, claims(), kid=f"later-{i}"), now + 61 + i / 100)
    assert idp.requests == fetched + 1


def test_a_provider_that_is_down_keeps_the_cached_keys(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs)
    assert verifier.state().ok and verifier.state().keys == 2
    idp.stop()
    now = time.time()
    assert not verifier.keys.refresh(now + 1)
    state = verifier.state()
    assert (state.ok, state.keys, state.last_refresh) == (False, 2, now + 1)
    assert idp.url.split("/certs")[0] in state.error
    assert verifier.check(sign(rsa_key, claims(groups=["readers"])), now + 2).identity is not None


def test_a_scheduled_refresh_waits_for_its_interval(idp, dev_certs):
    verifier = make_verifier(idp, dev_certs, refresh_interval=100)
    fetched, now = idp.requests, time.time()
    verifier.keys.refresh_if_due(now + 50)
    assert idp.requests == fetched
    verifier.keys.refresh_if_due(now + 101)
    assert idp.requests == fetched + 1


def test_a_bad_jwks_file_stops_the_start(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')
    with pytest.raises(JwksError, match=f"JWKS file {path}: no usable signing key"):
        KeySet(str(path)).load_at_start(time.time())
    with pytest.raises(JwksError, match="No such file or directory"):
        KeySet(str(tmp_path / "missing.json")).load_at_start(time.time())


def test_an_unreachable_url_does_not_stop_the_start(dev_certs):
    keys = KeySet("https://localhost:1/certs", ca=dev_certs.ca_cert)
    keys.load_at_start(time.time())
    assert not keys.state().ok
    assert keys.state().keys == 0


def test_a_provider_that_drips_its_answer_is_cut_off(idp, dev_certs):
    idp.drip = 0.05  # some 50 bytes a second: a key set would take a minute
    started = time.monotonic()
    with pytest.raises(JwksError, match=r"the key set did not arrive within 1s"):
        load_jwks(idp.url, ca=dev_certs.ca_cert, timeout=1.0)
    assert time.monotonic() - started < 3


def test_the_jwks_url_must_verify_against_the_ca(idp):
    with pytest.raises(JwksError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        load_jwks(idp.url)  # the system trust store does not know the test CA


# ------------------------------------------------------------------ cache


def test_a_verified_token_is_cached_until_exp_at_most(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs, cache_seconds=3600, leeway=0)
    now = int(time.time())
    token = sign(rsa_key, claims(groups=["readers"], exp=now + 100))
    assert verifier.check(token, now).identity is not None
    assert len(verifier.cache) == 1
    assert verifier.cache.get(verifier.cache.key(token), now + 99) is not None
    assert verifier.cache.get(verifier.cache.key(token), now + 100) is None


def test_the_cache_is_bounded_and_forgets_on_a_key_change(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs, cache_size=3)
    now = time.time()
    for sub in "abcde":
        assert verifier.check(sign(rsa_key, claims(sub)), now).identity is not None
    assert len(verifier.cache) == 3
    idp.serve(rsa_key, SigningKey.ec("e9"))
    assert verifier.keys.refresh(now + 1)
    assert len(verifier.cache) == 0


def test_a_key_removed_from_the_set_stops_cached_tokens(idp, dev_certs, rsa_key, ec_key):
    verifier = make_verifier(idp, dev_certs)
    token = sign(rsa_key, claims(groups=["readers"]))
    now = time.time()
    assert verifier.check(token, now).identity is not None
    idp.serve(ec_key)
    assert verifier.keys.refresh(now + 1)
    assert verifier.check(token, now + 2).reason == "unknown signing key"


def test_principals_follow_the_latest_unexpired_token(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs, leeway=0)
    now = int(time.time())
    verifier.check(sign(rsa_key, claims("w1", groups=["etl-bots"], exp=now + 100)), now)
    verifier.check(sign(rsa_key, claims("op", groups=["data-eng"], exp=now + 100)), now)
    assert verifier.principals(Role.WORKER, now) == {"oidc:w1"}
    assert verifier.principals(Role.OPERATOR, now) == {"oidc:op"}
    assert verifier.principals(Role.WORKER, now + 100) == frozenset()


def test_the_cache_drops_the_least_recently_used_and_holds_nothing_at_size_0():
    cache = VerifiedCache(2)
    a, b, c = (VerifiedCache.key(t) for t in ("a", "b", "c"))
    identity = Identity("oidc:a", Role.WORKER, "oidc")
    cache.put(a, identity, 100.0)
    cache.put(b, identity, 100.0)
    assert cache.get(a, 1.0) == identity  # a is now the most recently used
    cache.put(c, identity, 100.0)
    assert (cache.get(b, 1.0), cache.get(a, 1.0), cache.get(c, 1.0)) == (None, identity, identity)
    one = VerifiedCache(1)
    one.put(a, identity, 100.0)
    assert len(one) == 1
    off = VerifiedCache(0)
    off.put(a, identity, 100.0)
    assert len(off) == 0


def test_principals_keep_a_token_within_the_leeway_after_its_exp(idp, dev_certs, rsa_key):
    verifier = make_verifier(idp, dev_certs, leeway=30)
    now = int(time.time())
    verifier.check(sign(rsa_key, claims("w1", groups=["etl-bots"], exp=now + 100)), now)
    assert verifier.principals(Role.WORKER, now + 129) == {"oidc:w1"}
    assert verifier.principals(Role.WORKER, now + 130) == frozenset()


def test_only_a_token_with_no_mapped_role_logs_a_warning_naming_its_principal(idp, dev_certs, rsa_key, caplog):
    verifier = make_verifier(idp, dev_certs)
    with caplog.at_level(logging.INFO, logger="xrsched.server"):
        verifier.check(sign(rsa_key, claims("bob", groups=["readers"])), time.time())
        assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
        verifier.check(sign(rsa_key, claims("eve", groups=["marketing"])), time.time())
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    claim = verifier.settings.role_claim
    assert warnings == [
        f"oidc:eve: authenticated, but no value of its {claim!r} claim is mapped in [oidc.roles]: its calls are refused"
    ]


def test_a_dotted_claim_through_a_value_that_is_no_object_has_no_values():
    assert claim_values({"realm_access": "admins"}, "realm_access.roles") == []
    assert claim_values({"realm_access": ["admins"]}, "realm_access.roles") == []
