"""``xrsched run`` given several scheduler URLs (``XRSCHED_SCHEDULER_URL`` / ``--scheduler-url``
with commas): real ``xrsched-server`` and worker processes; dead URLs are closed ports."""

from __future__ import annotations

import collections
import os
import signal
import time

from tests.waiting import wait_for
from tests.worker.conftest import CONFIG, free_port
from tests.worker.tasks import runs


def _dead_url() -> str:
    return f"https://localhost:{free_port()}/RPC2"


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if " WARNING " in line]


def test_a_multi_process_run_works_for_the_second_url_when_the_first_is_dead(server, run_worker, tmp_path):
    root = str(tmp_path / "dag")
    args = ["--module", "tests.worker.tasks", "Node", "--root", root, "--i", "0", "--size", "60", "--workers", "3"]
    worker = run_worker(args, server.worker_env("w1", url=f"{_dead_url()},{server.url}"))
    assert worker.wait(120) == 0, worker.text
    counts = collections.Counter(task_id for task_id, _, _ in runs(tmp_path / "dag"))
    assert len(counts) == 60 and max(counts.values()) == 1
    moves = [line for line in _warnings(worker.text) if "moving to" in line]
    assert len(moves) == 1, worker.text  # one move, then it stayed
    assert len(_warnings(worker.text)) == 1, worker.text


def test_a_killed_scheduler_restarted_on_its_port_is_found_again_among_the_urls(server, run_worker, tmp_path):
    port = server.port
    root = str(tmp_path / "restart")
    args = ["--module", "tests.worker.tasks", "Wide", "--root", root, "--count", "3", "--length", "12",
            "--seconds", "0.15", "--workers", "3", "--scheduler-url", f"{server.url},{_dead_url()}"]  # fmt: skip
    worker = run_worker(args, server.worker_env("w1"))
    wait_for(lambda: len(runs(tmp_path / "restart")) >= 6, 60, "some tasks to finish")
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    time.sleep(1.5)  # the worker goes round both URLs meanwhile, within its patience
    # Restored workers get worker_disconnect_delay to call again. Under load this worker's first
    # call could come later than the fixture's 3 s, and a dropped worker loses its hold on its
    # pending tasks (as in Luigi) and exits 2 with them left pending: this test is about finding
    # the server again, so give it time. test_late_report.py drops a worker on purpose.
    patient = CONFIG.replace("worker_disconnect_delay = 3", "worker_disconnect_delay = 60")
    assert patient != CONFIG
    server.config.write_text(patient)
    server.start(port=port)
    assert worker.wait(120) == 0, worker.text
    counts = collections.Counter(task_id for task_id, _, _ in runs(tmp_path / "restart"))
    assert len(counts) == 36
    assert max(counts.values()) == 1
    assert "moving to" in worker.text
    print(worker.text)


def test_every_url_dead_exits_3_naming_each_url(server, run_worker, tmp_path):
    first, second = _dead_url(), _dead_url()
    args = ["--module", "tests.worker.tasks", "Sleeper", "--root", str(tmp_path / "r"), "--unreachable-timeout", "2"]
    started = time.monotonic()
    worker = run_worker(args, server.worker_env("w1", url=f"{first},{second}"))
    assert worker.wait(30) == 3, worker.text
    assert time.monotonic() - started < 2 + 4, worker.text
    assert f"cannot reach the scheduler at {first},{second} (gave up after 2s)" in worker.text
    assert f"{first}: connection failed" in worker.text and f"{second}: connection failed" in worker.text


def test_a_bad_url_among_several_is_a_usage_error(server, run_worker, tmp_path):
    args = ["--module", "tests.worker.tasks", "Sleeper", "--root", str(tmp_path / "r")]
    worker = run_worker(args, server.worker_env("w1", url=f"{server.url},sched.example:8082"))
    assert worker.wait(30) == 2, worker.text
    assert "scheduler_url must start with https://" in worker.text and "'sched.example:8082'" in worker.text
