"""The audit hash chain: what the writer adds, and each kind of tampering caught at its line."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest

from xrsched.audit import AuditLog
from xrsched.audit_chain import GENESIS, AuditKeyError, read_key
from xrsched.audit_verify import verify

KEY = b"k" * 32


def write(path: Path, count: int, *, key: bytes | None = None, start: int = 0) -> AuditLog:
    audit = AuditLog(path, key=key)
    for n in range(start, start + count):
        audit.record_call("127.0.0.1:1", "token:ops", "operator", f"m{n}", "ok", 1.0, f"r{n}")
    return audit


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def where(report) -> tuple[str, int]:
    assert report.problem is not None, "the tampering was not noticed"
    return report.problem.path.name, report.problem.line


def test_each_record_names_the_sha256_of_the_previous_lines_exact_bytes(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 5).close()
    lines = lines_of(path)
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev"] == GENESIS
    for before, record in zip(lines, records[1:], strict=False):
        assert record["prev"] == hashlib.sha256(before).hexdigest()  # newline included
    assert list(records[0])[-2:] == ["seq", "prev"]
    report = verify([path])
    assert report.intact and report.records == 5 and report.first_seq == 1
    assert report.last_hash == hashlib.sha256(lines[-1]).hexdigest()


def test_with_a_key_every_record_carries_an_hmac_of_the_rest_of_its_line(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 3, key=KEY).close()
    for line in lines_of(path):
        record = json.loads(line)
        signed = line[: line.index(b',"mac":"')] + b"}"
        assert record["mac"] == hmac.new(KEY, signed, hashlib.sha256).hexdigest()
    assert verify([path], key=KEY).intact
    assert verify([path]).intact  # the chain alone still checks; the note says macs were skipped
    assert any("MAC" in note for note in verify([path]).notes)
    assert where(verify([path], key=b"w" * 32)) == ("audit.log", 1)


def test_callers_cannot_set_the_chain_fields(tmp_path):
    path = tmp_path / "audit.log"
    audit = AuditLog(path)
    audit.record(method="x", outcome="ok", prev="f" * 64, seq=99, mac="0" * 64)
    record = json.loads(path.read_text())
    assert record["seq"] == 1 and record["prev"] == GENESIS and "mac" not in record
    assert record["dropped_fields"] == "mac,prev,seq"
    assert verify([path]).intact


# --------------------------------------------------------------------------- tampering


@pytest.fixture
def log10(tmp_path) -> Path:
    path = tmp_path / "audit.log"
    write(path, 10).close()
    return path


def test_an_edited_line_is_named(log10):
    lines = lines_of(log10)
    lines[4] = lines[4].replace(b'"m4"', b'"mX"')
    rewrite(log10, lines)
    report = verify([log10])
    assert where(report) == ("audit.log", 5)
    assert "altered" in report.problem.reason


def test_an_edited_line_is_named_by_its_mac_with_a_key(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 10, key=KEY).close()
    lines = lines_of(path)
    lines[6] = lines[6].replace(b'"operator"', b'"admin"')
    rewrite(path, lines)
    report = verify([path], key=KEY)
    assert where(report) == ("audit.log", 7)
    assert "mac" in report.problem.reason


def test_a_rewritten_chain_passes_without_the_key_but_not_with_it(tmp_path):
    """Why the key matters: whoever can write the file can recompute every hash after an edit."""
    path = tmp_path / "audit.log"
    write(path, 4, key=KEY).close()
    records = [json.loads(line) for line in lines_of(path)]
    records[1]["method"] = "forged"
    prev, out = GENESIS, []
    for record in records:
        record["prev"] = prev
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        out.append(line)
        prev = hashlib.sha256(line).hexdigest()
    rewrite(path, out)
    assert verify([path]).intact
    assert where(verify([path], key=KEY)) == ("audit.log", 2)  # the edited line: its mac fails


def test_a_deleted_line_is_named_where_it_was(log10):
    lines = lines_of(log10)
    del lines[3]
    rewrite(log10, lines)
    report = verify([log10])
    assert where(report) == ("audit.log", 4)
    assert "1 record(s) missing" in report.problem.reason


def test_reordered_lines_are_named_at_the_first_moved(log10):
    lines = lines_of(log10)
    lines[5], lines[6] = lines[6], lines[5]
    rewrite(log10, lines)
    assert where(verify([log10])) == ("audit.log", 6)


def test_a_copied_line_is_named(log10):
    lines = lines_of(log10)
    lines.insert(3, lines[2])
    rewrite(log10, lines)
    report = verify([log10])
    assert where(report) == ("audit.log", 4)
    assert "copy" in report.problem.reason


def forged_after(lines: list[bytes], index: int) -> bytes:
    """A record that fits after lines[index] (right prev, next seq)."""
    record = json.loads(lines[index])
    record.update(method="forged", request_id="forged", seq=record["seq"] + 1)
    record["prev"] = hashlib.sha256(lines[index]).hexdigest()
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


@pytest.mark.parametrize("offset", [1, 2], ids=["before-the-real-one", "after-the-real-one"])
def test_an_inserted_record_that_fits_the_chain_is_named(log10, offset):
    lines = lines_of(log10)
    forged = forged_after(lines, 4)
    lines.insert(4 + offset, forged)
    rewrite(log10, lines)
    report = verify([log10])
    assert where(report) == ("audit.log", 5 + offset)
    assert "inserted" in report.problem.reason


def test_a_line_of_garbage_inserted_is_named(log10):
    lines = lines_of(log10)
    lines.insert(2, b"hello\n")
    rewrite(log10, lines)
    assert where(verify([log10])) == ("audit.log", 3)


def test_truncated_mid_line_is_named(log10):
    data = log10.read_bytes()
    log10.write_bytes(data[: len(data) - 30])
    report = verify([log10])
    assert where(report) == ("audit.log", 10)
    assert "incomplete" in report.problem.reason


def test_truncated_at_a_line_boundary_shows_only_against_an_anchor_or_the_next_file(tmp_path):
    path = tmp_path / "audit.log"
    audit = write(path, 10)
    anchor = verify([path]).last_hash
    os.rename(path, tmp_path / "audit.log.1")
    audit.reopen()
    for n in range(3):
        audit.record_call("127.0.0.1:1", "token:ops", "operator", f"n{n}", "ok", 1.0, f"n{n}")
    audit.close()
    rotated = tmp_path / "audit.log.1"
    assert verify([rotated, path]).intact
    assert verify([rotated, path], anchor=anchor).intact
    rewrite(rotated, lines_of(rotated)[:8])
    # Alone, a file cut at a line boundary is a shorter, whole chain: nothing to see.
    assert verify([rotated]).intact
    # The hash noted earlier is gone...
    assert not verify([rotated], anchor=anchor).intact
    # ...and the next file's first record names a line that is not there any more.
    report = verify([rotated, path])
    assert where(report) == ("audit.log", 1)
    assert "2 record(s) missing" in report.problem.reason and "audit.log.1 was cut off" in report.problem.reason


# ------------------------------------------------------------------- continuity


def test_the_chain_continues_across_reopen_restart_and_rotation(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 3).close()
    write(path, 3, start=3).close()  # a restart: the tail of the file is read
    os.rename(path, tmp_path / "audit.log.1")
    write(path, 2, start=6).close()  # a restart after logrotate: the tail of audit.log.1
    report = verify([tmp_path / "audit.log.1", path])
    assert report.intact, report.problem
    assert (report.records, report.first_seq, report.last_seq) == (8, 1, 8)


def test_a_write_torn_by_a_crash_is_noted_and_the_chain_goes_over_it(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 3).close()
    with open(path, "ab") as handle:
        handle.write(b'{"ts":"2026-12-06T00:00:00.000Z","peer":"1')  # the crash
    write(path, 2, start=3).close()
    lines = lines_of(path)
    assert lines[3].startswith(b'{"ts":"2026-12-06T00:00:00.000Z","peer":"1\n')
    report = verify([path])
    assert report.intact, report.problem
    assert report.records == 5 and any("cut short" in note for note in report.notes)
    lines[3] = b"garbage\n"  # the torn line itself is covered by the next record's prev
    rewrite(path, lines)
    assert where(verify([path])) == ("audit.log", 4)


def test_records_from_before_the_chain_are_a_counted_prefix(tmp_path):
    path = tmp_path / "audit.log"
    path.write_text('{"ts":"x","method":"old1"}\n{"ts":"y","method":"old2"}\n')
    write(path, 2).close()
    report = verify([path])
    assert report.intact and report.unchained == 2 and report.records == 2
    lines = lines_of(path)
    lines[1] = lines[1].replace(b"old2", b"oldX")  # the last old line is chained by the first new one
    rewrite(path, lines)
    assert where(verify([path])) == ("audit.log", 2)


# -------------------------------------------------------------------------- the key


def test_the_key_file_must_be_private_and_long_enough(tmp_path):
    key = tmp_path / "audit.key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef\n")
    key.chmod(0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        read_key(key)
    key.chmod(0o600)
    assert read_key(key) == b"0123456789abcdef0123456789abcdef"
    key.write_bytes(b"short\n")
    with pytest.raises(AuditKeyError, match="too short"):
        read_key(key)
    with pytest.raises(AuditKeyError, match="No such file"):
        read_key(tmp_path / "missing")


def test_compressed_rotated_files_are_read(tmp_path):
    path = tmp_path / "audit.log"
    audit = write(path, 5)
    os.rename(path, tmp_path / "audit.log.1")
    audit.reopen()
    audit.record_call("127.0.0.1:1", "token:ops", "operator", "after", "ok", 1.0, "after")
    audit.close()
    rotated = tmp_path / "audit.log.1"
    packed = tmp_path / "audit.log.1.gz"
    packed.write_bytes(gzip.compress(rotated.read_bytes()))
    report = verify([packed, path])
    assert report.intact and report.records == 6
    packed.write_bytes(gzip.compress(rotated.read_bytes())[:-20])  # cut short
    with pytest.raises(OSError, match="ends early"):
        verify([packed, path])


def test_the_key_length_bound_and_the_unreadable_message_are_exact(tmp_path):
    key = tmp_path / "audit.key"
    key.write_bytes(b"  " + b"k" * 16 + b"\n")
    key.chmod(0o600)
    assert read_key(key) == b"k" * 16  # exactly the minimum, blanks around it not counted
    key.write_bytes(b"k" * 15 + b"\n")
    with pytest.raises(AuditKeyError) as refused:
        read_key(key)
    assert str(refused.value) == f"audit key {key}: too short (at least 16 bytes; 32 random bytes are best)"
    with pytest.raises(AuditKeyError) as refused:
        read_key(tmp_path / "missing")
    assert str(refused.value) == f"audit key {tmp_path / 'missing'}: No such file or directory"
    key.chmod(0o640)
    with pytest.raises(AuditKeyError) as refused:
        read_key(key)
    assert str(refused.value) == f"audit key {key}: group or others may access it; chmod 600 it"
