"""When the scheduler goes away, cannot be verified or refuses the worker: ``xrsched run`` says
why in a few lines and exits with the status README's table gives (3 lost, 2 refused)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from tests.waiting import wait_for
from tests.worker.conftest import XRSCHED, free_port, mint
from tests.worker.tasks import runs
from xrsched.client import AuthenticationFailed, Forbidden


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if " WARNING " in line]


def _kill(server) -> None:
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)


def test_a_scheduler_lost_after_the_work_ran_still_exits_3_within_the_timeout(server, run_worker, tmp_path):
    root = tmp_path / "short"
    args = ["--module", "tests.worker.tasks", "Sleeper", "--root", str(root), "--seconds", "1.5",
            "--unreachable-timeout", "4"]  # fmt: skip
    worker = run_worker(args, server.worker_env("w1"))
    wait_for(lambda: runs(root, "start"), 30, "the task to start")
    _kill(server)
    killed = time.monotonic()
    assert worker.wait(30) == 3, worker.text  # its DONE never reached the scheduler
    assert time.monotonic() - killed < 4 + 3, worker.text
    assert len(runs(root)) == 1  # the task did run to its end
    assert "gave up on the unreachable scheduler" in worker.text
    assert len(_warnings(worker.text)) <= 2, worker.text


def test_a_scheduler_lost_during_a_long_task_is_given_up_within_the_timeout(server, run_worker, tmp_path):
    root = tmp_path / "long"
    args = ["--module", "tests.worker.tasks", "Sleeper", "--root", str(root), "--seconds", "60",
            "--unreachable-timeout", "3", "--ping-interval", "0.5"]  # fmt: skip
    worker = run_worker(args, server.worker_env("w1"))
    wait_for(lambda: runs(root, "start"), 30, "the task to start")
    _kill(server)
    killed = time.monotonic()
    assert worker.wait(30) == 3, worker.text
    assert time.monotonic() - killed < 3 + 3, worker.text
    assert "giving up (killing 1 running task(s))" in worker.text
    assert len(_warnings(worker.text)) <= 2, worker.text
    assert runs(root) == []  # killed, not finished


def test_a_scheduler_unreachable_at_start_exits_3_within_the_timeout(server, run_worker, tmp_path):
    url = f"https://localhost:{free_port()}/RPC2"  # nothing listens there
    args = ["--module", "tests.worker.tasks", "Sleeper", "--root", str(tmp_path / "r"), "--unreachable-timeout", "2"]
    started = time.monotonic()
    worker = run_worker(args, server.worker_env("w1", url=url))
    assert worker.wait(30) == 3, worker.text
    assert time.monotonic() - started < 2 + 4, worker.text
    assert f"cannot reach the scheduler at {url} (gave up after 2s)" in worker.text
    assert len(_warnings(worker.text)) == 1, worker.text  # the first failure; no line per retry


def test_at_start_the_worker_waits_the_whole_timeout_even_when_its_client_retries_less(server, run_worker, tmp_path):
    url = f"https://localhost:{free_port()}/RPC2"
    args = ["--module", "tests.worker.tasks", "Sleeper", "--root", str(tmp_path / "r"), "--unreachable-timeout", "3",
            "--rpc-retries", "1"]  # fmt: skip
    started = time.monotonic()
    worker = run_worker(args, server.worker_env("w1", url=url))
    assert worker.wait(30) == 3, worker.text
    assert 3 <= time.monotonic() - started < 3 + 4, worker.text
    assert len(_warnings(worker.text)) == 1, worker.text


def test_a_viewer_token_is_refused_with_the_real_cause(server, run_worker, tmp_path):
    server.secrets["v1"] = mint(server.state / "tokens.toml", "v1", "viewer", server.env)
    server.proc.send_signal(signal.SIGHUP)

    def viewer_can_read() -> bool:
        with server.client("v1") as viewer:
            try:
                viewer.task_list()
            except AuthenticationFailed:  # not loaded yet
                return False
            try:
                viewer.add_worker(worker="probe")
            except Forbidden:
                return True
        return False

    wait_for(viewer_can_read, 20, "the server to load the viewer token", interval=0.2)
    args = ["--module", "tests.worker.tasks", "NeedsBoom", "--root", str(tmp_path / "v")]
    worker = run_worker(args, server.worker_env("v1"))
    assert worker.wait(60) == 2, worker.text
    assert "refused the work: [403]" in worker.text and "worker" in worker.text
    assert "registered" not in worker.text
    assert "could not be scheduled" not in worker.text


def test_an_unverifiable_certificate_hints_at_the_ca_option(server, run_worker, tmp_path):
    env = server.worker_env("w1")
    del env["XRSCHED_CA"]  # the system store does not know the test server's own CA
    worker = run_worker(["--module", "tests.worker.tasks", "Sleeper", "--root", str(tmp_path / "t")], env)
    assert worker.wait(60) == 2, worker.text
    assert "cannot verify the scheduler" in worker.text
    assert "(use --ca FILE or XRSCHED_CA)" in worker.text


def test_a_silent_scheduler_address_is_given_up_within_the_timeout(server, run_worker, tmp_path):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"https://localhost:{silent.getsockname()[1]}/RPC2"
        args = ["--module", "tests.worker.tasks", "Sleeper", "--root", str(tmp_path / "r")]
        args += ["--unreachable-timeout", "2"]
        started = time.monotonic()
        worker = run_worker(args, server.worker_env("w1", url=url))
        assert worker.wait(30) == 3, worker.text
    assert time.monotonic() - started < 2 + 4, worker.text  # not the 10 s of one connect attempt
    assert "cannot reach the scheduler" in worker.text and "timed out" in worker.text


def test_a_token_revoked_mid_run_ends_the_run_instead_of_retrying_forever(server, run_worker, tmp_path):
    root = tmp_path / "revoked"
    args = ["--module", "tests.worker.tasks", "Sleeper", "--root", str(root), "--seconds", "3"]
    args += ["--ping-interval", "0.1"]
    worker = run_worker(args, server.worker_env("w1"))
    wait_for(lambda: runs(root, "start"), 30, "the task to start")
    revoke = [XRSCHED, "token", "revoke", "w1", "--tokens", str(server.state / "tokens.toml")]
    subprocess.run(revoke, env=server.env, check=True, capture_output=True, timeout=30)
    server.proc.send_signal(signal.SIGHUP)
    assert worker.wait(30) == 3, worker.text  # its DONE report was refused: the scheduler does not know
    assert "the scheduler refuses this worker's requests: HTTP 401" in worker.text
    assert sum("ping failed" in line for line in worker.output) == 1, worker.text  # not one per ping
