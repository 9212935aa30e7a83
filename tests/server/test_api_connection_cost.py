"""What a Luigi worker's ``/api/`` calls cost the server beyond the call itself: with ``requests``
Luigi keeps one TLS connection per process, so every answer must leave it open (one TLS
handshake for the whole run); and a call that changes nothing must not wait for the store
(only changes pay for a commit and its fsync)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import quote, urlencode

from tests.server.conftest import LiveServer

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class KeptAliveClient:
    """One HTTPS connection reused for every call, as ``requests.Session`` does for Luigi."""

    def __init__(self, live: LiveServer, token_id: str, secret: str) -> None:
        _, port = live.runtime.http.server_address
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=live.context(), timeout=10)
        self.auth = {"Authorization": live.basic(token_id, secret)}

    def call(self, method: str, args: dict, *, verb: str = "POST") -> object:
        data = json.dumps(args)
        if verb == "POST":
            body = urlencode({"data": data})
            self.conn.request("POST", f"/api/{method}", body=body, headers={**FORM, **self.auth})
        else:
            self.conn.request("GET", f"/api/{method}?data={quote(data)}", headers=self.auth)
        response = self.conn.getresponse()
        body_bytes = response.read()
        assert response.status == 200, body_bytes
        assert response.headers.get("Connection", "").lower() != "close", method
        assert not response.will_close, f"{method}: the server asked to close the connection"
        return json.loads(body_bytes)["response"]


def test_a_luigi_run_uses_one_connection_and_one_handshake(live_server):
    secret = live_server.token("bench", "worker")
    client = KeptAliveClient(live_server, "bench", secret)
    client.call("add_worker", {"worker": "w1", "info": {"host": "h"}})
    sock = client.conn.sock
    assert sock is not None
    for i in range(3):
        client.call("add_task", {"worker": "w1", "task_id": f"T_{i}", "family": "T", "status": "PENDING"})
    for _ in range(3):
        task_id = client.call("get_work", {"worker": "w1", "host": "h", "current_tasks": None})["task_id"]
        client.call("add_task", {"worker": "w1", "task_id": task_id, "status": "DONE"})
    client.call("ping", {"worker": "w1"})
    listed = client.call("task_list", {"status": "DONE", "upstream_status": ""}, verb="GET")
    assert sorted(listed) == ["T_0", "T_1", "T_2"]
    assert client.conn.sock is sock, "the connection was replaced: a new TLS handshake"
    client.conn.close()


def test_calls_that_change_nothing_do_not_wait_for_a_commit(live_server):
    secret = live_server.token("bench", "worker")
    client = KeptAliveClient(live_server, "bench", secret)
    client.call("add_worker", {"worker": "w1", "info": {"host": "h"}})
    client.call("add_task", {"worker": "w1", "task_id": "T_0", "family": "T", "status": "DONE"})
    committer = live_server.runtime.service.committer
    assert committer is not None, "the live server keeps durable state"
    before = committer.commits
    # A Luigi worker's reads and idle polls: a get_work with nothing to hand out, its pings,
    # and the scripts' read methods over GET.
    for _ in range(5):
        assert client.call("get_work", {"worker": "w1", "host": "h", "current_tasks": None})["task_id"] is None
        client.call("ping", {"worker": "w1"})
    client.call("task_list", {"status": "DONE", "upstream_status": ""}, verb="GET")
    client.call("worker_list", {}, verb="GET")
    client.call("dep_graph", {"task_id": "T_0"}, verb="GET")
    assert committer.commits == before, "a call that changed nothing waited for a commit"
    client.call("add_task", {"worker": "w1", "task_id": "T_1", "family": "T", "status": "PENDING"})
    assert committer.commits > before  # the check above can see a commit
    client.conn.close()
