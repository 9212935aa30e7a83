"""One request's audit records in one write: order, chain, other threads, failed writes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from xrsched.audit import AuditLog
from xrsched.audit_verify import verify


def call(audit: AuditLog, method: str) -> None:
    audit.record_call("127.0.0.1:1", "token:w", "worker", method, "ok", 1.0, "req-1")


def methods(path: Path) -> list[str]:
    return [json.loads(line)["method"] for line in path.read_text().splitlines()]


def test_a_batch_lands_at_its_end_in_order_and_chained(tmp_path):
    path = tmp_path / "audit.log"
    audit = AuditLog(path, key=b"k" * 32)
    call(audit, "before")
    with audit.batch():
        for n in range(16):
            call(audit, f"entry{n}")
        assert methods(path) == ["before"]  # held until the block ends
    call(audit, "after")
    assert methods(path) == ["before", *(f"entry{n}" for n in range(16)), "after"]
    report = verify([path], key=b"k" * 32)
    assert report.intact, report.problem
    assert (report.records, report.last_seq) == (18, 18)


def test_nested_batches_join_the_outer_one(tmp_path):
    path = tmp_path / "audit.log"
    audit = AuditLog(path)
    with audit.batch():
        call(audit, "a")
        with audit.batch():
            call(audit, "b")
        assert not path.read_text()
    assert methods(path) == ["a", "b"]


def test_a_batch_is_written_even_when_its_block_raises(tmp_path):
    path = tmp_path / "audit.log"
    audit = AuditLog(path)
    try:
        with audit.batch():
            call(audit, "refused")
            raise RuntimeError("the request failed")
    except RuntimeError:
        pass
    assert methods(path) == ["refused"]


def test_other_threads_write_at_once_and_never_inside_a_batch(tmp_path):
    path = tmp_path / "audit.log"
    audit = AuditLog(path)
    other = threading.Thread(target=call, args=(audit, "other"))
    with audit.batch():
        call(audit, "mine1")
        other.start()
        other.join()
        assert methods(path) == ["other"]  # not held: only this thread's batch is
        call(audit, "mine2")
    assert methods(path) == ["other", "mine1", "mine2"]
    assert verify([path]).intact


def test_a_disabled_log_accepts_batches(tmp_path):
    audit = AuditLog(None)
    with audit.batch():
        call(audit, "x")
    assert audit.dropped == 0 and not list(tmp_path.iterdir())


_TORN = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from xrsched.audit import AuditLog

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    path = Path(sys.argv[1])
    audit = AuditLog(path)
    def call(method):
        audit.record_call("127.0.0.1:1", "token:w", "worker", method, "ok", 1.0, "req-1")
    call("first")
    size = path.stat().st_size
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + size * 3 // 2, resource.RLIM_INFINITY))
    with audit.batch():
        for n in range(3):
            call(f"entry{n}")
    print(audit.dropped, audit.healthy)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    call("last")
    print(audit.dropped, audit.healthy)
    """
)


def test_a_batch_cut_short_by_a_full_disk_keeps_what_reached_the_file(tmp_path):
    path = tmp_path / "audit.log"
    done = subprocess.run(
        [sys.executable, "-c", _TORN, str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["2", "False", "2", "True"]  # two records lost, then it recovered
    lines = path.read_bytes().splitlines()
    assert [json.loads(line)["method"] for line in (lines[0], lines[1], lines[3])] == ["first", "entry0", "last"]
    assert lines[2].startswith(b'{"ts":') and not lines[2].endswith(b"}")  # entry1, torn
    report = verify([path])
    assert report.intact, report.problem
    assert report.records == 3 and any("cut short" in note for note in report.notes)
