"""A request's audit records: one write per request, or one by one with ``audit_required``."""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path

import pytest

from xrsched.audit import AuditLog
from xrsched.auth import Role, TokenStore, add_token
from xrsched.rpc.app import RequestInfo
from xrsched.server.app import SchedulerApp
from xrsched.service import SchedulerService


def _app(tmp_path: Path, audit: AuditLog, *, required: bool) -> tuple[SchedulerApp, RequestInfo]:
    tokens = tmp_path / "tokens.toml"
    secret = add_token(tokens, "ops", Role.OPERATOR)
    app = SchedulerApp(SchedulerService(), tokens=TokenStore.load(tokens), audit=audit, audit_required=required)
    identity = app.authenticate({"Authorization": f"Bearer {secret}"}, None, peer=("127.0.0.1", 1))
    assert identity is not None
    request = RequestInfo(peer=("127.0.0.1", 1), method="POST", path="/RPC2", request_id="r1", identity=identity)
    return app, request


def _multicall(app: SchedulerApp, request: RequestInfo, task_ids: list[str]) -> list:
    calls = [
        {"methodName": "add_task", "params": [{"__starstar": True, "task_id": t, "worker": "w"}]} for t in task_ids
    ]
    result = app.handle_rpc(xmlrpc.client.dumps((calls,), "system.multicall").encode(), request)
    assert result.status == 200
    return xmlrpc.client.loads(result.body)[0][0]


def test_a_multicall_lands_in_one_write_in_order(tmp_path):
    path = tmp_path / "audit.log"
    app, request = _app(tmp_path, AuditLog(path), required=False)
    _multicall(app, request, ["A", "B", "C"])
    lines = path.read_text().splitlines()
    assert [line.split('"method":')[1].split(",")[0] for line in lines] == ['"add_task"'] * 3 + ['"system.multicall"']


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_audit_required_refuses_the_entries_after_a_failed_write(tmp_path):
    app, request = _app(tmp_path, AuditLog(Path("/dev/full")), required=True)  # every write fails
    answers = _multicall(app, request, ["A", "B", "C"])
    assert answers[0] == [True]  # ran; its record could not be written, which the next entries see
    assert [a["faultCode"] for a in answers[1:]] == [503, 503]
    assert app.service.counts()["tasks"] == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_without_audit_required_the_request_runs_and_its_records_are_counted_lost(tmp_path):
    audit = AuditLog(Path("/dev/full"))
    app, request = _app(tmp_path, audit, required=False)
    answers = _multicall(app, request, ["A", "B", "C"])
    assert answers == [[True]] * 3
    assert audit.dropped == 4 and not audit.healthy  # three entries and the multicall itself
