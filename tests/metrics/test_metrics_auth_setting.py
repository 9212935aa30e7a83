"""``metrics_auth``: a setting like every other (flag, XRSCHED_METRICS_AUTH, TOML), checked."""

from __future__ import annotations

import http.client
import os
import signal
import ssl
from pathlib import Path

import pytest

from tests.serverproc import spawn_server
from xrsched.core.errors import BadValue
from xrsched.rpc.limits import HttpSettings
from xrsched.settings import build_settings, env_name


def test_token_by_default_none_from_file_environment_or_flag():
    assert build_settings({}, environ={}).metrics_auth == "token"
    assert build_settings({"metrics_auth": "none"}, environ={}).metrics_auth == "none"
    assert build_settings({}, environ={env_name("metrics_auth"): "none"}).metrics_auth == "none"
    assert env_name("metrics_auth") == "XRSCHED_METRICS_AUTH"
    flags = {"metrics_auth": "token"}
    assert build_settings({"metrics_auth": "none"}, environ={}, flags=flags).metrics_auth == "token"


def test_other_values_are_refused_with_a_message():
    with pytest.raises(BadValue) as info:
        build_settings({"metrics_auth": "open"}, environ={})
    assert info.value.message == "metrics_auth must be token or none, got 'open'"
    with pytest.raises(ValueError, match="metrics_auth must be token or none"):
        HttpSettings(metrics_auth="anyone")


def test_the_server_command_takes_the_flag(env: dict[str, str], tmp_path: Path):
    args = ["--port", "0", "--state-path", str(tmp_path / "state"), "--metrics-auth", "none", "--log-level", "WARNING"]
    proc, _lines, port = spawn_server(args, env)
    try:
        context = ssl.create_default_context(cafile=str(tmp_path / "state" / "tls" / "server.pem"))
        connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
        connection.request("GET", "/metrics")  # no token
        response = connection.getresponse()
        body = response.read().decode()
        connection.close()
        assert response.status == 200, body
        assert 'xrsched_tasks{status="PENDING"} 0.0' in body
        assert "luigi_task_started_total" in body  # HELP and TYPE lines even before any task ran
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
