"""The server process's garbage-collector thresholds (``xrsched.server.collector``): what
``xrsched-server`` sets before it serves, and that a server run with them keeps no record it
has let go of (a few thousand tasks registered, run, removed: the live objects come back to
where they were)."""

from __future__ import annotations

import gc
import subprocess
import sys
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.waiting import wait_for
from xrsched.server.collector import YOUNG, tune_collector

ROUNDS = 2
TASKS = 1_000  # per round
CHUNK = 250  # calls per multicall


@pytest.fixture
def tuned() -> Iterator[None]:
    """This process's collector as ``xrsched-server`` sets it, restored afterwards."""
    saved = gc.get_threshold()
    tune_collector()
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def test_only_the_youngest_generation_waits_longer(tuned):
    assert gc.get_threshold()[0] == YOUNG > 700
    gc.set_threshold(700, 3, 4)
    tune_collector()
    assert gc.get_threshold() == (YOUNG, 3, 4)


def test_xrsched_server_tunes_the_collector_before_it_serves(tmp_path: Path):
    """The real command line, up to the moment it would serve (its ``run`` reports instead)."""
    probe = (
        "import gc, sys\n"
        "from xrsched.server.runtime import ServerRuntime\n"
        "ServerRuntime.run = lambda self, on_ready=None: print('threshold', *gc.get_threshold(), flush=True) or 0\n"
        "from xrsched.cli.server import main\n"
        "main(sys.argv[1:])\n"
    )
    args = ["--port", "0", "--state-path", str(tmp_path / "state"), "--log-level", "WARNING"]
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    young, _, _ = (int(v) for v in done.stdout.split("threshold", 1)[1].split())
    assert young == YOUNG


def live_objects() -> int:
    """Objects the collector tracks in this process after a full collection, frozen ones included."""
    gc.collect()
    return len(gc.get_objects()) + gc.get_freeze_count()


def multicall(proxy: xmlrpc.client.ServerProxy, method: str, calls: list[dict]) -> list:
    """``method`` once per keyword set, CHUNK calls per request."""
    results: list = []
    for start in range(0, len(calls), CHUNK):
        batch = xmlrpc.client.MultiCall(proxy)
        for kwargs in calls[start : start + CHUNK]:
            getattr(batch, method)({"__starstar": True, **kwargs})
        results.extend(batch())
    return results


def one_round(live_server, secret: str, tag: str) -> None:
    """A fan-in of TASKS tasks registered, run to DONE (one failing first), then let go of: the
    worker falls silent, is dropped, and the tasks nobody holds any more are removed."""
    proxy = live_server.proxy(secret)
    worker = f"w-{tag}"
    leaves = [f"{tag}-{i}" for i in range(TASKS - 1)]
    registered = [{"task_id": leaf, "worker": worker, "family": "Leaf", "params": {"i": leaf}} for leaf in leaves]
    registered.append({"task_id": f"{tag}-root", "worker": worker, "family": "Root", "deps": leaves})
    multicall(proxy, "add_task", registered)
    done: set[str] = set()
    failed_once = False
    while len(done) < TASKS:
        asked = multicall(proxy, "get_work", [{"worker": worker, "host": "h"}] * CHUNK)
        handed = [reply["task_id"] for reply in asked if reply.get("task_id")]
        assert handed, f"nothing to run after {len(done)} tasks"
        reports = [{"task_id": t, "worker": worker, "status": "DONE"} for t in handed]
        if not failed_once:  # one failure, forgiven: it is handed out again
            reports[0].update(status="FAILED", expl="Traceback: boom")
        multicall(proxy, "add_task", reports)
        done.update(report["task_id"] for report in reports if report["status"] == "DONE")
        if not failed_once:
            live_server.proxy(live_server.admin).forgive_failures({"__starstar": True, "task_id": handed[0]})
            failed_once = True
    # Removed tasks stay named by stale entries of the shared ready heap until someone asks it.
    service = live_server.runtime.service
    wait_for(lambda: not service.counts()["tasks"], 60, f"the tasks of round {tag} removed")
    proxy.get_work({"__starstar": True, "worker": f"assistant-{tag}", "assistant": True})
    wait_for(lambda: not service.counts()["workers"], 60, f"the workers of round {tag} dropped")
    proxy("close")()


def test_a_server_with_the_tuned_collector_keeps_nothing_it_let_go_of(live_server_factory, tuned):
    live_server = live_server_factory(scheduler={"remove_delay": 0.5, "worker_disconnect_delay": 3.0})
    secret = live_server.token("bench", "worker")
    one_round(live_server, secret, "warm")  # first-use caches, the connection's thread, the audit file
    before = live_objects()
    for n in range(ROUNDS):
        one_round(live_server, secret, f"r{n}")
    after = live_objects()
    # Each task kept would add at least its record: a leak of TASKS * ROUNDS could not hide here.
    assert after - before < TASKS // 4, (before, after)
