"""``xrsched-server --background`` on PostgreSQL: the daemon leads and writes.

The connection pool's threads, the committer's and the election's start only once the process
has detached (threads do not survive a fork): the pool's threads used to start before the fork,
so the daemon won the election and then waited for ever for a connection to load the state.
"""

from __future__ import annotations

import os
import signal
import subprocess

from tests.pg.cluster import free_port
from tests.pg.haservers import HaPair, HaServer
from tests.serverproc import SERVER
from tests.waiting import wait_for


def test_a_background_server_on_postgresql_leads_and_stores(pg_url, pg_cluster, tmp_path, dev_certs, env):
    group = HaPair(pg_url, tmp_path, dev_certs, env)
    port = free_port()
    pidfile = tmp_path / "run" / "xrsched.pid"
    started = subprocess.run(
        [SERVER, *group.args(1, port), "--background", "--pidfile", str(pidfile), "--logdir", str(tmp_path / "logs")],
        env=group.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    pid = int(wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), 10, "the pidfile"))
    server = HaServer(proc=None, lines=[], port=port, ca=dev_certs.ca_cert, secret=group.secret)  # type: ignore[arg-type]
    try:
        wait_for(lambda: server.role() == "leader", 20, "the daemon to lead")
        server.proxy().add_task({"task_id": "Kept", "worker": "w1", "__starstar": True})
        with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
            stored = conn.execute("SELECT id FROM xrsched_tasks").fetchall()
        assert stored == [("Kept",)]
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pidfile.exists(), 20, "the daemon to stop and remove its pidfile")
