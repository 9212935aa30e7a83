"""ServerSettings is the single list of options: CLI, TOML and environment derive from it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click
import pytest

from xrsched.cli.server import main as server_command
from xrsched.core.errors import BadValue
from xrsched.settings import ServerSettings, build_settings, env_name, option_fields


def test_every_setting_is_a_cli_option_and_nothing_else_is():
    options = {p.name for p in server_command.params if isinstance(p, click.Option)}
    expected = {f.name for f in option_fields()} | {"config_file", "version"}
    assert options == expected


def test_toml_only_tables_are_the_scheduler_resources_cors_and_dashboard():
    assert {f.name for f in fields(ServerSettings)} - {f.name for f in option_fields()} == {
        "scheduler",
        "resources",
        "cors",
        "dashboard",
    }


def test_precedence_flag_over_env_over_file_over_default():
    assert build_settings({}, environ={}).port == 8082
    assert build_settings({"port": 9000}, environ={}).port == 9000
    assert build_settings({"port": 9000}, environ={env_name("port"): "9100"}).port == 9100
    assert build_settings({"port": 9000}, environ={env_name("port"): "9100"}, flags={"port": 9200}).port == 9200


def test_scheduler_and_resources_tables_use_luigis_keys():
    settings = build_settings(
        {
            "scheduler": {"retry_delay": 30, "disable_persist": 60, "state_path": "/ignored"},
            "resources": {"db": 3},
        },
        environ={},
    )
    assert settings.scheduler.retry_delay == 30
    assert settings.scheduler.disable_persist == 60
    assert settings.resources == {"db": 3}


@pytest.mark.parametrize(
    ("values", "environ", "message"),
    [
        ({"prot": 1}, {}, "unknown setting 'prot'"),
        ({"port": "many"}, {}, "port expects int"),
        ({}, {env_name("no_tls"): "maybe"}, "XRSCHED_NO_TLS: no_tls expects bool"),
        ({"port": 70000}, {}, "between 0 and 65535"),
        ({"tls_cert": "/a.pem"}, {}, "go together"),
        ({"scheduler": {"retry_dealy": 1}}, {}, "unknown setting(s): retry_dealy"),
        ({"resources": {"db": -1}}, {}, "resources.db must be a non-negative integer"),
        ({"log_level": "LOUD"}, {}, "log_level must be"),
        ({"no_tcp": True}, {}, "no_tcp needs unix_socket"),
        ({}, {env_name("no_tcp"): "1"}, "no_tcp needs unix_socket"),
        (
            {"no_tcp": True, "unix_socket": "/run/x.sock", "tls_cert": "/a.pem", "tls_key": "/a.key"},
            {},
            "no_tcp: the Unix socket never uses TLS",
        ),
        ({"unix_socket": "/" + "s" * 107}, {}, "is 108 bytes long; the limit is 107 bytes (sun_path)"),
    ],
)
def test_bad_settings_are_named(values, environ, message):
    with pytest.raises(BadValue) as info:
        build_settings(values, environ=environ)
    assert message in info.value.message


def test_paths_default_under_the_state_directory(tmp_path: Path):
    settings = build_settings({"state_path": str(tmp_path)}, environ={})
    assert settings.resolved_tokens() == tmp_path / "tokens.toml"
    assert settings.resolved_audit_log() == tmp_path / "audit.log"


def test_the_unix_socket_comes_from_file_environment_or_flag(tmp_path: Path):
    assert build_settings({}, environ={}).unix_socket is None
    assert build_settings({"unix-socket": "/run/a.sock"}, environ={}).unix_socket == Path("/run/a.sock")
    from_env = build_settings({}, environ={env_name("unix_socket"): "/run/b.sock", env_name("no_tcp"): "yes"})
    assert (from_env.unix_socket, from_env.no_tcp) == (Path("/run/b.sock"), True)
    assert build_settings({}, environ={}, flags={"unix_socket": tmp_path / "c.sock"}).unix_socket == tmp_path / "c.sock"
