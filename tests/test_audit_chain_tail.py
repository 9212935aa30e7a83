"""Edges of the chain's own reading: where a log ends, and MACs that are not hex."""

from __future__ import annotations

import hashlib

from tests.test_audit_chain import KEY, lines_of, rewrite, write
from xrsched.audit_chain import Tail, tail_of_file
from xrsched.audit_verify import verify


def test_the_tail_seq_skips_lines_whose_seq_is_no_whole_number(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 3).close()
    with open(path, "ab") as handle:
        handle.write(b'{"seq":"7"}\n{"seq":true}\n[4]\n')
    tail = tail_of_file(path)
    assert tail == Tail(hashlib.sha256(b"[4]\n").hexdigest(), 3, False)


def test_a_file_holding_only_a_torn_line_has_no_seq(tmp_path):
    path = tmp_path / "audit.log"
    path.write_bytes(b'{"ts":"2026-12-06T00:00')
    assert tail_of_file(path) == Tail(hashlib.sha256(b'{"ts":"2026-12-06T00:00\n').hexdigest(), None, True)
    write(path, 1).close()  # the writer starts the chain after it
    assert lines_of(path)[1].startswith(b'{"ts"') and b'"seq":1,' in lines_of(path)[1]


def test_a_mac_that_is_not_ascii_is_a_mismatch_not_a_crash(tmp_path):
    path = tmp_path / "audit.log"
    write(path, 2, key=KEY).close()
    lines = lines_of(path)
    start = lines[0].index(b',"mac":"') + len(b',"mac":"')
    lines[0] = lines[0][:start] + "é".encode() + lines[0][start + 2 :]  # still 64 bytes long
    rewrite(path, lines)
    report = verify([path], key=KEY)
    assert str(report.problem) == f"{path}:1: mac does not match: the record was altered (or the key is wrong)"
