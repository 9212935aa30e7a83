"""The ``[oidc]`` table: defaults, role mapping, and every refusal naming the key at fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xrsched.auth.oidc.config import OidcSettings
from xrsched.auth.roles import Role
from xrsched.core.errors import BadValue
from xrsched.settings import build_settings

SERVER = str(Path(sys.executable).parent / "xrsched-server")
BASE = {"issuer": "https://sso.example/realms/x", "audience": "xrsched", "jwks": "/etc/xrsched/jwks.json"}


def test_defaults():
    oidc = OidcSettings.from_mapping(BASE)
    assert oidc.algorithms == ("RS256", "ES256")
    assert oidc.role_claim == "groups"
    assert oidc.leeway == 30.0
    assert dict(oidc.roles) == {}
    assert not oidc.jwks_is_url


def test_server_settings_carry_the_table():
    settings = build_settings({"oidc": {**BASE, "roles": {"data-eng": "operator"}}}, environ={})
    assert settings.oidc is not None
    assert settings.oidc.roles["data-eng"] is Role.OPERATOR
    assert build_settings({}, environ={}).oidc is None


def test_the_highest_mapped_role_wins_and_unmapped_values_give_none():
    oidc = OidcSettings.from_mapping({**BASE, "roles": {"ops": "operator", "devs": "viewer", "root": "admin"}})
    assert oidc.role_for(["devs", "ops", "other"]) is Role.OPERATOR
    assert oidc.role_for(["root", "devs"]) is Role.ADMIN
    assert oidc.role_for(["other"]) is Role.NONE
    assert oidc.role_for([]) is Role.NONE


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"algorithms": ["RS256", "none"]}, "oidc.algorithms: 'none' is refused"),
        ({"algorithms": ["HS256"]}, "oidc.algorithms: 'HS256' is refused (an HMAC algorithm"),
        ({"algorithms": ["hs512"]}, "oidc.algorithms: 'hs512' is refused"),
        ({"algorithms": ["RS999"]}, "unknown algorithm 'RS999'"),
        ({"algorithms": []}, "oidc.algorithms must be a non-empty list"),
        ({"issuer": ""}, "oidc.issuer must be a non-empty one-line string"),
        ({"jwks": "http://sso.example/certs"}, "oidc.jwks must be a file path or an https:// URL"),
        ({"roles": {"x": "root"}}, "oidc.roles.'x': unknown role 'root'"),
        ({"roles": {"x": "none"}}, "oidc.roles.'x': unknown role 'none'"),
        ({"roles": "admin"}, "[oidc.roles] must be a table"),
        ({"leeway": -1}, "oidc.leeway must be a number of seconds >= 0"),
        ({"leeway": True}, "oidc.leeway must be a number"),
        ({"cache_size": 1.5}, "oidc.cache_size must be a whole number"),
        ({"colour": "blue"}, "unknown [oidc] setting(s): colour"),
    ],
)
def test_bad_values_are_refused_by_name(change, message):
    with pytest.raises(BadValue) as caught:
        build_settings({"oidc": {**BASE, **change}}, environ={}, origin="x.toml")
    assert message in caught.value.message
    assert caught.value.message.startswith("x.toml: ")


@pytest.mark.parametrize("key", ["issuer", "audience", "jwks"])
def test_required_keys(key):
    values = {k: v for k, v in BASE.items() if k != key}
    with pytest.raises(BadValue, match=f"oidc.{key} is required"):
        build_settings({"oidc": values}, environ={})


def test_the_server_refuses_a_bad_table_with_one_line_and_exit_2(tmp_path, env):
    config = tmp_path / "server.toml"
    config.write_text('[oidc]\nissuer = "https://i"\naudience = "a"\njwks = "/k.json"\nalgorithms = ["HS256"]\n')
    result = subprocess.run(
        [SERVER, "--config", str(config), "--state-path", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: {config}: oidc.algorithms: 'HS256' is refused (an HMAC algorithm: anyone who "
        "has the public key set could sign tokens with it)"
    ]
    assert not (tmp_path / "state").exists()
