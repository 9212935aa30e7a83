"""Reading the audit log newest first: filters, cursors, rotated files, torn lines, bounded work."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from xrsched.audit import AuditLog
from xrsched.audit_read import CursorError, RecordFilter, iso_ts, parse_cursor, search


def write_log(path: Path, count: int, **fields) -> list[str]:
    """``count`` records written by the real writer; returns their request ids, oldest first."""
    audit = AuditLog(path)
    ids = []
    for n in range(count):
        request_id = f"{path.name}-{n}"
        outcome = fields.get("outcome", "ok" if n % 3 else 403)
        audit.record_call("127.0.0.1:1", f"token:user{n % 2}", "admin", f"m{n % 4}", outcome, 1.0, request_id)
        ids.append(request_id)
    audit.close()
    return ids


def ids(records: list[dict]) -> list[str]:
    return [r["request_id"] for r in records]


def all_pages(path: Path, wanted: RecordFilter | None = None, limit: int = 7, **kw) -> list[str]:
    found: list[str] = []
    before = None
    for _ in range(1000):
        page = search(path, wanted, limit=limit, before=before, **kw)
        assert len(page.records) <= limit
        found += ids(page.records)
        if page.next is None:
            return found
        before = page.next
    raise AssertionError("the cursor never ended")


def test_newest_first_in_pages_that_cover_every_record_once(tmp_path):
    path = tmp_path / "audit.log"
    written = write_log(path, 50)
    first = search(path, limit=10)
    assert ids(first.records) == written[::-1][:10]
    assert first.next is not None
    assert all_pages(path) == written[::-1]


def test_filters_identity_method_and_outcome(tmp_path):
    path = tmp_path / "audit.log"
    write_log(path, 40)
    records = [json.loads(line) for line in path.read_text().splitlines()][::-1]

    def expect(predicate) -> list[str]:
        return ids([r for r in records if predicate(r)])

    assert all_pages(path, RecordFilter(identity="user1")) == expect(lambda r: r["identity"] == "token:user1")
    assert all_pages(path, RecordFilter(identity="token:user0")) == expect(lambda r: r["identity"] == "token:user0")
    assert all_pages(path, RecordFilter(identity="user")) == []
    assert all_pages(path, RecordFilter(method="m2")) == expect(lambda r: r["method"] == "m2")
    assert all_pages(path, RecordFilter(method="m[13]")) == expect(lambda r: r["method"] in ("m1", "m3"))
    assert all_pages(path, RecordFilter(outcome="ok")) == expect(lambda r: r["outcome"] == "ok")
    assert all_pages(path, RecordFilter(outcome="error")) == expect(lambda r: r["outcome"] != "ok")
    assert all_pages(path, RecordFilter(outcome="403")) == expect(lambda r: r["outcome"] == 403)
    both = RecordFilter(identity="user0", outcome="error")
    assert all_pages(path, both) == expect(lambda r: r["identity"] == "token:user0" and r["outcome"] != "ok")
    assert all_pages(path, both)  # the combination is not empty, so the test means something


def test_time_filter_compares_with_the_writers_format(tmp_path):
    path = tmp_path / "audit.log"
    lines = [
        {"ts": "2026-01-01T00:00:00.000Z", "request_id": "old"},
        {"ts": "2026-06-01T12:00:00.500Z", "request_id": "mid"},
        {"ts": "2026-12-01T00:00:00.000Z", "request_id": "new"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    june = 1780315200.0  # 2026-06-01T12:00:00Z
    assert iso_ts(june + 0.5) == "2026-06-01T12:00:00.500Z"
    assert ids(search(path, RecordFilter(since=june)).records) == ["new", "mid"]
    assert ids(search(path, RecordFilter(until=june + 0.5)).records) == ["old"]
    assert ids(search(path, RecordFilter(since=june, until=june + 1)).records) == ["mid"]


def test_goes_on_into_the_rotated_file(tmp_path):
    path = tmp_path / "audit.log"
    older = write_log(path, 12)
    os.rename(path, tmp_path / "audit.log.1")
    newer = write_log(path, 5)
    assert all_pages(path, limit=4) == newer[::-1] + older[::-1]
    assert ids(search(path, limit=100, follow_rotated=False).records) == newer[::-1]


def test_a_cursor_survives_a_rotation_between_pages(tmp_path):
    path = tmp_path / "audit.log"
    written = write_log(path, 10)
    page = search(path, limit=4)
    os.rename(path, tmp_path / "audit.log.1")
    write_log(path, 3)
    rest = all_pages_from(path, page.next, limit=4)
    assert ids(page.records) + rest == written[::-1]


def all_pages_from(path: Path, before: str, limit: int) -> list[str]:
    found = []
    while before is not None:
        page = search(path, limit=limit, before=before)
        found += ids(page.records)
        before = page.next
    return found


def test_a_cursor_whose_file_is_gone_ends_with_a_note(tmp_path):
    path = tmp_path / "audit.log"
    write_log(path, 10)
    page = search(path, limit=4)
    os.remove(path)
    write_log(path, 3)
    gone = search(path, limit=4, before=page.next)
    assert gone.records == [] and gone.next is None
    assert "rotated" in (gone.note or "")


@pytest.mark.parametrize(
    "cursor", ["", "abc", "1:2:3", "1:2:3:4", "1:2:3:0000000g", "-1:2:3:00000000", "1:2:3:00000000 "]
)
def test_cursors_are_checked(cursor):
    with pytest.raises(CursorError):
        parse_cursor(cursor)


def test_torn_and_garbage_lines_are_skipped(tmp_path):
    path = tmp_path / "audit.log"
    path.write_bytes(b'{"request_id":"a"}\nnot json\n[1,2]\n{"request_id":"b"}\n{"request_id":"torn')
    assert ids(search(path).records) == ["b", "a"]


def test_work_per_call_is_bounded_and_the_cursor_continues(tmp_path):
    path = tmp_path / "audit.log"
    written = write_log(path, 3000)  # about 500 kB
    page = search(path, RecordFilter(identity="nobody"), limit=10, max_bytes=64 * 1024)
    assert page.records == []
    assert page.next is not None  # stopped early, and says where to go on
    offset = parse_cursor(page.next).offset
    assert path.stat().st_size - offset <= 2 * 64 * 1024
    assert all_pages(path, limit=500, max_bytes=64 * 1024) == written[::-1]


def test_a_line_longer_than_a_chunk_is_read_whole(tmp_path):
    path = tmp_path / "audit.log"
    big = {"request_id": "big", "x": "y" * 200_000}
    path.write_text(json.dumps({"request_id": "first"}) + "\n" + json.dumps(big) + "\n")
    assert ids(search(path).records) == ["big", "first"]


def test_missing_file_gives_nothing(tmp_path):
    page = search(tmp_path / "none.log")
    assert page.records == [] and page.next is None
