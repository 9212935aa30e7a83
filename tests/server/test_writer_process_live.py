"""A real server whose SQLite writer process is killed (``kill -9``): the call whose change it
was writing gets a 503 that says so (no traceback), health reports the store as failing, and a
new writer writes everything kept; then calls are durable again."""

from __future__ import annotations

import http.client
import os
import signal
import time
import xmlrpc.client

from xrsched.store import SQLiteStore


def _post(live_server, body: bytes) -> tuple[int, bytes]:
    _, port = live_server.runtime.http.server_address
    conn = http.client.HTTPSConnection("localhost", port, context=live_server.context(), timeout=30)
    try:
        headers = {"Content-Type": "text/xml", "Authorization": f"Bearer {live_server.admin}"}
        conn.request("POST", "/RPC2", body, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _health(live_server) -> str:
    return live_server.proxy(live_server.admin).system.health()["status"]


def test_a_killed_writer_costs_one_503_then_everything_is_written(live_server):
    proxy = live_server.proxy(live_server.admin)
    proxy.add_task({"__starstar": True, "task_id": "before", "worker": "w"})
    store = live_server.runtime.store
    assert isinstance(store, SQLiteStore)
    killed = store.writer_pid
    assert killed is not None and killed != os.getpid()
    os.kill(killed, signal.SIGKILL)
    call = xmlrpc.client.dumps(({"__starstar": True, "task_id": "during", "worker": "w"},), "add_task").encode()
    status, body = _post(live_server, call)
    assert status == 503
    assert b"the writer process ended unexpectedly (killed by signal 9)" in body
    assert b"Traceback" not in body and b"File " not in body
    assert _health(live_server) != "ok"
    deadline = time.monotonic() + 15
    while _health(live_server) != "ok":  # the committer retries every second, with a new writer
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert store.writer_pid not in (None, killed)
    proxy.add_task({"__starstar": True, "task_id": "after", "worker": "w"})
    reader = SQLiteStore(store.path, read_only=True)
    try:
        assert {row[0] for row in reader.iter_tasks()} == {"before", "during", "after"}
    finally:
        reader.close()
