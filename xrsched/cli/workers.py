"""``xrsched workers`` (a viewer may list them) and ``xrsched worker drain|processes ID`` (operators).

Exit status: 0 done; 1 no such worker, or the scheduler refused (role too low, a value out of
range); 2 the scheduler could not be asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from xrsched.cli.asking import Refused, asking, print_json, table, when
from xrsched.cli.options import scheduler_options

#: Running task ids shown per worker before "+N more".
SHOWN_RUNNING = 3


@click.command("workers")
@click.option("--json", "as_json", is_flag=True, help="Print the scheduler's worker_list reply as JSON.")
@scheduler_options()
def workers(as_json: bool, scheduler_url: str, ca: Path | None, token: str | None, token_file: Path | None) -> None:
    """List the live workers, newest first: id, state, processes, last seen, running tasks.

    Exit status: 0 listed, 1 refused by the scheduler, 2 the scheduler could not be asked.
    """
    with asking("workers", scheduler_url, ca, token, token_file) as client:
        listed = client.worker_list(include_running=True)
    if as_json:
        print_json(listed)
        return
    for line in worker_lines(listed):
        click.echo(line)


def worker_lines(listed: list[dict[str, Any]]) -> list[str]:
    """The table ``xrsched workers`` prints."""
    if not listed:
        return ["no workers"]
    rows = []
    for entry in listed:
        running = sorted(entry.get("running") or {})
        shown = ", ".join(running[:SHOWN_RUNNING]) or "-"
        if len(running) > SHOWN_RUNNING:
            shown += f" +{len(running) - SHOWN_RUNNING} more"
        processes = entry.get("workers")
        rows.append(
            (entry["name"], entry.get("state", "?"), str(processes) if processes is not None else "-",
             entry.get("host") or "-", when(entry.get("last_active")), str(len(running)), shown)
        )  # fmt: skip
    return table(("WORKER", "STATE", "PROCESSES", "HOST", "LAST SEEN", "RUNNING", "TASKS"), rows)


@click.group("worker")
def worker() -> None:
    """Act on one worker (operator token): drain it, or set how many processes it runs."""


@worker.command("drain")
@click.argument("worker_id")
@scheduler_options()
def drain(worker_id: str, scheduler_url: str, ca: Path | None, token: str | None, token_file: Path | None) -> None:
    """Give WORKER_ID no more work (disable_worker); the tasks it runs finish.

    Exit status: 0 done, 1 refused by the scheduler, 2 the scheduler could not be asked.
    """
    with asking("worker drain", scheduler_url, ca, token, token_file) as client:
        known = any(entry.get("name") == worker_id for entry in client.worker_list(include_running=False))
        client.disable_worker(worker=worker_id)
    note = "" if known else " (not connected now: it gets no work if it connects)"
    click.echo(f"worker {worker_id} drained: no new work; its running tasks finish{note}")


@worker.command("processes")
@click.argument("worker_id")
@click.argument("count", type=click.IntRange(1))
@scheduler_options()
def processes(
    worker_id: str, count: int, scheduler_url: str, ca: Path | None, token: str | None, token_file: Path | None
) -> None:
    """Ask WORKER_ID to run COUNT task processes at once (set_worker_processes; it hears at its next ping).

    Exit status: 0 asked, 1 no such worker or refused by the scheduler, 2 the scheduler could
    not be asked.
    """
    from xrsched.client.errors import NotFound

    with asking("worker processes", scheduler_url, ca, token, token_file) as client:
        try:
            client.set_worker_processes(worker=worker_id, n=count)
        except NotFound:
            raise Refused(f"the scheduler at {scheduler_url} has no worker {worker_id}") from None
    click.echo(f"worker {worker_id} asked to run {count} processes (it hears at its next ping)")
