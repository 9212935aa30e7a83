"""The ``xrsched`` command: a click group whose subcommands are imported only when used.

``xrsched run`` starts workers, so its start-up time is part of how soon the first task
runs: it must not pay for the TLS, token and state machinery the other subcommands load.
"""

from __future__ import annotations

import importlib

import click

from xrsched import __version__

#: subcommand name -> "module:attribute" of its click command.
SUBCOMMANDS: dict[str, str] = {
    "token": "xrsched.cli.token:token",
    "health": "xrsched.cli.health:health",
    "state": "xrsched.cli.state:state",
    "history": "xrsched.cli.state:history",
    "run": "xrsched.cli.run:run",
    "task": "xrsched.cli.task:task",
    "tasks": "xrsched.cli.tasks:tasks",
    "workers": "xrsched.cli.workers:workers",
    "worker": "xrsched.cli.workers:worker",
    "pause": "xrsched.cli.pause:pause",
    "unpause": "xrsched.cli.pause:unpause",
    "paused": "xrsched.cli.pause:paused",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module when that subcommand is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand name, without importing any of them."""
        return sorted({*SUBCOMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand, imported on first use."""
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="xrsched")
def main() -> None:
    """xrsched: a central task scheduler with Luigi's semantics over hardened XML-RPC."""


if __name__ == "__main__":
    main()
