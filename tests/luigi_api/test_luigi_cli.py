"""``luigi --module ... --scheduler-url https://ID:SECRET@host:port/``: unmodified Luigi workers
use xrsched as their central scheduler over TLS with a token."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tests.luigi_api.conftest import LUIGI_TIMEOUT, XrschedProcess, make_project

TASKS = 50
SUCCESS = "This progress looks :) because there were no failed tasks or missing dependencies"


def _assert_each_ran_once(runs: list[str]) -> None:
    counts = Counter(runs)
    assert len(counts) == TASKS, f"{len(counts)} distinct tasks ran"
    assert [task for task, n in counts.items() if n > 1] == []


def test_a_50_task_pipeline_runs_each_task_once(xrsched_server: XrschedProcess, tmp_path: Path):
    project = make_project(tmp_path / "p", xrsched_server)
    assert project.luigi_has_requests()
    url = xrsched_server.url("luigi", xrsched_server.token("luigi"))

    run = project.run(url)

    assert run.returncode == 0, run.output[-4000:]
    assert SUCCESS in run.output, run.output[-4000:]
    assert f"{TASKS} ran successfully" in run.output
    _assert_each_ran_once(project.runs())
    print(f"50 tasks, 4 Luigi worker processes, over TLS with a token: {run.seconds:.1f}s")


def test_two_commands_at_once_never_run_a_task_twice(xrsched_server: XrschedProcess, tmp_path: Path):
    # keep_alive: each command stays until the whole graph is done, so both really compete for tasks.
    project = make_project(tmp_path / "p", xrsched_server, keep_alive=True)
    project.env["PIPELINE_TASK_SECONDS"] = "0.1"
    url = xrsched_server.url("luigi", xrsched_server.token("luigi"))

    first, second = project.start(url), project.start(url)
    outputs = [proc.communicate(timeout=LUIGI_TIMEOUT)[0] for proc in (first, second)]

    assert [first.returncode, second.returncode] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    _assert_each_ran_once(project.runs())
    summaries = [output[output.find("===== Luigi Execution Summary") :] for output in outputs]
    # Luigi's summary for tasks the other command ran: ":|", "not granted run permission"; never a failure.
    assert not any(":(" in s or " failed:" in s for s in summaries), summaries
    ran = sum(int(re.search(r"\* (\d+) ran successfully", s).group(1)) for s in summaries if "ran successfully" in s)
    assert ran == TASKS, summaries


def test_luigi_without_requests_uses_urllib_and_works(xrsched_server: XrschedProcess, tmp_path: Path):
    project = make_project(tmp_path / "p", xrsched_server, urllib=True)
    assert not project.luigi_has_requests()
    url = xrsched_server.url("luigi", xrsched_server.token("luigi"))

    run = project.run(url)

    assert run.returncode == 0, run.output[-4000:]
    assert SUCCESS in run.output, run.output[-4000:]
    _assert_each_ran_once(project.runs())


def test_a_wrong_token_fails_fast_with_the_401_in_luigis_log(xrsched_server: XrschedProcess, tmp_path: Path):
    project = make_project(tmp_path / "p", xrsched_server)
    xrsched_server.token("luigi")
    url = xrsched_server.url("luigi", "not-the-secret-Zq7vXk2pWm9rT4")

    run = project.run(url)

    assert "401" in run.output and "Unauthorized" in run.output, run.output[-4000:]
    assert run.returncode == 4  # Luigi's exit code for an unhandled exception (its RPCError)
    assert project.runs() == []
    # Three attempts with rpc-retry-wait = 1 (luigi.cfg): seconds, not Luigi's default 3 x 30 s.
    assert run.seconds < 30, run.seconds
    # Luigi tried three times; the server logged it once (the audit log has all three).
    refusals = [line for line in xrsched_server.lines if "refused credentials" in line]
    assert len(refusals) == 1, xrsched_server.lines
    assert "token id 'luigi'" in refusals[0] and "not-the-secret" not in refusals[0]
    print(f"wrong token: luigi gave up after {run.seconds:.1f}s, exit {run.returncode}")
