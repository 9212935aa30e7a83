"""``xrsched task ID`` and the operator actions on one task: ``re-enable``, ``forgive``, ``mark-done``.

``xrsched task ID`` (or ``xrsched task show ID``) shows a task as the scheduler knows it
(``task_info``: a viewer token is enough): parameters, status, worker, times, message,
progress, tracking URL, dependencies and dependents, its last error (a failure's traceback,
after the worker's console is gone) and its history. The actions need an operator token.
Exit status: 0 done; 1 no such task, or the scheduler refused (role too low, nothing to do);
2 the scheduler could not be asked (unreachable, bad token or certificate).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import click

from xrsched.cli.asking import EXIT_REFUSED, Refused, asking, fail, print_json, when
from xrsched.cli.options import scheduler_options


class TaskGroup(click.Group):
    """A group whose first argument is a task id unless it names a subcommand (``xrsched task ID``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Read ``xrsched task ID ...`` as ``xrsched task show ID ...``."""
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group("task", cls=TaskGroup, subcommand_metavar="ID | COMMAND [ARGS]...")
def task() -> None:
    """Show a task (xrsched task ID) or act on it (re-enable, forgive, mark-done).

    A task whose id is a subcommand's name is shown with: xrsched task show ID.
    Exit status: 0 done, 1 no such task or refused by the scheduler, 2 the scheduler could
    not be asked.
    """


@task.command("show")
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="Print the scheduler's task_info reply as JSON.")
@scheduler_options()
def show(
    task_id: str, as_json: bool, scheduler_url: str, ca: Path | None, token: str | None, token_file: Path | None
) -> None:
    """Show TASK_ID: status, parameters, times, dependencies, last error (traceback) and history."""
    from xrsched.client.errors import NotFound

    with asking("task", scheduler_url, ca, token, token_file) as client:
        try:
            info = client.task_info(task_id=task_id)
        except NotFound:
            fail("task", f"the scheduler at {scheduler_url} has no task {task_id}", EXIT_REFUSED)
    if as_json:
        print_json(info)
        return
    for line in describe(info):
        click.echo(line)


def describe(info: dict[str, Any]) -> list[str]:
    """The lines ``xrsched task ID`` prints; the history comes last."""
    from xrsched.cli.state import history_lines

    status = info.get("status", "?")
    module = info.get("module")
    lines = [f"{info['task_id']}  {status}"]
    lines.append(f"  family: {info.get('family') or '-'}" + (f" (module {module})" if module else ""))
    params = info.get("params") or {}
    if params:
        lines.append("  parameters: " + ", ".join(f"{name}={value}" for name, value in sorted(params.items())))
    lines.append(f"  priority: {info.get('priority', 0):g}")
    if info.get("worker_running") and status in ("RUNNING", "BATCH_RUNNING"):
        lines.append(f"  running on: {info['worker_running']} since {when(info.get('time_running'))}")
    if info.get("workers"):
        lines.append("  workers: " + ", ".join(info["workers"]))
    lines.append(f"  added: {when(info.get('time_added'))}")
    lines.append(f"  last updated: {when(info.get('last_updated'))}")
    lines += _optional_lines(info)
    lines += _links("depends on", info.get("deps") or [], info.get("num_deps", 0))
    lines += _links("needed by", info.get("dependents") or [], info.get("num_dependents", 0))
    text = (info.get("error") or "").rstrip()
    if text:
        lines += ["  last error:", textwrap.indent(text, "    ")]
    history = info.get("history") or []
    lines.append("  history:" if history else "  history: none recorded")
    lines += ["    " + line for line in history_lines(history)]
    return lines


def _optional_lines(info: dict[str, Any]) -> list[str]:
    lines = []
    if info.get("status_message"):
        lines.append(f"  status message: {info['status_message']}")
    if info.get("progress_percentage") is not None:
        lines.append(f"  progress: {info['progress_percentage']:g}%")
    if info.get("tracking_url"):
        lines.append(f"  tracking URL: {info['tracking_url']}")
    if info.get("retry_at") is not None:
        lines.append(f"  retried after: {when(info['retry_at'])}")
    if info.get("disabled_until") is not None:
        lines.append(f"  disabled until: {when(info['disabled_until'])} (or until an operator re-enables it)")
    if info.get("resources"):
        lines.append("  resources: " + ", ".join(f"{k}={v}" for k, v in sorted(info["resources"].items())))
    return lines


def _links(label: str, ids: list[str], total: int) -> list[str]:
    if not total:
        return []
    more = f" (first {len(ids)} shown)" if total > len(ids) else ""
    return [f"  {label} ({total}){more}:", *(f"    {task_id}" for task_id in ids)]


def _action(name: str, method: str, verb: str) -> click.Command:
    """A subcommand that calls ``method(task_id)`` and checks that it did what it says."""

    @click.command(name)
    @click.argument("task_id")
    @scheduler_options()
    def command(task_id: str, scheduler_url: str, ca: Path | None, token: str | None, token_file: Path | None) -> None:
        from xrsched.client.errors import NotFound

        with asking(f"task {name}", scheduler_url, ca, token, token_file) as client:
            try:
                before = client.task_info(task_id=task_id)["status"]
                reply = getattr(client, method)(task_id=task_id)
            except NotFound:
                raise Refused(f"the scheduler at {scheduler_url} has no task {task_id}") from None
            click.echo(_outcome(method, task_id, before, reply or {}))

    command.help = (
        f"{verb} Needs an operator token.\n\n"
        "Exit status: 0 done, 1 no such task, nothing to do or refused, 2 could not ask."
    )
    return command


#: Action -> why the scheduler left the task as it was.
_NOTHING_TO_DO = {
    "re_enable_task": "was not disabled by the scheduler: nothing to re-enable",
    "forgive_failures": "is not FAILED: nothing to forgive",
    "mark_as_done": "is not RUNNING, FAILED or DISABLED: nothing to mark done",
}


def _outcome(method: str, task_id: str, before: str, reply: dict[str, Any]) -> str:
    """``ID: OLD -> NEW``, or Refused when the scheduler left the task as it was."""
    after = reply.get("status")
    if not reply or after == before:
        raise Refused(f"{task_id} ({before}) {_NOTHING_TO_DO[method]}")
    return f"{task_id}: {before} -> {after}"


task.add_command(
    _action("re-enable", "re_enable_task", "Lift the scheduler's disable of TASK_ID: it becomes FAILED and is retried.")
)
task.add_command(
    _action("forgive", "forgive_failures", "Put the FAILED TASK_ID back to PENDING now, not after retry_delay.")
)
task.add_command(_action("mark-done", "mark_as_done", "Declare the RUNNING, FAILED or DISABLED TASK_ID DONE."))
