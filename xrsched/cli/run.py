"""``xrsched run``: build a task from the command line and run it (and what it needs) with a worker.

::

    xrsched run --module examples.etl.pipeline Load --date 2026-11-22 --workers 4

Worker options derive from :class:`~xrsched.worker.settings.WorkerSettings` (flag > ``XRSCHED_*``
environment > ``[worker]`` table of ``--config`` > default). Every other ``--name value`` pair
is a parameter of the task, parsed by the task class's own parameters; a boolean parameter may
be given as a bare ``--flag``. The exit status is the worker's (see :mod:`xrsched.worker`).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from xrsched.cli.options import command_line_values, config_from_environment, settings_options
from xrsched.worker.settings import (
    WorkerSettings,
    WorkerSettingsError,
    build_worker_settings,
    load_worker_table,
    option_fields,
)
from xrsched.worker.summary import EXIT_INTERRUPTED, EXIT_NOT_SCHEDULED

#: Longest wait for the TCP connect plus TLS handshake of one attempt (seconds).
CONNECT_TIMEOUT = 10.0

_options = settings_options(option_fields(), switch_pairs=True, paths_may_be_dirs=False)


@click.command(
    "run",
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
    },
)
@click.option("--module", "module", metavar="MODULE", help="Import this module first (it defines the task).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML file whose [worker] table sets any of these options. [env: XRSCHED_CONFIG]",
)
@click.option(
    "--token",
    metavar="TOKEN",
    default=None,
    help="Worker token (visible in ps and shell history: prefer --token-file). "
    "Else --token-file / XRSCHED_TOKEN_FILE, else XRSCHED_TOKEN.",
)
@_options
@click.argument("task_name", metavar="TASK")
@click.pass_context
def run(
    ctx: click.Context, module: str | None, config_file: Path | None, token: str | None, task_name: str, **given: Any
) -> None:
    """Run TASK (built from the --param value pairs after it) and everything it needs.

    Exit status: 0 all complete; 1 something failed; 2 missing input, not schedulable, or the
    scheduler refused (token, role, certificate); 3 interrupted (SIGUSR1/SIGTERM/SIGINT drain),
    or the scheduler unreachable for --unreachable-timeout (at start or later).
    """
    flags = command_line_values(ctx, given)
    config_file = config_file or config_from_environment()
    try:
        table = load_worker_table(config_file) if config_file else {}
        settings = build_worker_settings(table, os.environ, flags, origin=str(config_file or "config"))
    except WorkerSettingsError as exc:
        raise click.UsageError(str(exc)) from None
    _configure_logging(settings.log_level)
    if settings.start_method == "forkserver":
        from xrsched.worker.forkserver import start_early

        # The children's interpreter starts on another core while this one loads the task.
        start_early([module] if module else [])
    task = build_task(module, task_name, list(ctx.args))
    sys.exit(run_task(task, settings, token=token))


def build_task(module: str | None, task_name: str, args: list[str]) -> Any:
    """Import ``module``, find ``task_name`` and build it from ``--name value`` pairs (UsageError if wrong)."""
    from xrsched.task import TaskClassException, task_class

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # `--module pkg.mod` names modules relative to here, as Luigi does
    imported = None
    if module:
        try:
            imported = importlib.import_module(module)
        except ImportError as exc:
            raise click.UsageError(f"--module {module}: cannot import it: {exc}") from None
    try:
        cls = task_class(task_name)
    except TaskClassException as exc:
        cls = getattr(imported, task_name, None) if imported is not None else None
        if cls is None:
            raise click.UsageError(str(exc)) from None
    values = parse_task_args(cls, args)
    try:
        return cls.from_str_params(values)
    except (TypeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None


def parse_task_args(cls: Any, args: list[str]) -> dict[str, str]:
    """``--name value`` / ``--name=value`` pairs as ``{name: value}``, checked against ``cls``'s parameters."""
    from xrsched.task import BoolParameter

    params = dict(cls.get_params())
    family = cls.get_task_family()
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            raise click.UsageError(f"unexpected argument {arg!r}: task parameters are given as --name value")
        name, has_value, value = arg[2:].partition("=")
        key = name.replace("-", "_")
        if key not in params:
            known = ", ".join("--" + p.replace("_", "-") for p in params) or "none"
            raise click.UsageError(f"{family} has no parameter --{name} (its parameters: {known})")
        if key in values:
            raise click.UsageError(f"--{name} given twice")
        if not has_value:
            following = args[i + 1] if i + 1 < len(args) else None
            if isinstance(params[key], BoolParameter) and (following is None or following.startswith("--")):
                value = "true"
            elif following is None:
                raise click.UsageError(f"--{name} needs a value")
            else:
                value, i = following, i + 1
        values[key] = value
        i += 1
    return values


def run_task(task: Any, settings: WorkerSettings, *, token: str | None = None) -> int:
    """Run ``task`` with a worker built from ``settings`` (``token``: a ``--token`` flag); the exit status."""
    from xrsched.client import TokenError
    from xrsched.client.errors import ClientError
    from xrsched.worker import Worker

    try:
        scheduler, service = _scheduler(settings, token)
    except TokenError as exc:
        click.echo(f"xrsched run: {exc}", err=True)
        return EXIT_NOT_SCHEDULED
    try:
        with Worker(scheduler, settings=settings, preload_main=False) as worker:
            worker.add(task, pipelined=True)
            summary = worker.run()
    except ClientError as exc:
        return _scheduler_error(exc, settings)
    finally:
        if service is not None:
            service.close()
        elif hasattr(scheduler, "close"):
            scheduler.close()
    click.echo(summary.render())
    return summary.exit_code


def _scheduler_error(exc: Exception, settings: WorkerSettings) -> int:
    """Say why the scheduler could not take the work; 3 if it could not be reached (as when it is
    lost later), 2 if it refused (a wrong token or role, a bad request: running again won't help)."""
    if getattr(exc, "retryable", False):
        click.echo(f"xrsched run: cannot reach the scheduler at {settings.scheduler_url} (gave up after "
                   f"{settings.unreachable_timeout:g}s): {exc}", err=True)  # fmt: skip
        return EXIT_INTERRUPTED
    if _is_certificate_failure(exc):
        hint = "use --ca FILE or XRSCHED_CA" if settings.ca is None else f"is {settings.ca} the CA that signed it?"
        click.echo(f"xrsched run: cannot verify the scheduler at {settings.scheduler_url}: {exc} ({hint})", err=True)
        return EXIT_NOT_SCHEDULED
    click.echo(f"xrsched run: the scheduler at {settings.scheduler_url} refused the work: {exc}", err=True)
    return EXIT_NOT_SCHEDULED


def _is_certificate_failure(exc: BaseException) -> bool:
    """Whether the client gave up because the server's TLS certificate did not verify."""
    import ssl

    return isinstance(exc.__cause__, ssl.SSLCertVerificationError) or "certificate verif" in str(exc)


def _scheduler(settings: WorkerSettings, token: str | None) -> tuple[Any, Any]:
    if settings.local_scheduler:
        from xrsched.core import Scheduler
        from xrsched.service import SchedulerService

        service = SchedulerService(Scheduler())
        service.start()
        return service, service
    from xrsched.client import RemoteScheduler, TokenError

    try:
        client = RemoteScheduler(
            settings.scheduler_url,
            token,
            ca=settings.ca,
            token_file=settings.token_file,
            timeout=settings.rpc_timeout,
            retries=settings.rpc_retries,
            # A silent address must not hold one attempt longer than the whole outage may last.
            connect_timeout=min(CONNECT_TIMEOUT, settings.unreachable_timeout),
        )
    except TokenError:
        raise
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"cannot set up the scheduler client: {exc}") from None
    return client, None


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("xrsched")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


if __name__ == "__main__":  # `python -m xrsched.cli.run ...` is `xrsched run ...` (the worker tests start it so)
    run()
