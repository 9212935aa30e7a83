"""The server's SQLite writes in a process of their own (``SQLiteStore(writer_process=True)``):
durable when the write returns, written by another process, and the ways that process can end
or fail. Real processes, real signals, a real file size limit (``RLIMIT_FSIZE``)."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xrsched.core.errors import Unavailable
from xrsched.service import SchedulerService
from xrsched.store import SQLiteStore
from xrsched.store.base import Batch
from xrsched.store.writer_process import ProcessWriter, WriterFailed
from xrsched.store.writer_wire import encode_batch, read_frame, send_frame


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by init, counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait_until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _stored(path: Path) -> set[str]:
    """The task ids in the file, read by a connection of its own."""
    reader = SQLiteStore(path, read_only=True)
    try:
        return {row[0] for row in reader.iter_tasks()}
    finally:
        reader.close()


def _history(path: Path, task_id: str) -> list[tuple[str, str]]:
    reader = SQLiteStore(path, read_only=True)
    try:
        return [(h["old_status"], h["new_status"]) for h in reader.history(task_id)]
    finally:
        reader.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[SchedulerService, SQLiteStore, Path]]:
    """A service over a store whose writes go to a writer process, as the server opens it."""
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path, check_in_background=True, snapshot_on_close=True, writer_process=True)
    store.verify()
    service = SchedulerService(store=store)
    yield service, store, path
    service.close()


def test_a_change_is_in_the_file_when_the_call_returns_and_another_process_wrote_it(served):
    service, store, path = served
    writer = store.writer_pid
    assert writer is not None and writer != os.getpid() and _alive(writer)
    service.call("add_task", task_id="A", worker="w")
    assert _stored(path) == {"A"}
    assert _history(path, "A") == [("", "PENDING")]
    service.call("add_task", task_id="B", worker="w")
    assert _stored(path) == {"A", "B"}
    assert store.writer_pid == writer  # one process for every write


def test_a_killed_writer_fails_the_waiting_call_then_a_new_one_writes_everything_once(served):
    service, store, path = served
    service.call("add_task", task_id="A", worker="w")
    killed = store.writer_pid
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    _wait_until(lambda: not _alive(killed))
    with pytest.raises(Unavailable) as refused:
        service.call("add_task", task_id="B", worker="w")
    assert "the writer process ended unexpectedly (killed by signal 9)" in refused.value.message
    assert "will be saved when the store recovers" in refused.value.message
    # The committer's background pass retries (every second): a new writer writes what was kept.
    _wait_until(lambda: service.store_health().ok)
    assert _stored(path) == {"A", "B"}
    assert store.writer_pid not in (None, killed)
    assert _history(path, "B") == [("", "PENDING")]  # written once
    service.call("add_task", task_id="C", worker="w")
    assert _stored(path) == {"A", "B", "C"}


def test_the_writer_ignores_interrupts_meant_for_the_server(served):
    """A Ctrl-C or a service manager's SIGTERM reaches the server, which hands over what is
    pending before it closes the writer's pipe: the writer must still be there to write it."""
    service, store, path = served
    writer = store.writer_pid
    assert writer is not None
    service.call("add_task", task_id="A", worker="w")  # it has started and set up its signals
    os.kill(writer, signal.SIGINT)
    os.kill(writer, signal.SIGTERM)
    service.call("add_task", task_id="B", worker="w")
    assert store.writer_pid == writer and _stored(path) == {"A", "B"}


def test_a_disk_error_in_the_writer_comes_back_with_sqlites_text_and_the_writer_stays(served):
    service, store, path = served
    service.call("add_task", task_id="A", worker="w")
    writer = store.writer_pid
    assert writer is not None
    _, hard = resource.prlimit(writer, resource.RLIMIT_FSIZE)
    resource.prlimit(writer, resource.RLIMIT_FSIZE, (1, hard))  # no write past the first byte of any file
    try:
        with pytest.raises(Unavailable) as refused:
            service.call("add_task", task_id="B", worker="w", params={"blob": "x" * 10_000})
        assert refused.value.message.startswith("add_task: the state store cannot be written: disk I/O error;")
        assert not service.store_health().ok
        assert store.writer_pid == writer and _alive(writer)  # a failed write is not a dead writer
    finally:
        resource.prlimit(writer, resource.RLIMIT_FSIZE, (hard, hard))
    _wait_until(lambda: service.store_health().ok)
    assert _stored(path) == {"A", "B"}


def test_a_store_that_closes_ends_its_writer_and_its_snapshot_holds_the_writers_changes(tmp_path: Path):
    path = tmp_path / "state.sqlite3"
    for task_id in ("A", "B"):  # the second round starts with a snapshot stored (of A)
        store = SQLiteStore(path, snapshot_on_close=True, writer_process=True)
        service = SchedulerService(store=store)
        service.call("add_task", task_id=task_id, worker="w")
        writer = store.writer_pid
        assert writer is not None
        service.close()
        assert not _alive(writer)
        reopened = SQLiteStore(path, snapshot_on_close=True)
        try:
            # The close saw what the writer noted since the snapshot, and wrote a new one.
            assert reopened.snapshot_valid and reopened.snapshot_changes == 0
        finally:
            reopened.close()
    assert _stored(path) == {"A", "B"}


SERVER_THAT_DIES = """
import sys, time
from pathlib import Path
from xrsched.store import SQLiteStore
store = SQLiteStore(Path(sys.argv[1]), writer_process=True)
print(store.writer_pid, flush=True)
time.sleep(60)
"""


def test_the_writer_ends_when_its_server_dies(tmp_path: Path):
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_THAT_DIES, str(tmp_path / "state.sqlite3")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        writer = int(server.stdout.readline())
        time.sleep(0.5)  # let it open the file: it must also end when it is idle, not only at start
        assert _alive(writer)
    finally:
        server.kill()
        server.wait(10)
    _wait_until(lambda: not _alive(writer), timeout=10)


def test_a_writer_that_cannot_open_the_file_says_why_and_the_next_write_starts_another(tmp_path: Path):
    path = tmp_path / "state.sqlite3"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=1")  # not the schema the server makes current before it starts one
    db.close()
    writer = ProcessWriter(path, sync="full", history_days=30.0)
    try:
        with pytest.raises(WriterFailed, match=r"has schema version 1, not \d+$"):
            writer.write(Batch(meta="{}"))
        assert writer.pid is None  # it exited; the next write starts another
        with pytest.raises(WriterFailed, match="has schema version 1"):
            writer.write(Batch(meta="{}"))
    finally:
        writer.close()


def _writer_child(path: Path) -> subprocess.Popen[bytes]:
    """A writer process on ``path``, driven here as the server drives it, once it is ready."""
    child = subprocess.Popen(
        [sys.executable, "-m", "xrsched.store.writer_child", str(path), "full", "30.0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None and read_frame(child.stdout.fileno()) == b""
    return child


def _send(child: subprocess.Popen[bytes], batch: Batch, mark: str, in_doubt: list[tuple[str, int]]) -> bytes | None:
    assert child.stdin is not None and child.stdout is not None
    send_frame(child.stdin.fileno(), encode_batch(batch, mark, in_doubt))
    return read_frame(child.stdout.fileno())


def test_history_of_a_batch_that_committed_before_its_writer_died_is_not_stored_twice(tmp_path: Path):
    """The writer died after its commit, before the server read its answer: the server's next
    batch begins with the same changes, marked in doubt; the new writer sees from the stored
    mark that they committed and leaves their history entries out."""
    path = tmp_path / "state.sqlite3"
    SQLiteStore(path).close()
    registered = ("A", None, "PENDING", time.time(), "w", None)
    first = _writer_child(path)
    assert _send(first, Batch(history=[registered]), "run:1", []) == b""  # committed: the answer is "lost"
    first.kill()
    first.wait()
    later = ("A", "PENDING", "RUNNING", time.time(), "w", None)
    second = _writer_child(path)
    try:
        assert _send(second, Batch(history=[registered, later]), "run:2", [("run:1", 1)]) == b""
        # A batch in doubt that never committed (another mark is stored): nothing is left out.
        assert _send(second, Batch(history=[later]), "run:4", [("run:3", 1)]) == b""
    finally:
        assert second.stdin is not None
        second.stdin.close()
        second.wait(10)
    assert _history(path, "A") == [("", "PENDING"), ("PENDING", "RUNNING"), ("PENDING", "RUNNING")]
