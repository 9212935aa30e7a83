"""The operator commands against a live server over TLS: ``xrsched tasks``, ``task``, ``task
re-enable|forgive|mark-done``, ``workers``, ``worker drain|processes``, ``pause|unpause|paused``.

Most run in process through click's runner (the server and the client are the real ones);
a few run as real ``xrsched`` subprocesses. Exit statuses: 0 done, 1 refused or no such
task/worker, 2 could not ask.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from xrsched.cli.main import main

XRSCHED = str(Path(sys.executable).parent / "xrsched")
KW = {"__starstar": True}


def cli(live, *args: str, secret: str | None = None):
    """``xrsched ARGS`` in process, with the server's URL, CA and a token in the environment."""
    env = {
        "XRSCHED_SCHEDULER_URL": live.url,
        "XRSCHED_CA": str(live.ca),
        "XRSCHED_TOKEN": secret or live.admin,
        "XRSCHED_TOKEN_FILE": None,
    }
    return CliRunner().invoke(main, list(args), env=env, terminal_width=200)


def run(live, env, *args: str, secret: str | None = None, url: str | None = None) -> subprocess.CompletedProcess:
    """``xrsched ARGS`` as a subprocess."""
    environment = {
        **env,
        "XRSCHED_SCHEDULER_URL": url or live.url,
        "XRSCHED_CA": str(live.ca),
        "XRSCHED_TOKEN": secret or live.admin,
    }
    return subprocess.run([XRSCHED, *args], capture_output=True, text=True, env=environment, timeout=90)


def pipeline(live) -> None:
    """Load_1 needs Extract_1 (FAILED with a traceback); Report_1 is PENDING; w1 runs nothing."""
    admin = live.proxy(live.admin)
    admin.add_worker("w1", {"host": "box1", "workers": 2})
    admin.add_task({**KW, "worker": "w1", "task_id": "Load_1", "family": "Load", "params": {"day": "Mon"},
                    "deps": ["Extract_1"]})  # fmt: skip
    admin.add_task({**KW, "worker": "w1", "task_id": "Extract_1", "family": "Extract", "params": {"day": "Mon"}})
    assert admin.get_work({**KW, "worker": "w1", "host": "box1"})["task_id"] == "Extract_1"
    admin.add_task({**KW, "worker": "w1", "task_id": "Extract_1", "status": "FAILED",
                    "expl": "Traceback (most recent call last):\nValueError: bad row"})  # fmt: skip
    admin.add_task({**KW, "worker": "w1", "task_id": "Report_1", "family": "Report", "params": {"day": "Tue"}})


# --------------------------------------------------------------------------- tasks


def test_tasks_prints_a_table_with_its_footer(live_server, env):
    pipeline(live_server)
    result = run(live_server, env, "tasks")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TASK", "ID", "STATUS", "FAMILY", "WORKER", "LAST", "UPDATED"]
    assert [line.split()[0] for line in lines[1:4]] == ["Report_1", "Extract_1", "Load_1"]  # newest first
    assert lines[2].split()[1:3] == ["FAILED", "Extract"]
    assert lines[-1] == "showing 1-3 of 3"
    page = run(live_server, env, "tasks", "--limit", "1", "--offset", "1")
    assert page.stdout.splitlines()[1].startswith("Extract_1") and page.stdout.splitlines()[-1] == "showing 2-2 of 3"


def test_tasks_filters_and_json(live_server):
    pipeline(live_server)
    failed = cli(live_server, "tasks", "--status", "failed")
    assert failed.exit_code == 0, failed.output
    assert [line.split()[0] for line in failed.output.splitlines()[1:-1]] == ["Extract_1"]
    mon = cli(live_server, "tasks", "--search", "MON", "--family", "Load", "--json")
    page = json.loads(mon.output)
    assert (
        page["total"] == 1 and page["tasks"][0]["task_id"] == "Load_1" and page["tasks"][0]["params"] == {"day": "Mon"}
    )
    none = cli(live_server, "tasks", "--family", "Nothing")
    assert none.exit_code == 0 and none.output == "no tasks match\n"
    past = cli(live_server, "tasks", "--offset", "3")
    assert past.exit_code == 0 and past.output == "showing none of 3 (offset 3)\n"
    too_many = cli(live_server, "tasks", "--limit", "501")
    assert too_many.exit_code == 2 and "501 is not in the range 0<=x<=500" in too_many.output


# ---------------------------------------------------------------------------- task


def test_task_shows_details_then_history(live_server):
    pipeline(live_server)
    result = cli(live_server, "task", "Extract_1")
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert out[0] == "Extract_1  FAILED"
    assert "  parameters: day=Mon" in out and "  workers: w1" in out
    assert "  needed by (1):" in out and "    Load_1" in out
    assert out[out.index("  last error:") + 2] == "    ValueError: bad row"
    assert any(line.startswith("  retried after: ") for line in out)
    history = [line.split()[2:5] for line in out[out.index("  history:") + 1 :]]
    assert history == [["UNKNOWN", "->", "PENDING"], ["PENDING", "->", "RUNNING"], ["RUNNING", "->", "FAILED"]]
    load = cli(live_server, "task", "show", "Load_1", "--json")
    info = json.loads(load.output)
    assert info["deps"] == ["Extract_1"] and info["status"] == "PENDING" and info["history"]


def test_task_options_may_come_before_the_id(live_server):
    pipeline(live_server)
    result = cli(live_server, "task", "--json", "Report_1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["family"] == "Report"


def test_task_unknown_is_status_1(live_server):
    for args in (["task", "Nope"], ["task", "forgive", "Nope"], ["task", "mark-done", "Nope"]):
        result = cli(live_server, *args)
        assert result.exit_code == 1, args
        assert result.output == f"xrsched {' '.join(args[:-1])}: the scheduler at {live_server.url} has no task Nope\n"


def test_operator_forgives_and_marks_done(live_server):
    pipeline(live_server)
    operator = live_server.token("ops", "operator")
    forgiven = cli(live_server, "task", "forgive", "Extract_1", secret=operator)
    assert (forgiven.exit_code, forgiven.output) == (0, "Extract_1: FAILED -> PENDING\n")
    again = cli(live_server, "task", "forgive", "Extract_1", secret=operator)
    assert again.exit_code == 1
    assert again.output == "xrsched task forgive: Extract_1 (PENDING) is not FAILED: nothing to forgive\n"
    pending = cli(live_server, "task", "mark-done", "Extract_1", secret=operator)
    assert pending.exit_code == 1 and "is not RUNNING, FAILED or DISABLED" in pending.output
    admin = live_server.proxy(live_server.admin)
    assert admin.get_work({**KW, "worker": "w1", "host": "box1"})["task_id"] == "Extract_1"
    done = cli(live_server, "task", "mark-done", "Extract_1", secret=operator)
    assert (done.exit_code, done.output) == (0, "Extract_1: RUNNING -> DONE\n")
    assert admin.task_info("Extract_1")["status"] == "DONE"


def test_operator_re_enables_a_task_the_scheduler_disabled(live_server_factory):
    live = live_server_factory(scheduler={"retry_count": 1})
    pipeline(live)
    assert live.proxy(live.admin).task_info("Extract_1")["status"] == "DISABLED"
    operator = live.token("ops", "operator")
    result = cli(live, "task", "re-enable", "Extract_1", secret=operator)
    assert (result.exit_code, result.output) == (0, "Extract_1: DISABLED -> FAILED\n")
    again = cli(live, "task", "re-enable", "Extract_1", secret=operator)
    assert again.exit_code == 1 and "was not disabled by the scheduler" in again.output


def test_a_viewer_cannot_mark_done(live_server, env):
    pipeline(live_server)
    viewer = live_server.token("look", "viewer")
    result = run(live_server, env, "task", "mark-done", "Extract_1", secret=viewer)
    assert result.returncode == 1
    assert result.stderr == (
        "xrsched task mark-done: refused by the scheduler: mark_as_done: needs the operator role; "
        "this token has viewer\n"
    )
    assert live_server.proxy(live_server.admin).task_info("Extract_1")["status"] == "FAILED"
    # What a viewer may do, it does.
    shown = run(live_server, env, "task", "Extract_1", secret=viewer)
    assert shown.returncode == 0 and shown.stdout.startswith("Extract_1  FAILED\n")


# ------------------------------------------------------------------------- workers


def test_workers_lists_running_tasks_and_processes(live_server):
    pipeline(live_server)
    admin = live_server.proxy(live_server.admin)
    assert admin.get_work({**KW, "worker": "w1", "host": "box1"})["task_id"] == "Report_1"
    result = cli(live_server, "workers")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["WORKER", "STATE", "PROCESSES", "HOST", "LAST", "SEEN", "RUNNING", "TASKS"]
    cells = lines[1].split()
    assert cells[:4] == ["w1", "active", "2", "box1"] and cells[-2:] == ["1", "Report_1"]
    listed = json.loads(cli(live_server, "workers", "--json").output)
    assert listed[0]["name"] == "w1" and list(listed[0]["running"]) == ["Report_1"]


def test_worker_processes_and_drain(live_server):
    pipeline(live_server)
    operator = live_server.token("ops", "operator")
    asked = cli(live_server, "worker", "processes", "w1", "3", secret=operator)
    assert (asked.exit_code, asked.output) == (0, "worker w1 asked to run 3 processes (it hears at its next ping)\n")
    admin = live_server.proxy(live_server.admin)
    assert {"name": "set_worker_processes", "kwargs": {"n": 3}} in admin.ping("w1")["rpc_messages"]
    drained = cli(live_server, "worker", "drain", "w1", secret=operator)
    assert drained.exit_code == 0 and drained.output.startswith("worker w1 drained")
    assert admin.worker_list()[0]["state"] == "disabled"
    ghost = cli(live_server, "worker", "drain", "w-ghost", secret=operator)
    assert ghost.exit_code == 0
    assert ghost.output.endswith("(not connected now: it gets no work if it connects)\n")
    unknown = cli(live_server, "worker", "processes", "w-nope", "2", secret=operator)
    assert unknown.exit_code == 1
    assert unknown.output == f"xrsched worker processes: the scheduler at {live_server.url} has no worker w-nope\n"
    viewer = live_server.token("look", "viewer")
    refused = cli(live_server, "worker", "drain", "w1", secret=viewer)
    assert refused.exit_code == 1 and "disable_worker: needs the operator role" in refused.output


# --------------------------------------------------------------------------- pause


def test_pause_unpause_and_paused(live_server, env):
    operator = live_server.token("ops", "operator")
    paused = run(live_server, env, "pause", secret=operator)
    assert paused.returncode == 0 and paused.stdout.startswith("paused:")
    assert cli(live_server, "paused").output == "paused\n"
    unpaused = cli(live_server, "unpause", secret=operator)
    assert (unpaused.exit_code, unpaused.output) == (0, "unpaused: work is handed out again\n")
    assert cli(live_server, "paused").output == "not paused\n"
    viewer = live_server.token("look", "viewer")
    refused = cli(live_server, "pause", secret=viewer)
    assert refused.exit_code == 1 and "pause: needs the operator role; this token has viewer" in refused.output


def test_pause_on_a_scheduler_that_does_not_allow_it(live_server_factory):
    live = live_server_factory(scheduler={"pause_enabled": False})
    result = cli(live, "pause")
    assert result.exit_code == 1
    assert (
        result.output == f"xrsched pause: the scheduler at {live.url} does not allow pausing (pause_enabled = false)\n"
    )


# -------------------------------------------------------------- could not ask (2)


def test_a_wrong_token_is_status_2(live_server):
    for args in (["tasks"], ["workers"], ["task", "X"], ["paused"]):
        result = cli(live_server, *args, secret="wrong")
        assert result.exit_code == 2, args
        assert "cannot ask the scheduler" in result.output and "HTTP 401" in result.output


@pytest.mark.parametrize("command", ["tasks", "worker drain w1"])
def test_an_unreachable_scheduler_is_status_2(live_server, env, command):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run(live_server, env, *command.split(), url=f"https://localhost:{port}/RPC2")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(f"xrsched {command.rsplit(' w1', 1)[0]}: cannot ask the scheduler")
