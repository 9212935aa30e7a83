"""request_fields: the fields of one audit record, as the audit writer then writes them."""

from __future__ import annotations

import json
from pathlib import Path

from xrsched.audit import AuditLog
from xrsched.audit_fields import request_fields
from xrsched.auth import Identity, Role


def written(tmp_path: Path, fields: dict[str, object]) -> dict[str, object]:
    log = AuditLog(tmp_path / "audit.log")
    log.record(**fields)
    log.close()
    return json.loads((tmp_path / "audit.log").read_text().splitlines()[-1])


def test_an_authenticated_call_names_the_peer_principal_and_role(tmp_path: Path):
    fields = request_fields(("127.0.0.1", 4711), Identity("ops", Role.OPERATOR, "token"), "prune", 403, 1.5, "r-1")
    record = written(tmp_path, fields)
    assert {k: record[k] for k in fields} == {
        "peer": "127.0.0.1:4711",
        "identity": "token:ops",
        "role": "operator",
        "method": "prune",
        "outcome": 403,
        "duration_ms": 1.5,
        "request_id": "r-1",
    }
    assert "via" not in record


def test_an_unauthenticated_request_records_no_one_and_via_when_given(tmp_path: Path):
    fields = request_fields("unix:/run/x.sock pid=12", "not an identity", "GET /", 401, 0.0, "r-2", via="dashboard")
    record = written(tmp_path, fields)
    assert record["identity"] is None and record["role"] is None
    assert record["peer"] == "unix:/run/x.sock pid=12" and record["via"] == "dashboard"
    assert request_fields(None, None, "m", "ok", 0.0, "r-3", via="")["peer"] is None
    assert "via" not in request_fields(None, None, "m", "ok", 0.0, "r-3", via="")
