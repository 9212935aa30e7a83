"""``xrsched tasks``: one page of the scheduler's tasks, newest update first, filtered.

It asks ``task_page`` (a viewer token is enough), so a scheduler holding 100,000 tasks sends
one page, never all of them. Exit status: 0 listed (even when nothing matches); 1 the
scheduler refused (a value out of range, role too low); 2 it could not be asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from xrsched.cli.asking import asking, print_json, table, when
from xrsched.cli.options import scheduler_options

#: task_page's statuses, for click to check before asking.
STATUSES = ("PENDING", "RUNNING", "DONE", "FAILED", "DISABLED", "UNKNOWN", "BATCH_RUNNING")


@click.command("tasks")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False), help="Only tasks with this status.")
@click.option("--family", metavar="FAMILY", help="Only tasks of this family.")
@click.option(
    "--search", metavar="TEXT", help="Words that must all appear in the task id, name or parameter values (any case)."
)
@click.option(
    "--limit", type=click.IntRange(0, 500), default=50, show_default=True, help="Tasks per page (at most 500)."
)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True, help="Skip this many matching tasks.")
@click.option("--json", "as_json", is_flag=True, help="Print the scheduler's task_page reply as JSON.")
@scheduler_options()
def tasks(
    status: str | None,
    family: str | None,
    search: str | None,
    limit: int,
    offset: int,
    as_json: bool,
    scheduler_url: str,
    ca: Path | None,
    token: str | None,
    token_file: Path | None,
) -> None:
    """List tasks, newest update first: id, status, family, worker, last updated.

    Exit status: 0 listed, 1 refused by the scheduler, 2 the scheduler could not be asked.
    """
    filters: dict[str, Any] = {"offset": offset, "limit": limit}
    if status:
        filters["status"] = status.upper()
    if family:
        filters["family"] = family
    if search:
        filters["search"] = search
    with asking("tasks", scheduler_url, ca, token, token_file) as client:
        page = client.task_page(**filters)
    if as_json:
        print_json(page)
        return
    for line in page_lines(page):
        click.echo(line)


def page_lines(page: dict[str, Any]) -> list[str]:
    """The table of one page and its footer (``showing a-b of N``)."""
    rows = page.get("tasks") or []
    total = page.get("total", 0)
    if not rows:
        return [f"showing none of {total} (offset {page.get('offset', 0)})" if total else "no tasks match"]
    body = [
        (row["task_id"], row["status"], row.get("family") or "-", row.get("worker_running") or "-",
         when(row.get("last_updated")))
        for row in rows
    ]  # fmt: skip
    first = page.get("offset", 0) + 1
    lines = table(("TASK ID", "STATUS", "FAMILY", "WORKER", "LAST UPDATED"), body)
    return [*lines, f"showing {first}-{first + len(rows) - 1} of {total}"]
