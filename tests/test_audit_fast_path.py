"""The per-call fast path of the audit log writes exactly what the generic path writes."""

from __future__ import annotations

import json

import pytest

from xrsched.audit import AuditLog


@pytest.mark.parametrize(
    ("peer", "identity", "role", "method", "outcome", "duration", "request_id"),
    [
        ("127.0.0.1:5000", "token:admin", "admin", "ping", "ok", 0.1234567, "r-1"),
        (None, None, None, "(invalid)", -32700, 12.0, ""),
        ("::1:9", 'token:"odd\\name', "worker", "add_task\u00e9", 403, 1e-9, "x" * 300),
        ("h:1", "token:a", "viewer", "m" * 500, "ok", float("nan"), "id"),
    ],
)
def test_record_call_matches_record(tmp_path, peer, identity, role, method, outcome, duration, request_id):
    fast, slow = AuditLog(tmp_path / "fast.log"), AuditLog(tmp_path / "slow.log")
    fast.record_call(peer, identity, role, method, outcome, duration, request_id)
    slow.record(
        peer=peer,
        identity=identity,
        role=role,
        method=method,
        outcome=outcome,
        duration_ms=duration if duration == duration else 0.0,
        request_id=request_id,
    )
    a = json.loads((tmp_path / "fast.log").read_text())
    b = json.loads((tmp_path / "slow.log").read_text())
    assert a.pop("ts").endswith("Z") and b.pop("ts").endswith("Z")
    assert a == b
    assert list(a) == list(b)
