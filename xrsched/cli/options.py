"""Click options derived from a settings dataclass's fields (their help, metavar and default)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import Field
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from xrsched.options import env_name

#: --token's help for the commands that ask a running scheduler.
TOKEN_HELP = "Token (visible in ps and shell history: prefer --token-file)."  # noqa: S105 (help text)


def command_line_values(ctx: click.Context, given: Mapping[str, Any]) -> dict[str, Any]:
    """The options of ``given`` that were typed on the command line (not defaults): the flags
    layer of the settings, which wins over ``XRSCHED_*`` and the config file."""
    return {
        name: value for name, value in given.items() if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
    }


def config_from_environment() -> Path | None:
    """``$XRSCHED_CONFIG`` as a path: the config file when ``--config`` is not given (None when
    unset or empty)."""
    return Path(os.environ["XRSCHED_CONFIG"]) if os.environ.get("XRSCHED_CONFIG") else None


def settings_options(
    options: Iterable[Field[Any]], *, switch_pairs: bool, paths_may_be_dirs: bool
) -> Callable[[Any], Any]:
    """A decorator adding one ``--name`` option per field; every default is None ("not given"), so
    the settings layering can tell flags from defaults.

    ``switch_pairs``: booleans become ``--x/--no-x`` (else plain flags that only switch on).
    """
    kinds: dict[str, Any] = {
        "int": click.INT,
        "float": click.FLOAT,
        "str": click.STRING,
        "str | None": click.STRING,
        "Path | None": click.Path(path_type=Path, dir_okay=paths_may_be_dirs),
    }

    def decorate(function: Any) -> Any:
        for f in reversed(list(options)):
            flag = "--" + f.name.replace("_", "-")
            help_text = f"{f.metadata['help']} [env: {env_name(f.name)}]"
            if str(f.type) == "bool":
                if switch_pairs:
                    negative = "--no-" + f.name.replace("_", "-")
                    shown = "on" if f.default else "off"
                    option = click.option(
                        f"{flag}/{negative}", f.name, default=None, help=f"{help_text} [default: {shown}]"
                    )
                else:
                    option = click.option(flag, f.name, is_flag=True, default=False, help=help_text)
            else:
                shown = f" [default: {f.default}]" if f.default is not None else ""
                option = click.option(
                    flag,
                    f.name,
                    type=kinds[str(f.type)],
                    default=None,
                    metavar=f.metadata.get("metavar"),
                    help=help_text + shown,
                )
            function = option(function)
        return function

    return decorate


def token_options(token_help: str) -> Callable[[Any], Any]:
    """``--token`` and ``--token-file`` for a command that calls the scheduler: the rule every
    xrsched client follows is the flag, then the file, then ``XRSCHED_TOKEN``."""
    token = click.option(
        "--token", metavar="TOKEN", help=f"{token_help} Else --token-file / XRSCHED_TOKEN_FILE, else XRSCHED_TOKEN."
    )
    token_file = click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="File holding the token (beats XRSCHED_TOKEN; --token beats it).",
    )
    return lambda function: token(token_file(function))


def scheduler_options() -> Callable[[Any], Any]:
    """``--scheduler-url``, ``--ca``, ``--token`` and ``--token-file`` for a command that asks a
    running scheduler (``xrsched task``, ``tasks``, ``workers``, ``pause``...)."""
    url = click.option(
        "--scheduler-url",
        envvar="XRSCHED_SCHEDULER_URL",
        default="https://localhost:8082/RPC2",
        show_default=True,
        metavar="URL",
        help="Scheduler to ask; a leader and its standbys as URLs separated by commas. [env: XRSCHED_SCHEDULER_URL]",
    )
    ca = click.option(
        "--ca",
        envvar="XRSCHED_CA",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="CA bundle that verifies the scheduler's certificate. [env: XRSCHED_CA]",
    )
    tokens = token_options(TOKEN_HELP)
    return lambda function: url(ca(tokens(function)))
