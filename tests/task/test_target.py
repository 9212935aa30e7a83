"""LocalTarget: atomic writes through a temporary sibling, formats, temporary_path."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import textwrap
import threading

import pytest

import xrsched.task as luigi
from tests.waiting import join_all


def _read(target, mode="r"):
    with target.open(mode) as f:
        return f.read()


def _siblings(directory):
    return sorted(p.name for p in directory.iterdir())


def test_write_then_read_text_and_bytes(tmp_path):
    target = luigi.LocalTarget(tmp_path / "deep" / "er" / "out.txt")
    assert not target.exists()
    with target.open("w") as f:
        f.write("héllo\n")
        f.writelines(["a\n", "b\n"])
    assert target.exists()
    with target.open() as f:
        assert f.read() == "héllo\na\nb\n"
    with target.open("rb") as f:
        assert f.read() == "héllo\na\nb\n".encode()
    with target.open("wb") as f:
        f.write(b"\x00\xff")
    assert (tmp_path / "deep" / "er" / "out.txt").read_bytes() == b"\x00\xff"
    assert os.fspath(target) == target.path == str(tmp_path / "deep" / "er" / "out.txt")


@pytest.mark.parametrize("durable", [True, False])
def test_nothing_is_visible_until_close_and_temp_file_is_a_sibling(tmp_path, durable):
    target = luigi.LocalTarget(tmp_path / "out.csv", durable=durable)
    writer = target.open("w")
    writer.write("x" * 100_000)
    writer.flush()
    assert not target.exists()
    names = _siblings(tmp_path)
    assert len(names) == 1 and names[0].startswith(".tmp-") and names[0].endswith("-out.csv")
    assert os.path.dirname(writer.tmp_path) == str(tmp_path)
    writer.close()
    assert _siblings(tmp_path) == ["out.csv"]
    assert writer.closed
    writer.close()  # a second close does nothing


def test_exception_inside_with_leaves_no_file(tmp_path):
    target = luigi.LocalTarget(tmp_path / "out.txt")
    with pytest.raises(RuntimeError), target.open("w") as f:
        f.write("partial")
        raise RuntimeError("died halfway")
    assert not target.exists()
    assert _siblings(tmp_path) == []


@pytest.mark.parametrize("durable", [True, False])
def test_exception_inside_with_keeps_the_previous_file(tmp_path, durable):
    target = luigi.LocalTarget(tmp_path / "out.txt", durable=durable)
    with target.open("w") as f:
        f.write("old")
    with pytest.raises(ValueError), target.open("w") as f:
        f.write("new but broken")
        raise ValueError
    assert _read(target) == "old"
    assert _siblings(tmp_path) == ["out.txt"]


def test_abandoned_writer_is_discarded(tmp_path):
    target = luigi.LocalTarget(tmp_path / "out.txt")
    writer = target.open("w")
    writer.write("never closed")
    writer.abort()
    assert _siblings(tmp_path) == []
    writer = target.open("w")
    writer.write("dropped")
    del writer
    assert _siblings(tmp_path) == []


def test_readers_never_see_a_partial_file(tmp_path):
    target = luigi.LocalTarget(tmp_path / "data.bin")
    size = 256 * 1024
    with target.open("wb") as f:
        f.write(b"A" * size)
    stop = threading.Event()
    seen = set()
    problems = []

    def reader():
        while not stop.is_set():
            with open(target.path, "rb") as f:
                data = f.read()
            if len(data) != size or len(set(data)) != 1:
                problems.append((len(data), set(data)))
            seen.add(data[:1])

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        for i in range(60):
            with target.open("wb") as f:
                letter = b"B" if i % 2 else b"A"
                for _ in range(16):
                    f.write(letter * (size // 16))
    finally:
        stop.set()
        join_all([thread], 10)
    assert problems == []
    assert seen <= {b"A", b"B"}


def test_bad_modes_are_refused(tmp_path):
    target = luigi.LocalTarget(tmp_path / "x")
    for mode in ("a", "r+", "x", "rwb", "wbt"):
        with pytest.raises(ValueError, match="unsupported mode"):
            target.open(mode)


def test_formats(tmp_path):
    raw = luigi.LocalTarget(tmp_path / "raw.bin", format=luigi.format.Nop)
    with raw.open("w") as f:
        f.write(b"bytes by default")
    assert _read(raw, "r") == b"bytes by default"
    assert _read(raw, "rt") == "bytes by default"

    packed = luigi.LocalTarget(tmp_path / "p.gz", format=luigi.Gzip)
    with packed.open("wt") as f:
        f.write("line\n" * 1000)
    assert gzip.decompress((tmp_path / "p.gz").read_bytes()) == b"line\n" * 1000
    assert _read(packed, "rt") == "line\n" * 1000
    assert len(_read(packed, "rb")) == 5000

    with pytest.raises(OSError), packed.open("w") as f:
        f.write(b"half")
        raise OSError("disk gone")
    assert _read(packed, "rt") == "line\n" * 1000


def test_written_file_gets_normal_permissions(tmp_path):
    target = luigi.LocalTarget(tmp_path / "perm")
    with target.open("w") as f:
        f.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target.path).st_mode & 0o777 == 0o666 & ~umask


def test_temporary_path_publishes_on_success(tmp_path):
    target = luigi.LocalTarget(tmp_path / "sub" / "report.csv")
    with target.temporary_path() as tmp:
        assert tmp.endswith("report.csv") and os.path.dirname(tmp) == str(tmp_path / "sub")
        with open(tmp, "w") as f:
            f.write("a,b\n")
        assert not target.exists()
    assert _read(target) == "a,b\n"
    assert _siblings(tmp_path / "sub") == ["report.csv"]


def test_temporary_path_cleans_up_on_failure(tmp_path):
    target = luigi.LocalTarget(tmp_path / "out")
    with pytest.raises(KeyError), target.temporary_path() as tmp:
        os.mkdir(tmp)
        open(os.path.join(tmp, "part-0"), "w").close()
        raise KeyError
    assert _siblings(tmp_path) == []


def test_temporary_path_works_for_directories_and_requires_output(tmp_path):
    target = luigi.LocalTarget(tmp_path / "outdir")
    with target.temporary_path() as tmp:
        os.mkdir(tmp)
        open(os.path.join(tmp, "part-0"), "w").close()
    assert os.listdir(target.path) == ["part-0"]
    target.remove()
    assert not target.exists()
    with pytest.raises(FileNotFoundError, match="nothing was written"), target.temporary_path():
        pass


def test_remove_and_move(tmp_path):
    target = luigi.LocalTarget(tmp_path / "a")
    with target.open("w") as f:
        f.write("1")
    target.move(tmp_path / "b" / "c")
    assert not target.exists() and (tmp_path / "b" / "c").read_text() == "1"
    moved = luigi.LocalTarget(tmp_path / "b" / "c")
    with target.open("w") as f:
        f.write("2")
    with pytest.raises(FileExistsError):
        target.move(moved.path, raise_if_exists=True)
    moved.remove()
    with pytest.raises(FileNotFoundError):
        moved.remove()


_FSYNC_SCRIPT = textwrap.dedent(
    """
    import sys
    import xrsched.task as xt
    target = xt.LocalTarget(sys.argv[1], durable=sys.argv[2] == "durable")
    with target.open("w") as f:
        f.write("x")
    with target.temporary_path() as tmp:
        open(tmp, "w").write("y")
    """
)


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace to watch the system calls")
@pytest.mark.parametrize(("durable", "expected"), [("durable", 4), ("not-durable", 0)])
def test_durable_false_skips_every_fsync(tmp_path, durable, expected):
    """Counted at the system-call level: open("w") and temporary_path each fsync the file and the
    directory when durable, and neither does with durable=False."""
    trace = tmp_path / "trace"
    command = ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(trace),
               sys.executable, "-c", _FSYNC_SCRIPT, str(tmp_path / "out" / "file.txt"), durable]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0 and "ptrace" in done.stderr.lower():
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    calls = [line for line in trace.read_text().splitlines() if "fsync(" in line or "fdatasync(" in line]
    assert len(calls) == expected, calls
    assert (tmp_path / "out" / "file.txt").read_text() == "y"
