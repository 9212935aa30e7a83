"""The audit log: JSON lines, no secrets, thread safety, logrotate reopen, failure and recovery."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import stat
import threading
from pathlib import Path

from tests.waiting import join_all
from xrsched.audit import MAX_VALUE_LENGTH, AuditLog


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_record_is_one_json_line_with_the_contract_fields(tmp_path):
    path = tmp_path / "audit.log"
    audit = AuditLog(path)
    audit.record(
        peer="127.0.0.1:5555",
        identity="w1",
        role="worker",
        method="get_work",
        outcome="ok",
        duration_ms=1.23456,
        request_id="r-1",
        worker="host-1-123",
    )
    [rec] = lines(path)
    assert list(rec)[:8] == [
        "ts",
        "peer",
        "identity",
        "role",
        "method",
        "outcome",
        "duration_ms",
        "request_id",
    ]
    assert rec["duration_ms"] == 1.235
    assert rec["worker"] == "host-1-123"
    ts = dt.datetime.fromisoformat(rec["ts"].replace("Z", "+00:00"))
    assert rec["ts"].endswith("Z")
    assert abs((dt.datetime.now(dt.UTC) - ts).total_seconds()) < 60
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert audit.healthy


def test_outcome_may_be_a_fault_code_or_http_status(tmp_path):
    audit = AuditLog(tmp_path / "audit.log")
    audit.record(method="prune", outcome=403)
    audit.record(method=None, outcome=401, reason="invalid token")
    assert [r["outcome"] for r in lines(tmp_path / "audit.log")] == [403, 401]


def test_secrets_are_never_written(tmp_path):
    path = tmp_path / "audit.log"
    AuditLog(path).record(
        identity="ops",
        method="ping",
        token="s3cret-1",
        Authorization="Bearer s3cret-2",
        password="s3cret-3",
        client_secret="s3cret-4",
        api_key="s3cret-5",
    )
    text = path.read_text()
    assert "s3cret" not in text
    [rec] = lines(path)
    assert rec["identity"] == "ops"
    assert set(rec["dropped_fields"].split(",")) == {
        "token",
        "Authorization",
        "password",
        "client_secret",
        "api_key",
    }


def test_values_are_short_scalars(tmp_path):
    path = tmp_path / "audit.log"
    AuditLog(path).record(method="add_task", task_id="x" * 1000, params={"a": 1}, ratio=float("nan"))
    [rec] = lines(path)
    assert len(rec["task_id"]) == MAX_VALUE_LENGTH
    assert rec["task_id"].endswith("...")
    assert rec["params"] == "{'a': 1}"
    assert rec["ratio"] == "nan"


def test_newlines_cannot_forge_records(tmp_path):
    path = tmp_path / "audit.log"
    AuditLog(path).record(method='ping\n{"method": "forged"}')
    assert len(path.read_text().splitlines()) == 1


def test_threads_write_whole_lines(tmp_path):
    path = tmp_path / "audit.log"
    audit = AuditLog(path)

    def work(n: int) -> None:
        for i in range(200):
            audit.record(method="ping", identity=f"t{n}", request_id=str(i), padding="p" * 150)

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    join_all(threads, 60)
    assert len(lines(path)) == 1600


def test_reopen_after_logrotate_rename(tmp_path):
    path = tmp_path / "audit.log"
    audit = AuditLog(path)
    audit.record(method="before")
    path.rename(tmp_path / "audit.log.1")
    audit.record(method="still-old-file")  # until SIGHUP, writes follow the renamed file
    assert audit.reopen()
    audit.record(method="after")
    assert [r["method"] for r in lines(tmp_path / "audit.log.1")] == ["before", "still-old-file"]
    assert [r["method"] for r in lines(path)] == ["after"]


def test_write_error_marks_unhealthy_and_logs_once(caplog):
    audit = AuditLog(Path("/dev/full"))  # every write fails with ENOSPC
    with caplog.at_level(logging.ERROR, logger="xrsched.audit"):
        for _ in range(5):
            audit.record(method="ping")
    assert not audit.healthy
    assert audit.dropped == 5
    errors = [r for r in caplog.records if r.name == "xrsched.audit"]
    assert len(errors) == 1
    assert "/dev/full" in errors[0].getMessage()


def test_recovers_when_the_path_becomes_writable_again(tmp_path, caplog):
    path = tmp_path / "logs" / "audit.log"
    audit = AuditLog(path)
    audit.record(method="one")
    shutil.rmtree(tmp_path / "logs")
    path.mkdir(parents=True)  # the log's path is now a directory: opening it fails
    assert not audit.reopen()
    assert not audit.healthy
    audit.record(method="lost")
    assert not audit.healthy
    path.rmdir()
    with caplog.at_level(logging.WARNING, logger="xrsched.audit"):
        audit.record(method="two")
    assert audit.healthy
    assert "writable again" in caplog.text
    assert [r["method"] for r in lines(path)] == ["two"]


def test_parent_directory_is_created(tmp_path):
    path = tmp_path / "a" / "b" / "audit.log"
    AuditLog(path).record(method="x")
    assert lines(path)[0]["method"] == "x"


def test_disabled_log_accepts_records(tmp_path):
    audit = AuditLog(None)
    audit.record(method="ping")
    assert audit.reopen()
    assert audit.healthy
    audit.close()


def test_close_then_record_reopens(tmp_path):
    path = tmp_path / "audit.log"
    audit = AuditLog(path)
    audit.close()
    audit.record(method="x")
    assert len(lines(path)) == 1
