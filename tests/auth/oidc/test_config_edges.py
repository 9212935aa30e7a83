"""OidcSettings.from_mapping at its edges: every bound's first valid and first invalid value,
the exact refusal messages, the defaults, and the spellings a table may use."""

from __future__ import annotations

from pathlib import Path

import pytest

from xrsched.auth.oidc.config import ASYMMETRIC_ALGORITHMS, OidcSettings
from xrsched.auth.roles import Role

BASE = {"issuer": "https://sso.example/realms/x", "audience": "xrsched", "jwks": "/etc/xrsched/jwks.json"}


def refusal(**change: object) -> str:
    with pytest.raises(ValueError) as caught:
        OidcSettings.from_mapping({**BASE, **change}, origin="x.toml")
    return str(caught.value)


def test_the_defaults_of_every_optional_key():
    oidc = OidcSettings.from_mapping(BASE)
    assert (oidc.issuer, oidc.audience, oidc.jwks) == (BASE["issuer"], BASE["audience"], BASE["jwks"])
    assert oidc.ca is None
    assert (oidc.leeway, oidc.refresh_interval, oidc.min_refresh_interval) == (30.0, 3600.0, 30.0)
    assert (oidc.cache_size, oidc.cache_seconds) == (1024, 60.0)
    assert oidc.role_claim == "groups"


def test_dashed_keys_are_read_as_underscored_ones_and_values_are_stripped(tmp_path):
    oidc = OidcSettings.from_mapping(
        {
            "issuer": " https://sso.example ",
            "audience": "xrsched\t",
            "jwks": " HTTPS://sso.example/certs",
            "ca": "~/ca.pem",
            "role-claim": " realm_access.roles ",
            "min-refresh-interval": 5,
            "cache-size": 7,
        }
    )
    assert (oidc.issuer, oidc.audience, oidc.jwks) == ("https://sso.example", "xrsched", "HTTPS://sso.example/certs")
    assert oidc.jwks_is_url
    assert oidc.ca == Path("~/ca.pem").expanduser() and oidc.ca.is_absolute()
    assert (oidc.role_claim, oidc.min_refresh_interval, oidc.cache_size) == ("realm_access.roles", 5.0, 7)


def test_unknown_keys_are_listed_sorted_in_one_message():
    message = refusal(zeta=1, alpha=2, **{"cache-size": 3})
    assert message == "x.toml: unknown [oidc] setting(s): alpha, zeta"


def test_the_origin_defaults_to_config():
    with pytest.raises(ValueError) as caught:
        OidcSettings.from_mapping({"issuer": "i", "audience": "a"})
    assert str(caught.value) == "config: oidc.jwks is required"


@pytest.mark.parametrize("value", ["", "   ", "a\nb", "a\rb", 5, None])
def test_texts_must_be_non_empty_and_one_line(value):
    assert refusal(role_claim=value) == f"x.toml: oidc.role_claim must be a non-empty one-line string, got {value!r}"


def test_a_jwks_location_is_a_path_or_an_https_url():
    assert (
        refusal(jwks="ftp://x/certs") == "x.toml: oidc.jwks must be a file path or an https:// URL, got 'ftp://x/certs'"
    )
    assert OidcSettings.from_mapping({**BASE, "jwks": "certs/jwks.json"}).jwks == "certs/jwks.json"
    assert not OidcSettings.from_mapping({**BASE, "jwks": "certs/jwks.json"}).jwks_is_url


def test_algorithms_one_name_a_list_and_duplicates():
    assert OidcSettings.from_mapping({**BASE, "algorithms": "ES256"}).algorithms == ("ES256",)
    ordered = OidcSettings.from_mapping({**BASE, "algorithms": ["PS256", "EdDSA", "PS256"]}).algorithms
    assert ordered == ("PS256", "EdDSA")
    every = sorted(ASYMMETRIC_ALGORITHMS)
    assert OidcSettings.from_mapping({**BASE, "algorithms": every}).algorithms == tuple(every)


@pytest.mark.parametrize("value", [[], [1], ["RS256", None], {"RS256": 1}, 256])
def test_algorithms_must_be_a_non_empty_list_of_names(value):
    assert refusal(algorithms=value) == f"x.toml: oidc.algorithms must be a non-empty list of names, got {value!r}"


def test_the_refused_and_unknown_algorithms_are_named_exactly():
    assert refusal(algorithms=["NONE"]) == "x.toml: oidc.algorithms: 'none' is refused (it means unsigned tokens)"
    assert refusal(algorithms=["Hs384"]) == (
        "x.toml: oidc.algorithms: 'Hs384' is refused (an HMAC algorithm: anyone who has the "
        "public key set could sign tokens with it)"
    )
    known = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
    assert refusal(algorithms=["rs256"]) == f"x.toml: oidc.algorithms: unknown algorithm 'rs256' (known: {known})"


def test_roles_messages():
    assert refusal(roles=["admin"]) == "x.toml: [oidc.roles] must be a table of claim value = role"
    assert refusal(roles={"ops": 3}) == "x.toml: oidc.roles.'ops' must be a role name, got 3"
    assert refusal(roles={"ops": "boss"}).startswith("x.toml: oidc.roles.'ops': unknown role 'boss' (expected one of: ")
    roles = OidcSettings.from_mapping({**BASE, "roles": {"a": "Viewer", "b": " worker "}}).roles
    assert dict(roles) == {"a": Role.VIEWER, "b": Role.WORKER}


@pytest.mark.parametrize(
    ("key", "least"),
    [("leeway", 0.0), ("refresh_interval", 1.0), ("min_refresh_interval", 0.0), ("cache_seconds", 0.0)],
)
def test_seconds_bounds(key, least):
    for good in (least, least + 0.5, 10**9 - 1, 10**9 - 0.5):
        assert getattr(OidcSettings.from_mapping({**BASE, key: good}), key) == float(good)
    assert isinstance(getattr(OidcSettings.from_mapping({**BASE, key: 2}), key), float)
    for bad in (least - 0.5, 10**9, True, "5", None):
        assert refusal(**{key: bad}) == f"x.toml: oidc.{key} must be a number of seconds >= {least:g}, got {bad!r}"


def test_cache_size_bounds():
    for good in (0, 1, 1_000_000):
        assert OidcSettings.from_mapping({**BASE, "cache_size": good}).cache_size == good
    for bad in (-1, 1_000_001, False, 2.0, "5"):
        message = f"x.toml: oidc.cache_size must be a whole number from 0 to 1000000, got {bad!r}"
        assert refusal(cache_size=bad) == message


@pytest.mark.parametrize("key", ["issuer", "audience", "jwks", "ca", "role_claim"])
def test_every_text_key_is_refused_with_the_origin_and_its_name(key):
    assert refusal(**{key: " "}) == f"x.toml: oidc.{key} must be a non-empty one-line string, got ' '"


def test_a_text_may_hold_any_printable_character():
    oidc = OidcSettings.from_mapping({**BASE, "audience": "XRSCHED api://x", "ca": "X.pem"})
    assert (oidc.audience, oidc.ca) == ("XRSCHED api://x", Path("X.pem"))
