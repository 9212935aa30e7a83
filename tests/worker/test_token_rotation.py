"""A running ``xrsched run`` picks up a rotated secret from its --token-file, no restart."""

from __future__ import annotations

import json
import subprocess
import time

from tests.waiting import wait_for
from tests.worker.conftest import XRSCHED
from xrsched.audit_read import iso_ts
from xrsched.client import AuthenticationFailed, RemoteScheduler


def rotate(server, token_id: str, grace: str) -> str:
    result = subprocess.run(
        [XRSCHED, "token", "rotate", token_id, "--grace", grace, "--tokens", str(server.state / "tokens.toml")],
        capture_output=True, text=True, env=server.env, timeout=30, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def refused(server, secret: str) -> bool:
    client = RemoteScheduler(server.url, secret, ca=server.cert, environ={}, retries=0)
    try:
        client.count_pending("w-probe")
    except AuthenticationFailed:
        return True
    finally:
        client.close()
    return False


def test_a_worker_mid_run_follows_its_token_file_before_the_old_secret_stops(server, run_worker, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(server.secrets["w1"] + "\n")
    token_file.chmod(0o600)
    root = tmp_path / "out"
    env = server.worker_env("w1")
    del env["XRSCHED_TOKEN"]
    args = ["--module", "tests.worker.tasks", "Sleeper", "--seconds", "60", "--root", str(root)]
    worker = run_worker([*args, "--token-file", str(token_file)], env)
    wait_for(lambda: (root / "runs.log").exists(), 60, "the task to start")

    rotated_at = iso_ts(time.time() - 0.001)
    new = rotate(server, "w1", "3s")  # a short grace: the file is replaced well within it
    assert new and new != server.secrets["w1"]
    replaced = tmp_path / "token.new"
    replaced.write_text(new + "\n")
    replaced.chmod(0o600)
    replaced.rename(token_file)  # as a deployment tool replaces it: atomically
    wait_for(lambda: refused(server, server.secrets["w1"]), 20, "the server to refuse the old secret")
    (root / "release").touch()

    # Whether its next call found the new file by its once-a-second look or after a 401, the
    # worker finishes as if nothing happened (without the re-read it would exit 3: refused).
    assert worker.wait(60) == 0, worker.text
    audit = [json.loads(line) for line in (server.state / "audit.log").read_text().splitlines()]
    mine = [r for r in audit if r.get("identity") == "token:w1"]
    assert [r["method"] for r in mine if r["outcome"] == "ok" and r["ts"] > rotated_at][-1:]
    assert "rotation" not in mine[-1]  # its last calls used the new secret
