"""``xrsched audit verify|tail`` through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.waiting import wait_for
from xrsched.audit import AuditLog

XRSCHED = Path(sys.executable).with_name("xrsched")
KEY = b"0123456789abcdef0123456789abcdef"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(XRSCHED), *args], capture_output=True, text=True, env=env, timeout=60)


def write(path: Path, calls: list[tuple[str, str, str | int]], key: bytes | None = None) -> None:
    audit = AuditLog(path, key=key)
    for n, (identity, method, outcome) in enumerate(calls):
        audit.record_call("127.0.0.1:9", identity, "operator", method, outcome, 2.5, f"r{n}")
    audit.close()


@pytest.fixture
def log(tmp_path) -> Path:
    path = tmp_path / "audit.log"
    write(path, [("token:ops", "ping", "ok"), ("token:ci", "prune", 403), ("token:ops", "add_task", "ok")] * 4)
    return path


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "audit.key"
    path.write_bytes(KEY + b"\n")
    path.chmod(0o600)
    return path


def test_verify_exit_statuses(log, tmp_path, key_file):
    intact = run("audit", "verify", str(log))
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "intact: 12 records in 1 file(s), from the chain's start to seq 12" in intact.stdout
    last_hash = intact.stdout.split("last record hash: ")[1].strip()
    assert len(last_hash) == 64

    assert run("audit", "verify", str(log), "--anchor", last_hash).returncode == 0
    lines = log.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b"prune", b"pause")
    log.write_bytes(b"".join(lines))
    broken = run("audit", "verify", str(log))
    assert broken.returncode == 1
    assert f"BROKEN {log}:5: altered" in broken.stdout

    missing = run("audit", "verify", str(log), str(tmp_path / "nope.log"))
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr and "nope.log" in missing.stderr
    key_file.chmod(0o644)
    assert run("audit", "verify", "--key", str(key_file), str(log)).returncode == 2


def test_verify_with_the_key(tmp_path, key_file):
    path = tmp_path / "audit.log"
    write(path, [("token:ops", "ping", "ok")] * 3, key=KEY)
    assert run("audit", "verify", "--key", str(key_file), str(path)).returncode == 0
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(b"x" * 32)
    wrong.chmod(0o600)
    result = run("audit", "verify", "--key", str(wrong), str(path))
    assert result.returncode == 1 and f"{path}:1: mac does not match" in result.stdout


def test_tail_table_filters_and_json(log):
    table = run("audit", "tail", str(log), "-n", "3")
    assert table.returncode == 0, table.stderr
    rows = table.stdout.splitlines()
    assert rows[0].split() == ["TS", "IDENTITY", "ROLE", "METHOD", "OUTCOME", "DURATION_MS", "PEER"]
    assert [row.split()[3] for row in rows[1:]] == ["ping", "prune", "add_task"]  # oldest of the three first

    errors = run("audit", "tail", str(log), "--outcome", "error", "--json", "-n", "100")
    records = [json.loads(line) for line in errors.stdout.splitlines()]
    assert len(records) == 4 and {r["method"] for r in records} == {"prune"}
    assert [r["request_id"] for r in records] == ["r1", "r4", "r7", "r10"]

    ops = run("audit", "tail", str(log), "--identity", "ops", "--method", "add_*", "--json")
    assert {json.loads(line)["method"] for line in ops.stdout.splitlines()} == {"add_task"}
    assert run("audit", "tail", str(log.with_name("none.log"))).returncode == 2


def test_tail_default_file_is_in_the_state_directory(tmp_path, env):
    state = tmp_path / "state"
    write(state / "audit.log", [("token:ops", "ping", "ok")])
    result = run("audit", "tail", "--json", env={**env, "XRSCHED_STATE_PATH": str(state)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["method"] == "ping"


def test_tail_follow_prints_new_records_and_follows_a_rotation(log, tmp_path):
    out = tmp_path / "out.txt"
    with open(out, "wb") as sink:
        proc = subprocess.Popen([str(XRSCHED), "audit", "tail", str(log), "-f", "--json", "-n", "1"], stdout=sink)
    try:
        wait_for(lambda: out.read_text().count("\n") == 1, 20, "the newest record")
        audit = AuditLog(log)
        audit.record_call("127.0.0.1:9", "token:ops", "admin", "after", "ok", 1.0, "new-1")
        wait_for(lambda: "new-1" in out.read_text(), 20, "an appended record")
        os.rename(log, tmp_path / "audit.log.1")
        audit.record_call("127.0.0.1:9", "token:ops", "admin", "late", "ok", 1.0, "old-file")
        audit.reopen()
        time.sleep(0.3)
        audit.record_call("127.0.0.1:9", "token:ops", "admin", "rotated", "ok", 1.0, "new-file")
        audit.close()
        wait_for(lambda: "new-file" in out.read_text(), 20, "a record in the new file")
    finally:
        proc.terminate()
        proc.wait(10)
    ids = [json.loads(line)["request_id"] for line in out.read_text().splitlines()]
    assert ids == ["r11", "new-1", "old-file", "new-file"]
