"""Interoperability with XML-RPC clients nobody here wrote (Perl RPC::XML, Ruby xmlrpc).

The clients are real programs in ``clients/``, run against the production server (the
``live_server`` fixture of ``tests/server``) over verified TLS with a token. When a client's
interpreter or library is missing the tests fail, naming the Debian package: CI installs them
with ``scripts/install-test-packages.sh`` (which ``scripts/test.sh`` runs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

# Re-exported fixtures: a real server (production runtime) on 127.0.0.1:0 with test-time TLS certs.
from tests.server.conftest import live_server, live_server_factory  # noqa: F401
from xrsched.certgen import make_dev_certificates

CLIENTS = Path(__file__).parent / "clients"
TIMEOUT = 60
WRONG_SECRET = "not-the-secret-Zq7vXk2pWm9rT4"
INSTALL_HINT = "run scripts/install-test-packages.sh (as root) to install the interop clients"


@dataclass(frozen=True)
class Tool:
    """An interpreter plus the libraries a client needs, and the Debian packages providing them."""

    program: str
    check: list[str]  # arguments that exit 0 only when every library loads
    packages: str

    def require(self) -> str:
        path = shutil.which(self.program)
        if path is None:
            pytest.fail(f"{self.program!r} is not installed: needs Debian package(s) {self.packages}; "
                        f"{INSTALL_HINT}", pytrace=False)  # fmt: skip
        probe = subprocess.run([path, *self.check], capture_output=True, text=True, timeout=TIMEOUT)
        if probe.returncode != 0:
            detail = probe.stderr.strip()
            pytest.fail(f"{self.program} cannot load its XML-RPC libraries: needs Debian package(s) "
                        f"{self.packages}; {INSTALL_HINT}\n{detail}", pytrace=False)  # fmt: skip
        return path


def _run(command: list[str], secret: str) -> subprocess.CompletedProcess[str]:
    # The secret goes through the environment (argv is visible to every local user); no proxy
    # may come between the client and the server on localhost.
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["XRSCHED_SECRET"] = secret
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{command[1]} timed out after {TIMEOUT}s; stderr: {exc.stderr!r}")
    assert secret not in done.stdout + done.stderr
    return done


def run_client(command: list[str], secret: str) -> dict:
    """Run a client program that must succeed; return its JSON output."""
    done = _run(command, secret)
    assert done.returncode == 0, f"client failed (exit {done.returncode}):\n{done.stderr}\n{done.stdout}"
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"client printed no JSON:\nstdout: {done.stdout}\nstderr: {done.stderr}")


def run_client_failing(command: list[str], secret: str) -> str:
    """Run a client that must fail (a refused certificate or credentials); return its stderr."""
    done = _run(command, secret)
    assert done.returncode != 0, f"client should have failed but printed:\n{done.stdout}"
    return done.stderr


@pytest.fixture(scope="session")
def foreign_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another dev CA (same subject name, different key) that did not sign the server's certificate."""
    return make_dev_certificates(tmp_path_factory.mktemp("foreign-certs")).ca_cert


def check_session(out: dict, server, *, token_id: str, worker: str, prefix: str, true: object) -> None:
    """The results of one client run (see the client programs), and what the audit log saw.

    ``true`` is how the client library renders ``<boolean>1</boolean>`` (Perl: 1, Ruby: true).
    """
    assert out["ping"] == {"rpc_messages": []}
    assert out["add_task"] is true or out["add_task"] == true

    task = out["task_list_pending"][f"{prefix}1"]
    assert task["status"] == "PENDING"
    assert task["name"] == task["display_name"].split("(", 1)[0]
    assert task["params"] == {"when": "2024-01-01", "n": "7"}
    assert float(task["priority"]) == 5  # Perl keeps the <double> text: "5.0"
    assert task["workers"] == [worker]

    # system.multicall: one-element arrays for results, unpacked by the client where it can.
    assert out["multicall"] in ([{"rpc_messages": []}, true], [[{"rpc_messages": []}], [true]])
    listed = out["task_list_all"]
    assert {f"{prefix}1", f"{prefix}2"} <= set(listed)
    assert listed[f"{prefix}2"]["status"] == "PENDING"

    assert out["unknown_method"]["faultCode"] == -32601
    assert "no_such_method" in out["unknown_method"]["faultString"]
    assert out["forbidden_method"]["faultCode"] == 403  # disable_worker needs the operator role
    assert "operator" in out["forbidden_method"]["faultString"]

    records = [r for r in server.audit_records() if r.get("identity") == f"token:{token_id}"]
    assert [r["method"] for r in records] == [
        "ping", "add_task", "task_list", "ping", "add_task", "system.multicall", "task_list",
        "no_such_method", "disable_worker",
    ]  # fmt: skip
    assert [r["outcome"] for r in records][-2:] == [-32601, 403]
    assert len({r["peer"] for r in records}) == 1, "the client's keep-alive connection was not kept"
