"""The ``xrsched`` command: a plain click group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from xrsched import __version__
from xrsched.cli.health import health
from xrsched.cli.run import run
from xrsched.cli.state import history, state
from xrsched.cli.token import token


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="xrsched")
def main() -> None:
    """xrsched: a central task scheduler with Luigi's semantics over hardened XML-RPC."""


main.add_command(token)
main.add_command(health)
main.add_command(state)
main.add_command(history)
main.add_command(run)

if __name__ == "__main__":
    main()
