"""``xrsched pause``, ``unpause`` (operator token) and ``paused`` (viewer): whether work is handed out.

Pausing stops ``get_work`` handing out tasks; running tasks go on. A scheduler configured with
``pause_enabled = false`` ignores both, which these commands report (exit status 1).
Exit status: 0 done; 1 refused or ignored by the scheduler; 2 it could not be asked.
"""

from __future__ import annotations

from pathlib import Path

import click

from xrsched.cli.asking import Refused, asking
from xrsched.cli.options import scheduler_options


def _switch(name: str, method: str, wanted: bool, done: str) -> click.Command:
    @click.command(name)
    @scheduler_options()
    def command(scheduler_url: str, ca: Path | None, token: str | None, token_file: Path | None) -> None:
        with asking(name, scheduler_url, ca, token, token_file) as client:
            getattr(client, method)()
            if bool(client.is_paused()["paused"]) != wanted:
                raise Refused(f"the scheduler at {scheduler_url} does not allow pausing (pause_enabled = false)")
        click.echo(done)

    return command


pause = _switch("pause", "pause", True, "paused: no new work is handed out; running tasks go on")
pause.help = """Stop the scheduler handing out work (operator token); running tasks go on.

Exit status: 0 paused, 1 refused (role, or pause_enabled = false), 2 could not ask."""
unpause = _switch("unpause", "unpause", False, "unpaused: work is handed out again")
unpause.help = """Let the scheduler hand out work again (operator token).

Exit status: 0 unpaused, 1 refused (role, or pause_enabled = false), 2 could not ask."""


@click.command("paused")
@scheduler_options()
def paused(scheduler_url: str, ca: Path | None, token: str | None, token_file: Path | None) -> None:
    """Say whether the scheduler is paused (viewer token). Prints "paused" or "not paused".

    Exit status: 0 asked, 2 could not ask.
    """
    with asking("paused", scheduler_url, ca, token, token_file) as client:
        state = client.is_paused()["paused"]
    click.echo("paused" if state else "not paused")
