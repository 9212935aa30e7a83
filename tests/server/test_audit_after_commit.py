"""A request whose commit fails: its calls were audited ``ok`` as they ended (the records are
written before the wait, so a dying process loses none); each call whose change the failed
commit carried then gets a 503 record with ``"commit": "failed"``, the multicall around them
too, under the same request id. The store failure is real: SQLite's ``max_page_count`` holds
the database at its size, so the commit fails with "database or disk is full"."""

from __future__ import annotations

import json
import xmlrpc.client
from pathlib import Path

import pytest

from xrsched.audit import AuditLog
from xrsched.auth import Role, TokenStore, add_token
from xrsched.rpc.app import RequestInfo
from xrsched.server.app import SchedulerApp
from xrsched.service import SchedulerService
from xrsched.store.sqlite import SQLiteStore

BIG = "x" * 4000  # a task this size needs pages of its own


@pytest.fixture
def app(tmp_path: Path):
    tokens = tmp_path / "tokens.toml"
    secret = add_token(tokens, "ops", Role.OPERATOR)
    store = SQLiteStore(tmp_path / "state.sqlite3")
    service = SchedulerService(store=store)
    app = SchedulerApp(service, tokens=TokenStore.load(tokens), audit=AuditLog(tmp_path / "audit.log"))
    identity = app.authenticate({"Authorization": f"Bearer {secret}"}, None, peer=("127.0.0.1", 1))
    assert identity is not None
    yield app, store, identity
    store.db.execute("PRAGMA max_page_count = 1073741823")
    service.close()


def _request(identity, request_id: str) -> RequestInfo:
    return RequestInfo(peer=("127.0.0.1", 1), method="POST", path="/RPC2", request_id=request_id, identity=identity)


def _add(task_id: str) -> dict:
    return {"methodName": "add_task", "params": [{"__starstar": True, "task_id": task_id, "worker": "w",
                                                  "params": {"blob": BIG}}]}  # fmt: skip


def _fill_the_disk(store: SQLiteStore) -> None:
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def _records(tmp_path: Path, request_id: str) -> list[tuple]:
    lines = (tmp_path / "audit.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return [(r["method"], r["outcome"], r.get("commit")) for r in records if r["request_id"] == request_id]


def test_a_multicall_whose_commit_fails_says_so_for_each_entry_that_changed_state(app, tmp_path):
    app, store, identity = app
    _fill_the_disk(store)
    calls = [_add("A"), {"methodName": "task_list", "params": ["PENDING", ""]}, _add("B"),
             {"methodName": "add_task", "params": [{"__starstar": True, "task_id": "", "worker": "w"}]}]  # fmt: skip
    body = xmlrpc.client.dumps((calls,), "system.multicall").encode()
    result = app.handle_rpc(body, _request(identity, "r-full"))
    assert result.status == 503 and "database or disk is full" in result.message
    assert _records(tmp_path, "r-full") == [
        ("add_task", "ok", None),  # written as the entry ended, before the commit
        ("task_list", "ok", None),  # changed nothing: nothing more to say
        ("add_task", "ok", None),
        ("add_task", 400, None),
        ("system.multicall", "ok", None),
        ("add_task", 503, "failed"),  # the commit failed: A's registration was not stored...
        ("add_task", 503, "failed"),  # ...nor B's
        ("system.multicall", 503, "failed"),
    ]


def test_a_single_call_whose_commit_fails_gets_its_503_record(app, tmp_path):
    app, store, identity = app
    _fill_the_disk(store)
    body = xmlrpc.client.dumps(({"__starstar": True, "task_id": "C", "worker": "w", "params": {"blob": BIG}},),
                               "add_task").encode()  # fmt: skip
    assert app.handle_rpc(body, _request(identity, "r-one")).status == 503
    assert _records(tmp_path, "r-one") == [("add_task", "ok", None), ("add_task", 503, "failed")]


def test_a_commit_that_succeeds_adds_no_record(app, tmp_path):
    app, _, identity = app
    body = xmlrpc.client.dumps(([_add("D"), _add("E")],), "system.multicall").encode()
    result = app.handle_rpc(body, _request(identity, "r-ok"))
    assert result.status == 200
    assert _records(tmp_path, "r-ok") == [("add_task", "ok", None)] * 2 + [("system.multicall", "ok", None)]
