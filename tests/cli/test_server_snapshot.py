"""The real server writes a snapshot of its tasks when it stops cleanly, notes the tasks it
writes after that, and starts from the snapshot with those tasks' rows on top, after a crash too."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.cli.test_state_cli import STATE_FILE, build_state, kw, start_server  # noqa: F401 (a fixture)
from tests.waiting import wait_for


def stored_snapshot(state: Path) -> dict[str, Any] | None:
    db = sqlite3.connect(f"{(state / STATE_FILE).resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM meta WHERE key='snapshot'").fetchone()
    finally:
        db.close()
    return json.loads(row[0]) if row else None


def changed_since(state: Path) -> set[str]:
    db = sqlite3.connect(f"{(state / STATE_FILE).resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT id FROM snapshot_changes")}
    finally:
        db.close()


def served(server: Any, secret: str) -> dict[str, Any]:
    return server.proxy(secret).task_list(kw(limit=False))


def test_a_server_stops_with_a_snapshot_and_starts_from_it(tmp_path, env, start_server):  # noqa: F811
    state = tmp_path / "state"
    build_state(state, tasks=25)
    first = start_server(state)
    secret = first.secret()  # printed when the tokens file is made, at the first start
    listing = served(first, secret)
    assert stored_snapshot(state) is None
    assert first.stop() == 0
    info = stored_snapshot(state)
    assert info is not None and info["bytes"] > 0

    second = start_server(state)
    assert any(
        "recovered 25 tasks and 2 workers" in line and "(from its snapshot; 1 DONE tasks built on first use)" in line
        for line in second.lines
    ), second.lines
    assert not any("from its snapshot" in line for line in first.lines)
    assert not any("cannot be used" in line for line in second.lines), second.lines
    # The maintenance thread builds it (a slice per hold of the lock), once the server listens.
    note = "built the 1 DONE tasks restored cold"
    built = wait_for(lambda: [i for i, line in enumerate(second.lines) if note in line], 30, "the cold task built")
    listening = next(i for i, line in enumerate(second.lines) if "listening on" in line)
    assert listening < built[0], second.lines
    assert served(second, secret) == listing
    proxy = second.proxy(secret)
    assert proxy.task_list(kw(status="DONE")).keys() == {"T0"}
    assert stored_snapshot(state) == info  # reading changes nothing
    proxy.add_task(kw(task_id="T0", worker="w1", status="FAILED", expl="again"))
    assert changed_since(state) == {"T0"}  # noted with the change, before the reply
    listing = served(second, secret)
    second.proc.kill()  # no clean stop: no new snapshot
    second.proc.wait(10)

    third = start_server(state)
    # T0, the one DONE task, changed since the snapshot: it comes from its row, built.
    assert any("(from its snapshot; 0 DONE tasks built on first use)" in line for line in third.lines), third.lines
    assert served(third, secret) == listing
    assert served(third, secret)["T0"]["status"] == "FAILED"
    assert third.stop() == 0
    assert changed_since(state) == set() and stored_snapshot(state) != info
