"""``xrsched-server``: start the scheduler server. Options derive from ServerSettings."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from xrsched import __version__
from xrsched.cli.options import command_line_values, config_from_environment, settings_options
from xrsched.core.errors import BadValue
from xrsched.settings import build_settings, load_config_file, option_fields

if TYPE_CHECKING:
    from xrsched.server.daemon import Detached

_options = settings_options(option_fields(), switch_pairs=False, paths_may_be_dirs=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML file with any of these settings as top-level keys, plus [scheduler] (Luigi's keys) "
    "and [resources] tables. Flags win over XRSCHED_* variables, which win over the file. "
    "[env: XRSCHED_CONFIG]",
)
@_options
@click.version_option(__version__, prog_name="xrsched-server")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None, **given: Any) -> None:
    """Run the xrsched scheduler: XML-RPC over TLS with tokens, roles, an audit log and /health.

    With no options it listens on 127.0.0.1:8082, keeps its files in the state directory
    (see --state-path), generates a self-signed certificate there and, on first start,
    a tokens file holding one admin token whose secret is printed once.
    """
    flags = command_line_values(ctx, given)
    config_file = config_file or config_from_environment()
    try:
        file_values = load_config_file(config_file) if config_file else {}
        settings = build_settings(file_values, dict(os.environ), flags, origin=str(config_file or "config"))
    except BadValue as exc:
        raise click.UsageError(exc.message) from None
    try:
        _configure_logging(settings.log_level, settings.logdir if settings.background or settings.logdir else None)
    except OSError as exc:
        click.echo(f"xrsched-server: cannot open the log in {settings.logdir}: {exc.strerror or exc}", err=True)
        sys.exit(1)

    # Imported here so that --help stays fast and never touches the network stack.
    from xrsched.auth import TokenFileError
    from xrsched.server.collector import tune_collector
    from xrsched.server.daemon import PidfileInUse, detach, write_pidfile
    from xrsched.server.preflight import StartupError
    from xrsched.server.runtime import ServerRuntime
    from xrsched.store import StoreConnectionError, StoreError
    from xrsched.tls import TLSConfigError
    from xrsched.unixpath import SocketPathError

    # Before anything starts a thread (threads do not survive a fork); the terminal's process
    # waits for the daemon's verdict, so a refused start still fails with its code and reason.
    detached = detach() if settings.background else None
    try:
        runtime = ServerRuntime(settings)
        if settings.pidfile is not None:
            write_pidfile(settings.pidfile)
    except StoreConnectionError as exc:  # bad URL, wrong credentials, database unreachable
        _refuse(detached, 2, str(exc))
    except (StartupError, TLSConfigError, TokenFileError, StoreError, BadValue, SocketPathError, PidfileInUse) as exc:
        _refuse(detached, 1, str(exc))
    except OSError as exc:  # a check missed it: still say which file or directory
        where = f"{exc.filename}: " if exc.filename else ""
        _refuse(detached, 1, f"cannot start: {where}{exc.strerror or exc}")
    if detached is not None:
        detached.ready((settings.logdir / "xrsched-server.log") if settings.logdir else None)
    runtime.install_signal_handlers()
    tune_collector()
    _exit_at_once(runtime.run())


def _refuse(detached: Detached | None, code: int, reason: str) -> NoReturn:
    """Say why the server cannot start and exit ``code`` (the waiting process too, when detached)."""
    click.echo(f"xrsched-server: {reason}", err=True)
    if detached is not None:
        detached.failed(code)
    sys.exit(code)


def _exit_at_once(code: int) -> None:
    """End the process as soon as the server has stopped, skipping the interpreter's teardown.

    After a stop everything that matters is done: calls drained, the store written and closed,
    the audit log closed. What remained was CPython freeing every object and module one by
    one (with a large recovered state, or on a loaded machine, a second or more between
    "stopped" and the exit that service managers and scripts wait for). The exit handlers
    (log flushing, pidfile removal) still run.
    """
    atexit._run_exitfuncs()  # what the interpreter would run first; the teardown after it is skipped
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _configure_logging(level: str, logdir: Path | None) -> None:
    handler: logging.Handler
    if logdir is not None:
        logdir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(logdir / "xrsched-server.log")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("xrsched")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # psycopg's pool says when it cannot reconnect (PostgreSQL store): into the same log, not stderr.
    pool = logging.getLogger("psycopg")
    pool.handlers[:] = [handler]
    pool.setLevel(logging.WARNING)
    pool.propagate = False
