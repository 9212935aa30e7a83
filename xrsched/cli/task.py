"""``xrsched task TASK_ID``: one task as the scheduler knows it: status, last error, history.

The place to read a failed task's traceback again after the worker's console is gone. It asks
a running server (``task_search``, ``fetch_error``, ``task_history``: a viewer token is enough).
Exit status: 0 shown; 1 the scheduler has no such task; 2 the scheduler could not be asked
(unreachable, refused, bad token or certificate).
"""

from __future__ import annotations

import datetime as _dt
import sys
import textwrap
from pathlib import Path
from typing import Any, NoReturn

import click

from xrsched.cli.options import token_options

EXIT_SHOWN, EXIT_NO_SUCH_TASK, EXIT_CANNOT_ASK = 0, 1, 2
#: Seconds to keep retrying a scheduler that does not answer.
PATIENCE = 10.0


@click.command("task")
@click.argument("task_id")
@click.option(
    "--scheduler-url",
    envvar="XRSCHED_SCHEDULER_URL",
    default="https://localhost:8082/RPC2",
    show_default=True,
    metavar="URL",
    help="Scheduler to ask; a leader and its standbys as URLs separated by commas. [env: XRSCHED_SCHEDULER_URL]",
)
@click.option(
    "--ca",
    envvar="XRSCHED_CA",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="CA bundle that verifies the scheduler's certificate. [env: XRSCHED_CA]",
)
@token_options("Token (visible in ps and shell history: prefer --token-file).")
def task(task_id: str, scheduler_url: str, ca: Path | None, token: str | None, token_file: Path | None) -> None:
    """Show TASK_ID: its status, its last error (a failure's traceback) and its history.

    Exit status: 0 shown, 1 no such task, 2 the scheduler could not be asked.
    """
    from xrsched.client import ClientError, RemoteScheduler, TokenError
    from xrsched.client.retrying import Patience

    try:
        client = RemoteScheduler(scheduler_url, token, ca=ca, token_file=token_file, timeout=30.0)
    except (TokenError, ValueError) as exc:
        _fail(str(exc))
    client.patience = Patience(PATIENCE)  # one line while it retries, not one per retry
    try:
        with client:
            info = find_task(client, task_id)
            if info is None:
                click.echo(f"xrsched task: the scheduler at {client.url} has no task {task_id}", err=True)
                sys.exit(EXIT_NO_SUCH_TASK)
            error = client.fetch_error(task_id=task_id)
            history = client.task_history(task_id=task_id)
    except ClientError as exc:
        hint = " (use --ca FILE or XRSCHED_CA)" if ca is None and "certificate verif" in str(exc) else ""
        _fail(f"cannot ask the scheduler at {scheduler_url}: {exc}{hint}")
    for line in describe(task_id, info, error, history):
        click.echo(line)


def find_task(client: Any, task_id: str) -> dict[str, Any] | None:
    """The scheduler's record of ``task_id`` (as ``task_search`` lists it), or None."""
    for tasks in (client.task_search(task_str=task_id) or {}).values():
        if task_id in tasks:
            return tasks[task_id]
    # The search lists at most max_shown_tasks ids containing task_id; the graph has the task itself.
    return (client.dep_graph(task_id=task_id, include_done=True) or {}).get(task_id)


def describe(task_id: str, info: dict[str, Any], error: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    """The lines ``xrsched task`` prints."""
    from xrsched.cli.state import history_lines

    lines = [f"{task_id}  {info.get('status', '?')}"]
    module = error.get("taskModule")
    lines.append(f"  family: {info.get('name') or '-'}" + (f" (module {module})" if module else ""))
    if info.get("worker_running") and info.get("status") in ("RUNNING", "BATCH_RUNNING"):
        lines.append(f"  running on: {info['worker_running']}")
    if info.get("last_updated"):
        lines.append(f"  last updated: {_when(info['last_updated'])}")
    if info.get("status_message"):
        lines.append(f"  status message: {info['status_message']}")
    text = (error.get("error") or "").rstrip()
    if text:
        lines += ["  last error:", textwrap.indent(text, "    ")]
    lines.append("  history:" if history else "  history: none recorded")
    lines += ["    " + line for line in history_lines(history)]
    return lines


def _when(stamp: float) -> str:
    return _dt.datetime.fromtimestamp(stamp, _dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _fail(message: str) -> NoReturn:
    click.echo(f"xrsched task: {message}", err=True)
    sys.exit(EXIT_CANNOT_ASK)
