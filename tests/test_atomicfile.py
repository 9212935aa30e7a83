"""The one atomic file write: old or whole new version, no temporary file left, exact permissions."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from xrsched.atomicfile import AtomicFile, publish, temp_path_beside, write_atomic


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("durable", [True, False])
def test_write_replaces_the_file_and_leaves_nothing_else(tmp_path, durable):
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    write_atomic(path, b"new", durable=durable)
    assert path.read_bytes() == b"new"
    assert _names(tmp_path) == ["state.json"]


def test_nothing_is_visible_until_commit_and_the_temporary_file_is_a_hidden_sibling(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old")
    new = AtomicFile(path)
    new.write(b"x" * 100_000)
    new.stream.flush()
    assert path.read_bytes() == b"old"
    temp = Path(new.temp_path)
    assert temp.parent == tmp_path and temp.name.startswith(".tmp-") and temp.name.endswith("-out.csv")
    new.commit()
    assert path.read_bytes() == b"x" * 100_000
    assert _names(tmp_path) == ["out.csv"]
    new.commit()  # a second commit does nothing
    assert new.done


def test_an_error_while_writing_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    path = tmp_path / "tokens.toml"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="halfway"), AtomicFile(path) as new:
        new.write(b"partial")
        raise RuntimeError("died halfway")
    assert path.read_bytes() == b"old"
    assert _names(tmp_path) == ["tokens.toml"]


def test_a_failed_rename_removes_the_temporary_file_and_raises(tmp_path):
    path = tmp_path / "taken"
    path.mkdir()
    (path / "inside").write_bytes(b"keep")
    with pytest.raises(OSError):
        write_atomic(path, b"data")
    assert _names(tmp_path) == ["taken"]
    assert (path / "inside").read_bytes() == b"keep"


def test_a_writer_dropped_without_commit_publishes_nothing(tmp_path):
    path = tmp_path / "out"
    new = AtomicFile(path)
    new.write(b"never committed")
    del new
    assert _names(tmp_path) == []


def test_concurrent_writers_never_share_a_temporary_file(tmp_path):
    path = tmp_path / "out"
    first, second = AtomicFile(path), AtomicFile(path)
    assert first.temp_path != second.temp_path
    first.write(b"first")
    second.write(b"second")
    second.commit()
    first.commit()
    assert path.read_bytes() == b"first"
    assert _names(tmp_path) == ["out"]


@pytest.mark.parametrize("umask", [0o000, 0o077])
@pytest.mark.parametrize("permissions", [0o600, 0o644])
def test_permissions_are_exact_whatever_the_umask(tmp_path, umask, permissions):
    path = tmp_path / "secret"
    path.write_bytes(b"old")
    path.chmod(0o666)
    with _umask(umask):
        write_atomic(path, b"new", permissions=permissions)
    assert _mode(path) == permissions


@pytest.mark.parametrize("umask, mode", [(0o027, 0o640), (0o000, 0o666)])
def test_without_permissions_the_umask_decides_as_for_open(tmp_path, umask, mode):
    with _umask(umask):
        write_atomic(tmp_path / "out", b"x")
    assert _mode(tmp_path / "out") == mode


def test_permissions_that_cannot_be_set_leave_no_temporary_file(tmp_path):
    with pytest.raises(OverflowError):
        AtomicFile(tmp_path / "out", permissions=2**40)
    assert _names(tmp_path) == []


def test_a_private_file_is_never_readable_by_others_even_before_commit(tmp_path):
    with _umask(0o000):
        new = AtomicFile(tmp_path / "key", permissions=0o600)
    try:
        assert _mode(Path(new.temp_path)) == 0o600
    finally:
        new.discard()


_KILLED_MID_WRITE = textwrap.dedent(
    """
    import sys, time
    from xrsched.atomicfile import AtomicFile
    new = AtomicFile(sys.argv[1])
    new.write(b"N" * 1_000_000)
    new.stream.flush()
    print("halfway", flush=True)
    time.sleep(60)
    """
)


def test_a_process_killed_mid_write_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "data.bin"
    write_atomic(path, b"O" * 1000)
    child = subprocess.Popen([sys.executable, "-c", _KILLED_MID_WRITE, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "halfway\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert path.read_bytes() == b"O" * 1000
    # Nothing can remove the temporary file of a killed process; it is hidden and named as such.
    leftovers = [name for name in _names(tmp_path) if name != "data.bin"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".tmp-")


def test_publish_moves_a_file_written_by_someone_else_into_place(tmp_path):
    path = tmp_path / "report.csv"
    temp = temp_path_beside(path)
    Path(temp).write_text("a,b\n")
    publish(temp, str(path))
    assert path.read_text() == "a,b\n"
    assert _names(tmp_path) == ["report.csv"]


def test_a_long_name_still_fits_in_the_temporary_name(tmp_path):
    path = tmp_path / ("n" * 250)
    write_atomic(path, b"x")
    assert path.read_bytes() == b"x"


def test_a_discarded_write_stays_discarded_even_if_committed_later(tmp_path):
    path = tmp_path / "out"
    path.write_bytes(b"old")
    new = AtomicFile(path)
    new.write(b"dropped")
    new.discard()
    assert new.done
    new.commit()  # nothing left to publish, and no error either
    assert path.read_bytes() == b"old"
    assert _names(tmp_path) == ["out"]


def test_discard_does_not_fail_when_someone_already_removed_the_temporary_file(tmp_path):
    new = AtomicFile(tmp_path / "out")
    os.unlink(new.temp_path)  # e.g. a clean-up job sweeping hidden .tmp- files
    new.discard()
    assert _names(tmp_path) == []


_FLUSH_FAILS_ON_DISCARD = textwrap.dedent(
    """
    import resource, signal, sys
    from xrsched.atomicfile import AtomicFile
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the size limit: EFBIG, not death
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))
    try:
        with AtomicFile(sys.argv[1]) as new:
            new.write(b"B" * 1000)  # buffered: reaches the file only when flushed
            raise RuntimeError("the caller's own error")
    except RuntimeError as exc:
        print("raised:", exc)
    """
)


def test_a_flush_that_fails_while_discarding_neither_hides_the_callers_error_nor_leaves_a_file(tmp_path):
    path = tmp_path / "out"
    path.write_bytes(b"old")
    done = subprocess.run(
        [sys.executable, "-c", _FLUSH_FAILS_ON_DISCARD, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout == "raised: the caller's own error\n", done.stderr
    assert path.read_bytes() == b"old"
    assert _names(tmp_path) == ["out"]
