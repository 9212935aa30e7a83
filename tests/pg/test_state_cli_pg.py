"""``xrsched state check|export|import`` and ``xrsched history`` with ``--store postgresql://``:
an SQLite state moves into PostgreSQL, and import refuses while a server leads the database."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_state_cli import xrsched
from tests.pg.cluster import PASSWORD
from tests.pg.haservers import HaPair
from tests.store.test_recovery import CONFIG, Clock, build_rich_state
from xrsched.core import Scheduler
from xrsched.service import SchedulerService
from xrsched.store import SQLiteStore


def sqlite_state(directory: Path) -> None:
    directory.mkdir()
    clock = Clock()
    service = SchedulerService(
        Scheduler(CONFIG, {"db": 2}), clock=clock, store=SQLiteStore(directory / "state.sqlite3")
    )
    build_rich_state(service, clock)
    service.close()


def test_an_sqlite_state_moves_into_postgresql_and_back_out(env, tmp_path, pg_url):
    env = {**env, "PGPASSWORD": PASSWORD}
    sqlite_state(tmp_path / "old")
    backup = tmp_path / "backup.json"
    assert xrsched(env, "state", "export", "--state-path", tmp_path / "old", backup).returncode == 0

    imported = xrsched(env, "state", "import", "--store", pg_url, backup)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == f"imported 5 tasks and 2 workers into {pg_url}"
    again = xrsched(env, "state", "import", "--store", pg_url, backup)
    assert again.returncode == 1 and "--force" in again.stderr

    checked = xrsched(env, "state", "check", "--store", pg_url)
    assert checked.returncode == 0 and checked.stdout.strip() == f"OK {pg_url}: 5 tasks, 2 workers"
    out = tmp_path / "from-pg.json"
    assert xrsched(env, "state", "export", "--store", pg_url, out).returncode == 0
    assert json.loads(out.read_text())["tasks"] == json.loads(backup.read_text())["tasks"]
    shown = xrsched({**env, "XRSCHED_STORE": pg_url}, "history", "C")  # the variable works too
    assert shown.returncode == 1 and "no history for C" in shown.stderr  # history is not exported


def test_import_is_refused_while_a_server_leads(env, tmp_path, pg_url, dev_certs):
    env = {**env, "PGPASSWORD": PASSWORD}
    sqlite_state(tmp_path / "old")
    backup = tmp_path / "backup.json"
    xrsched(env, "state", "export", "--state-path", tmp_path / "old", backup)
    pair = HaPair(pg_url, tmp_path, dev_certs, env)
    try:
        pair.start()
        pair.wait_leader()
        refused = xrsched(env, "state", "import", "--store", pg_url, "--force", backup)
        assert refused.returncode == 1 and "stop every server before importing" in refused.stderr
    finally:
        pair.close()
    assert xrsched(env, "state", "import", "--store", pg_url, "--force", backup).returncode == 0


def test_a_bad_store_url_is_exit_2(env):
    result = xrsched(env, "state", "check", "--store", "postgresql://u:secret@127.0.0.1:1/db")
    assert result.returncode == 2 and "must not contain a password" in result.stderr and "secret" not in result.stderr
