"""``verify``'s exact verdicts: which line, which words, and the report's counts and notes.

``tests/test_audit_chain.py`` shows each kind of tampering is found at the right line; these
pin what the operator reads (``xrsched audit verify`` prints ``str(problem)`` and the notes).
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from tests.test_audit_chain import KEY, forged_after, lines_of, rewrite, write
from xrsched.audit_chain import GENESIS
from xrsched.audit_verify import Problem, Report, verify

INCOMPLETE = "incomplete last line (the file was cut in the middle of a record, or a write is in progress)"


@pytest.fixture
def log10(tmp_path) -> Path:
    path = tmp_path / "audit.log"
    write(path, 10).close()
    return path


def forged(line: bytes, **fields: object) -> bytes:
    record = json.loads(line)
    record.update(fields)
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def verdict(paths: list[Path], **kwargs) -> str:
    report = verify(paths, **kwargs)
    assert report.problem is not None, "the tampering was not noticed"
    return str(report.problem)


def test_a_whole_chain_reports_its_counts_ends_and_no_notes(log10):
    lines = lines_of(log10)
    report = verify([log10])
    assert report == Report(
        records=10,
        unchained=0,
        first_seq=1,
        last_seq=10,
        first_prev=GENESIS,
        last_hash=hashlib.sha256(lines[-1]).hexdigest(),
        notes=[],
        problem=None,
    )
    assert report.intact


def test_a_chain_that_starts_in_an_earlier_file_reports_where_it_starts(tmp_path):
    new = tmp_path / "audit.log"
    write(new, 7).close()
    lines = lines_of(new)
    rewrite(new, lines[4:])  # the first four records are in a file not given
    report = verify([new])
    assert report.intact, report.problem
    assert (report.first_seq, report.first_prev, report.last_seq) == (5, hashlib.sha256(lines[3]).hexdigest(), 7)


def test_an_edited_line(log10):
    lines = lines_of(log10)
    lines[4] = lines[4].replace(b'"m4"', b'"mX"')
    rewrite(log10, lines)
    assert verdict([log10]) == (
        f"{log10}:5: altered: its SHA-256 is not the prev of the next record while seq runs on "
        "(this line changed, or the prev of line 6)"
    )


def test_a_deleted_line(log10):
    lines = lines_of(log10)
    del lines[3:5]
    rewrite(log10, lines)
    assert verdict([log10]) == (
        f"{log10}:4: 2 record(s) missing before this line (seq 4..5): deleted or moved, or lines were cut off"
    )


def test_a_line_moved_back(log10):
    lines = lines_of(log10)
    rewrite(log10, [*lines[:2], *lines[3:9], lines[2], lines[9]])  # seq 3 now comes after seq 9
    assert verdict([log10]) == (
        f"{log10}:3: 1 record(s) missing before this line (seq 3..3): deleted or moved, or lines were cut off"
    )


def test_an_old_line_again_later(log10):
    lines = lines_of(log10)
    rewrite(log10, [*lines[:6], lines[2], *lines[6:]])
    assert verdict([log10]) == f"{log10}:7: out of order: seq 3 after 6 (moved or inserted)"


def test_a_copied_line(log10):
    lines = lines_of(log10)
    lines.insert(3, lines[2])
    rewrite(log10, lines)
    assert verdict([log10]) == f"{log10}:4: inserted: a copy of the line before it"


@pytest.mark.parametrize("offset", [1, 2])
def test_an_inserted_record_that_fits(log10, offset):
    lines = lines_of(log10)
    lines.insert(4 + offset, forged_after(lines, 4))
    rewrite(log10, lines)
    assert verdict([log10]) == f"{log10}:{5 + offset}: inserted: a record that claims the place of another"


def test_an_inserted_record_that_fits_as_the_last_line(log10):
    lines = lines_of(log10)
    lines.insert(9, forged_after(lines, 8))  # nothing after it says which of the two is real
    rewrite(log10, lines)
    assert verdict([log10]) == f"{log10}:11: inserted: a record that claims the place of another"


def test_garbage_between_records_and_at_the_end(log10):
    lines = lines_of(log10)
    rewrite(log10, [*lines[:2], b"hello\n", *lines[2:]])
    assert verdict([log10]) == f"{log10}:3: not an audit record"
    rewrite(log10, [*lines, b"hello\n"])
    assert verdict([log10]) == f"{log10}:11: not an audit record"
    rewrite(log10, [*lines[:2], b"hello\n", b"again\n", *lines[2:]])
    assert verdict([log10]) == f"{log10}:3: not an audit record"


def test_a_file_cut_mid_line(log10):
    data = log10.read_bytes()
    log10.write_bytes(data[:-30])
    assert verdict([log10]) == f"{log10}:10: {INCOMPLETE}"


def test_a_first_line_cut_short(tmp_path):
    path = tmp_path / "audit.log"
    path.write_bytes(b'{"ts":"2026')
    assert verdict([path]) == f"{path}:1: {INCOMPLETE}"


def test_a_torn_write_is_noted_by_place(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 3).close()
    with open(path, "ab") as handle:
        handle.write(b'{"ts":"2026-12-06T00:00:00.000Z","peer":"1')
    write(path, 2, start=3).close()
    report = verify([path])
    assert report.intact, report.problem
    assert report.notes == [f"{path}:4: a record cut short by a failed write"]
    assert (report.records, report.last_seq) == (5, 5)


def test_an_empty_log_has_a_note_and_no_problem(tmp_path):
    path = tmp_path / "audit.log"
    path.write_bytes(b"")
    report = verify([path])
    assert report.intact and report.notes == ["no records"]
    assert (report.records, report.unchained, report.first_seq) == (0, 0, None)


def test_a_log_with_only_unchained_records_fails(tmp_path):
    path = tmp_path / "audit.log"
    path.write_text('{"ts":"x","method":"old1"}\n{"ts":"y","method":"old2"}\n')
    report = verify([path])
    assert report.problem == Problem(path, 0, "no chained record at all")
    assert report.unchained == 2 and report.notes == []


def test_a_missing_anchor_names_the_last_line(log10):
    anchor = "a" * 64
    assert verdict([log10], anchor=anchor) == (
        f"{log10}:10: no record has the anchor hash {anchor}: records were cut off the end "
        "(truncated before the anchored record) or the chain was rewritten"
    )
    lines = lines_of(log10)
    assert verify([log10], anchor=hashlib.sha256(lines[0]).hexdigest()).intact


def test_seq_that_does_not_follow_a_matching_prev(log10):
    lines = lines_of(log10)
    rewrite(log10, [*lines[:5], forged(lines[5], seq=9), *lines[6:]])
    assert verdict([log10]) == f"{log10}:6: 3 record(s) missing before this line"
    rewrite(log10, [*lines[:5], forged(lines[5], seq=5), *lines[6:]])
    assert verdict([log10]) == f"{log10}:6: out of order: seq 5 after 5 (moved or inserted)"


def test_a_chain_must_start_at_seq_1(log10):
    lines = lines_of(log10)
    rewrite(log10, [forged(lines[0], seq=2)])
    assert verdict([log10]) == f"{log10}:1: the chain starts here but seq is 2, not 1"


def test_a_new_chain_begun_in_the_middle(log10):
    lines = lines_of(log10)
    rewrite(log10, [*lines, forged(lines[0], seq=11, prev=GENESIS)])
    assert verdict([log10]) == f"{log10}:11: the chain starts again here (a new chain was begun)"


def test_mac_verdicts(tmp_path, log10):
    assert verdict([log10], key=KEY) == f"{log10}:1: no mac, but a key was given (a record forged or stripped)"
    path = tmp_path / "keyed.log"
    write(path, 3, key=KEY).close()
    assert verify([path], key=KEY).notes == []
    assert verify([path]).notes == ["records carry MACs that were not checked (give the key to check them)"]
    assert verify([log10]).notes == []
    assert verdict([path], key=b"w" * 32) == (
        f"{path}:1: mac does not match: the record was altered (or the key is wrong)"
    )


def test_seq_one_past_the_next_is_one_record_missing(log10):
    lines = lines_of(log10)
    rewrite(log10, [*lines[:5], forged(lines[5], seq=7), *lines[6:]])
    assert verdict([log10]) == f"{log10}:6: 1 record(s) missing before this line"


def test_a_line_repeating_the_last_seq_with_a_foreign_prev_is_out_of_order(log10):
    lines = lines_of(log10)
    rewrite(log10, [*lines[:6], forged(lines[2], seq=6), *lines[6:]])
    assert verdict([log10]) == f"{log10}:7: out of order: seq 6 after 6 (moved or inserted)"


def test_an_inserted_record_followed_by_garbage_is_still_named(log10):
    lines = lines_of(log10)
    rewrite(log10, [*lines[:6], forged_after(lines, 4), b"hello\n", *lines[6:]])
    assert verdict([log10]) == f"{log10}:7: inserted: a record that claims the place of another"


@pytest.mark.parametrize(
    "line",
    [b"[1]\n", b'"text"\n', b'{"seq":4,"prev":"zz"}\n', b'{"seq":"4","prev":"' + b"a" * 64 + b'"}\n'],
    ids=["a-list", "a-string", "prev-not-a-hash", "seq-not-a-number"],
)
def test_json_that_is_no_chained_record_is_not_an_audit_record(log10, line):
    lines = lines_of(log10)
    rewrite(log10, [*lines[:4], line, *lines[4:]])
    assert verdict([log10]) == f"{log10}:5: not an audit record"


def test_a_blank_added_to_the_end_of_a_keyed_line_is_noticed(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 3, key=KEY).close()
    lines = lines_of(path)
    rewrite(path, [*lines[:2], lines[2][:-1] + b" \n"])  # the last line: no later prev covers it
    assert verdict([path], key=KEY) == f"{path}:3: no mac, but a key was given (a record forged or stripped)"


def test_a_compressed_file_cut_short_is_an_eio_naming_the_file(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 3).close()
    packed = tmp_path / "audit.log.1.gz"
    packed.write_bytes(gzip.compress(path.read_bytes())[:-20])
    with pytest.raises(OSError) as failed:
        verify([packed, path])
    assert (failed.value.errno, failed.value.strerror, failed.value.filename) == (
        errno.EIO,
        "the compressed file ends early",
        str(packed),
    )
