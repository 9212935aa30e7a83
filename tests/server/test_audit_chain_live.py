"""A real server writes a chained, keyed audit log that survives logrotate and a restart."""

from __future__ import annotations

import os

import pytest

from tests.waiting import wait_for
from xrsched.audit_verify import verify
from xrsched.server.preflight import StartupError

KEY = b"an audit key of 32 bytes or so!!"


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "audit.key"
    path.write_bytes(KEY)
    path.chmod(0o600)
    return path


def test_keyed_chain_across_logrotate_and_restart(live_server_factory, key_file):
    server = live_server_factory(audit_key=str(key_file))
    admin = server.proxy(server.admin)
    for _ in range(3):
        admin.count_pending("w")
    rotated = server.audit_path.with_name("audit.log.1")
    os.rename(server.audit_path, rotated)
    admin.count_pending("w")  # still goes to the renamed file until SIGHUP
    server.runtime.reload()  # what SIGHUP does
    admin.count_pending("w")
    server.runtime.stop()
    wait_for(lambda: not server.runtime.audit.is_open, 20, "the first server to close its audit log")
    # A restart continues the chain from the file's last line (the state directory stays locked
    # until this process exits: the second server shares only the audit log).
    again = live_server_factory(audit_key=str(key_file), audit_log=str(server.audit_path))
    again.proxy(again.admin).count_pending("w")
    again.runtime.stop()
    report = verify([rotated, server.audit_path], key=KEY)
    assert report.intact, report.problem
    assert report.records >= 6 and report.first_seq == 1
    assert all("mac" in record for record in server.audit_records())


def test_a_key_others_can_read_stops_the_start(live_server_factory, key_file):
    key_file.chmod(0o640)
    with pytest.raises(StartupError, match="chmod 600"):
        live_server_factory(audit_key=str(key_file))
