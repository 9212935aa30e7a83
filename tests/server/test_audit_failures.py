"""When the audit log cannot be written: health turns degraded, and --audit-required refuses writes."""

from __future__ import annotations

import shutil
import xmlrpc.client

import pytest


def _break(audit_path):
    """Make the log unwritable even for root: a directory where the file should be."""
    audit_path.unlink()
    audit_path.mkdir()


def _repair(audit_path):
    shutil.rmtree(audit_path)


def test_unwritable_audit_log_degrades_health_then_recovers(live_server):
    proxy = live_server.proxy(live_server.admin)
    proxy.ping("w")
    _break(live_server.audit_path)
    live_server.runtime.reload()  # what logrotate's SIGHUP does
    proxy.ping("w")  # not required: the call goes through, unrecorded
    health = proxy.system.health()
    assert health["status"] == "degraded"
    assert "audit log cannot be written" in health["reasons"]
    _repair(live_server.audit_path)
    proxy.ping("w")  # the next record reopens the file
    assert proxy.system.health()["status"] == "ok"
    assert '"method":"ping"' in live_server.audit_path.read_text()


def test_audit_required_refuses_mutating_calls_while_the_log_is_broken(live_server_factory):
    server = live_server_factory(audit_required=True)
    proxy = server.proxy(server.admin)
    proxy.add_task({"__starstar": True, "task_id": "T", "worker": "w"})
    _break(server.audit_path)
    server.runtime.reload()
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.add_task({"__starstar": True, "task_id": "U", "worker": "w"})
    assert info.value.faultCode == 503
    assert "audit log" in info.value.faultString
    assert proxy.task_list("", "").keys() == {"T"}  # reads still work
    _repair(server.audit_path)
    proxy.is_paused()  # a read re-opens the log
    proxy.add_task({"__starstar": True, "task_id": "U", "worker": "w"})
