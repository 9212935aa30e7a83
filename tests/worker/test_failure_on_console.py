"""A failed task's traceback is printed under its failure line (its own frames first), and
``xrsched task ID`` shows it again later with the task's status and history."""

from __future__ import annotations

import subprocess

from tests.worker.conftest import CONFIG, XRSCHED, free_port
from tests.worker.tasks import Boom


def _task(server, *args: str, token_id: str = "admin") -> subprocess.CompletedProcess[str]:
    env = server.worker_env(token_id)
    return subprocess.run([XRSCHED, "task", *args], capture_output=True, text=True, env=env, timeout=60)


def test_a_failure_prints_the_tasks_traceback_and_xrsched_task_shows_it_again(server, run_worker, tmp_path):
    # The suite's retry_delay (1 s) would turn the FAILED task PENDING again before a loaded
    # machine reads its status below: this test's scheduler waits 10 minutes before a retry.
    server.stop()
    server.config.write_text(CONFIG.replace("retry_delay = 1", "retry_delay = 600"))
    server.start()
    root = str(tmp_path / "fail")
    args = ["--module", "tests.worker.tasks", "Boom", "--root", root, "--log-level", "DEBUG"]
    worker = run_worker(args, server.worker_env("w1"))
    assert worker.wait(60) == 1, worker.text
    boom = Boom(root=root).task_id
    lines = worker.output
    failed = next(i for i, line in enumerate(lines) if f"ERROR xrsched.worker: failed {boom}: ValueError" in line)
    under = lines[failed + 1 : failed + 5]
    assert under[:2] == ["    Runtime error:", "    Traceback (most recent call last):"], worker.text
    assert "tests/worker/tasks.py" in under[2], worker.text  # the first frame is the task's
    assert "xrsched/worker" not in worker.text  # none of the child's own frames
    assert "    ValueError: boom: the disk is made of cheese" in lines
    assert sum("summary" in line for line in lines) == 1, worker.text  # once, even at DEBUG

    shown = _task(server, boom, token_id="w1")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout.splitlines()
    assert out[0] == f"{boom}  FAILED"
    assert "  family: Boom (module tests.worker.tasks)" in out
    assert "  last error:" in out and "    Traceback (most recent call last):" in out
    assert "    ValueError: boom: the disk is made of cheese" in out
    assert not any(line.startswith("  running on:") for line in out)  # it is not running
    history = [line.split()[2:5] for line in out[out.index("  history:") + 1 :]]
    assert history == [["(new)", "->", "PENDING"], ["PENDING", "->", "RUNNING"], ["RUNNING", "->", "FAILED"]]


def test_xrsched_task_exit_codes(server, tmp_path):
    missing = _task(server, "NoSuchTask_123")
    assert missing.returncode == 1
    assert missing.stderr == f"xrsched task: the scheduler at {server.url} has no task NoSuchTask_123\n"
    no_file = _task(server, "X", "--token-file", str(tmp_path / "nope"))
    assert no_file.returncode == 2
    assert no_file.stderr == f"xrsched task: token file {tmp_path / 'nope'}: No such file or directory\n"
    refused = _task(server, "X", "--token", "wrong")
    assert refused.returncode == 2 and "HTTP 401" in refused.stderr


def test_xrsched_task_gives_up_on_an_unreachable_scheduler_in_a_few_lines(server, tmp_path):
    env = server.worker_env("admin", url=f"https://localhost:{free_port()}/RPC2")
    result = subprocess.run([XRSCHED, "task", "X"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("scheduler unreachable: task_info failed"), lines
    assert lines[1].startswith("xrsched task: cannot ask the scheduler at https://localhost:")


def test_xrsched_task_asks_the_url_that_answers_among_several(server):
    dead = f"https://localhost:{free_port()}/RPC2"
    env = server.worker_env("admin", url=f"{dead},{server.url}")
    result = subprocess.run([XRSCHED, "task", "NoSuchTask_123"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert (
        lines[0] == f"scheduler {dead} failed (connection failed while connecting: [Errno 111] Connection "
        f"refused); moving to {server.url}"
    )
    assert lines[1:] == [f"xrsched task: the scheduler at {server.url} has no task NoSuchTask_123"]
