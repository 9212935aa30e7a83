"""``xrsched state check|export|import`` and ``xrsched history`` as real commands, and the
server's refusal of a state file it cannot open."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import spawn_server
from xrsched.core import Scheduler
from xrsched.service import SchedulerService
from xrsched.store import SQLiteStore, load_into

BIN = Path(sys.executable).parent
SERVER = str(BIN / "xrsched-server")
XRSCHED = str(BIN / "xrsched")
STATE_FILE = "state.sqlite3"


def kw(**values: Any) -> dict[str, Any]:
    return {"__starstar": True, **values}


def xrsched(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([XRSCHED, *map(str, args)], capture_output=True, text=True, env=env, timeout=60, check=False)


# ------------------------------------------------------------------------------ servers


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    lines: list[str]
    state: Path

    def proxy(self, secret: str) -> xmlrpc.client.ServerProxy:
        context = ssl.create_default_context(cafile=str(self.state / "tls" / "server.pem"))
        return xmlrpc.client.ServerProxy(f"https://admin:{secret}@localhost:{self.port}/RPC2", context=context)

    def secret(self) -> str:
        line = next(line for line in self.lines if "secret:" in line)
        return line.split("secret:", 1)[1].strip()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


@pytest.fixture
def start_server(env) -> Iterator[Any]:
    started: list[Server] = []

    def start(state: Path) -> Server:
        proc, lines, port = spawn_server(["--port", "0", "--state-path", str(state)], env)
        server = Server(proc, port, lines, state)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(10)


# ------------------------------------------------------------------------------ states


def build_state(directory: Path, tasks: int = 20, pad: int = 0) -> dict[str, Any]:
    """A state database written through the service, as the server writes it; returns its listing."""
    directory.mkdir(parents=True, exist_ok=True)
    store = SQLiteStore(directory / STATE_FILE)
    core = Scheduler()
    load_into(store, core, time.time())
    service = SchedulerService(core, store=store)
    call = service.call
    call("add_worker", "w1", {"workers": 2, "host": "h1"})
    for i in range(tasks):
        params = {"n": str(i), "pad": "p" * pad} if pad else {"n": str(i)}
        call("add_task", task_id=f"T{i}", worker="w1", family="Fam", params=params, priority=i % 3,
             deps=[f"T{i - 1}"] if i % 5 == 4 else None)  # fmt: skip
    call("add_task", task_id="T0", worker="w1", status="DONE")
    got = call("get_work", worker="w2", host="h2", assistant=True)
    assert got["task_id"]
    call("add_task", task_id="T1", worker="w1", status="FAILED", expl="Traceback: boom")
    call("update_resource", "db", 3)
    listing = call("task_list", limit=False)
    service.close()
    return listing


def assert_refused(result: subprocess.CompletedProcess[str], path: Path, *words: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert str(path) in result.stderr, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


# ------------------------------------------------------------------------------ check


def test_check_passes_on_a_good_database(tmp_path, env):
    state = tmp_path / "state"
    build_state(state, tasks=20)
    result = xrsched(env, "state", "check", "--state-path", state)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"OK {state / STATE_FILE}: 20 tasks, 2 workers"


def test_check_decodes_every_tasks_parameters(tmp_path, env):
    # The server's start-up checks only the framing of a stored parameters text (its own writes);
    # check, the tool for a file that may have been damaged, decodes each one.
    state = tmp_path / "state"
    build_state(state, tasks=20)
    with contextlib.closing(sqlite3.connect(state / STATE_FILE)) as db, db:
        assert db.execute("SELECT data FROM tasks WHERE id = 'T3'").fetchone()[0] == '{"n":"3"}'
        db.execute("""UPDATE tasks SET data = '{"n":"3"},{"n":"4"}' WHERE id = 'T3'""")  # framed as one object
    result = xrsched(env, "state", "check", "--state-path", state)
    assert_refused(result, state / STATE_FILE, "task 'T3': params are not a JSON object")


def test_check_refuses_random_bytes(tmp_path, env):
    state = tmp_path / "state"
    state.mkdir()
    (state / STATE_FILE).write_bytes(os.urandom(16384))
    assert_refused(xrsched(env, "state", "check", "--state-path", state), state / STATE_FILE)


def test_check_refuses_a_truncated_file(tmp_path, env):
    state = tmp_path / "state"
    build_state(state, tasks=300, pad=500)
    path = state / STATE_FILE
    assert not (state / f"{STATE_FILE}-wal").exists() or (state / f"{STATE_FILE}-wal").stat().st_size == 0
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    assert_refused(xrsched(env, "state", "check", "--state-path", state), path)


def test_check_refuses_a_newer_schema_version(tmp_path, env):
    state = tmp_path / "state"
    build_state(state, tasks=3)
    with contextlib.closing(sqlite3.connect(state / STATE_FILE)) as db:
        db.execute("PRAGMA user_version=99")
    assert_refused(xrsched(env, "state", "check", "--state-path", state), state / STATE_FILE, "schema version 99")


def test_check_without_a_database_says_so(tmp_path, env):
    state = tmp_path / "empty"
    result = xrsched(env, "state", "check", "--state-path", state)
    assert_refused(result, state / STATE_FILE, "no state database")
    assert not state.exists(), "check must not create the directory it was pointed at"


# ------------------------------------------------------------------------------ export / import


def test_export_import_round_trip_and_a_server_serves_the_imported_tasks(tmp_path, env, start_server):
    source = tmp_path / "source"
    listing = build_state(source, tasks=25)
    backup = tmp_path / "backup.json"
    exported = xrsched(env, "state", "export", "--state-path", source, backup)
    assert exported.returncode == 0, exported.stderr
    assert "exported 25 tasks and 2 workers" in exported.stdout
    assert json.loads(backup.read_text())["format"] == "xrsched-state"

    target = tmp_path / "fresh"
    imported = xrsched(env, "state", "import", "--state-path", target, backup)
    assert imported.returncode == 0, imported.stderr
    assert "imported 25 tasks and 2 workers" in imported.stdout
    checks = [xrsched(env, "state", "check", "--state-path", d) for d in (source, target)]
    assert [c.returncode for c in checks] == [0, 0], [c.stderr for c in checks]
    counts = [c.stdout.split(": ", 1)[1] for c in checks]
    assert counts[0] == counts[1] == "25 tasks, 2 workers\n"

    again = xrsched(env, "state", "import", "--state-path", target, backup)
    assert again.returncode == 1 and "--force" in again.stderr and "Traceback" not in again.stderr

    server = start_server(target)
    proxy = server.proxy(server.secret())
    served = proxy.task_list(kw(limit=False))
    assert served.keys() == listing.keys()
    for task_id, expected in listing.items():
        expected = {k: v for k, v in expected.items() if v is not None}  # None is not sent over XML-RPC
        assert served[task_id] == expected, task_id
    assert {r["name"]: r["num_total"] for r in proxy.resource_list()}.get("db") == 3
    assert server.stop() == 0


def test_import_is_refused_while_a_server_runs_on_the_directory(tmp_path, env, start_server):
    source = tmp_path / "source"
    build_state(source, tasks=5)
    backup = tmp_path / "backup.json"
    assert xrsched(env, "state", "export", "--state-path", source, backup).returncode == 0

    state = tmp_path / "live"
    server = start_server(state)
    proxy = server.proxy(server.secret())
    proxy.add_task(kw(task_id="mine", worker="w"))
    result = xrsched(env, "state", "import", "--state-path", state, backup, "--force")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "a server is running" in result.stderr and str(state) in result.stderr
    assert "Traceback" not in result.stderr
    assert set(proxy.task_list(kw(limit=False))) == {"mine"}, "the running server's state is untouched"
    assert server.stop() == 0
    check = xrsched(env, "state", "check", "--state-path", state)
    assert check.returncode == 0 and ": 1 tasks" in check.stdout, check.stdout + check.stderr
    # Once the server is gone the same import goes through.
    forced = xrsched(env, "state", "import", "--state-path", state, backup, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "imported 5 tasks" in forced.stdout


def test_check_and_export_read_a_version_1_file_without_migrating_it(tmp_path, env):
    """An older server may still run on the file while the new tools read it: they convert the
    old rows as they read them and leave the file at version 1."""
    from tests.store.test_migrations import rich_core, write_v1

    state = tmp_path / "old"
    state.mkdir()
    write_v1(state / STATE_FILE, rich_core())
    before = (state / STATE_FILE).read_bytes()
    check = xrsched(env, "state", "check", "--state-path", state)
    assert check.returncode == 0, check.stderr
    backup = tmp_path / "backup.json"
    exported = xrsched(env, "state", "export", "--state-path", state, backup)
    assert exported.returncode == 0, exported.stderr
    assert (state / STATE_FILE).read_bytes() == before
    with contextlib.closing(sqlite3.connect(state / STATE_FILE)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    target = tmp_path / "new"
    imported = xrsched(env, "state", "import", "--state-path", target, backup)
    assert imported.returncode == 0, imported.stderr
    again = xrsched(env, "state", "check", "--state-path", target)
    assert again.stdout.split(": ", 1)[1] == check.stdout.split(": ", 1)[1]


def test_export_next_to_a_running_server_holds_what_it_acknowledged(tmp_path, env, start_server):
    state = tmp_path / "live"
    server = start_server(state)
    proxy = server.proxy(server.secret())
    proxy.add_task(kw(task_id="first", worker="w"))
    backup = tmp_path / "backup.json"
    exported = xrsched(env, "state", "export", "--state-path", state, backup)
    assert exported.returncode == 0, exported.stderr
    assert set(json.loads(backup.read_text())["tasks"]) == {"first"}
    proxy.add_task(kw(task_id="second", worker="w"))  # the server still writes its file
    assert set(proxy.task_list(kw(limit=False))) == {"first", "second"}
    assert server.stop() == 0
    check = xrsched(env, "state", "check", "--state-path", state)
    assert check.returncode == 0 and ": 2 tasks" in check.stdout, check.stdout + check.stderr


# ------------------------------------------------------------------------------ history


def test_history_shows_pending_running_done_with_worker_and_host(tmp_path, env, start_server):
    state = tmp_path / "state"
    server = start_server(state)
    proxy = server.proxy(server.secret())
    proxy.add_task(kw(task_id="H1", worker="alice", family="Hist"))
    assert proxy.get_work(kw(worker="alice", host="build-7"))["task_id"] == "H1"
    proxy.add_task(kw(task_id="H1", worker="alice", status="DONE"))
    proxy.add_task(kw(task_id="H2", worker="bob"))

    def transitions(result: subprocess.CompletedProcess[str]) -> list[list[str]]:
        assert result.returncode == 0, result.stderr
        rows = [line.split() for line in result.stdout.splitlines()]
        return [row[2:] for row in rows]  # without the date and time

    expected = [
        ["(new)", "->", "PENDING", "alice"],  # registered before alice said which host it runs on
        ["PENDING", "->", "RUNNING", "alice", "on", "build-7"],
        ["RUNNING", "->", "DONE", "alice", "on", "build-7"],
    ]
    # While the server runs (a reader next to the writer, WAL) and after it stopped.
    assert transitions(xrsched(env, "history", "--state-path", state, "H1")) == expected
    assert server.stop() == 0
    stopped = xrsched(env, "history", "--state-path", state, "H1")
    assert transitions(stopped) == expected
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z ", stopped.stdout)

    pending = xrsched(env, "history", "--state-path", state, "H2")
    assert transitions(pending) == [["(new)", "->", "PENDING", "bob"]]  # registered, never run

    unknown = xrsched(env, "history", "--state-path", state, "nope")
    assert unknown.returncode == 1 and "no history for nope" in unknown.stderr


# ------------------------------------------------------------------------------ server start-up


def run_server_to_its_end(state: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``xrsched-server`` on ``state``, expected to stop by itself (a refused state file)."""
    return subprocess.run(
        [SERVER, "--port", "0", "--state-path", str(state)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_a_state_file_the_server_cannot_open_stops_start_up(tmp_path, env):
    state = tmp_path / "state"
    (state / STATE_FILE).mkdir(parents=True)  # what the server must open is a directory
    result = run_server_to_its_end(state, env)
    assert_refused(result, state / STATE_FILE)
    assert "listening" not in result.stdout


def test_the_server_refuses_a_corrupt_state_file(tmp_path, env):
    state = tmp_path / "state"
    state.mkdir()
    (state / STATE_FILE).write_bytes(os.urandom(16384))
    result = run_server_to_its_end(state, env)
    assert_refused(result, state / STATE_FILE, "xrsched state import")
    assert "listening" not in result.stdout


def test_the_server_refuses_a_file_whose_damage_only_the_structure_check_finds(tmp_path, env):
    """The records load while the check runs in the background; the server still stops before
    it listens."""
    from tests.store.test_background_check import damage_history, write_state

    state = tmp_path / "state"
    state.mkdir()
    write_state(state / STATE_FILE)
    damage_history(state / STATE_FILE)
    result = run_server_to_its_end(state, env)
    assert_refused(result, state / STATE_FILE, "malformed", "xrsched state import")
    assert "listening" not in result.stdout
