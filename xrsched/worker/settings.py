"""WorkerSettings: the single list of worker options (STYLE.md, "define each option once").

``xrsched run``'s click options, the keys of the ``[worker]`` table of its TOML config and the
``XRSCHED_*`` environment variables are all derived from the fields below. Precedence:
command-line flag > environment variable > config file > default. The token itself is never a
setting (a config key would put the secret in a file that is not the token file): it comes by the
rule every xrsched client follows (:func:`xrsched.client.resolve_token`): ``xrsched run``'s own
``--token`` flag (which shows in ``ps`` and in shell history, as its help says), else the file
named by ``token_file`` / ``XRSCHED_TOKEN_FILE``, else ``XRSCHED_TOKEN``.
"""

# Option fields are declared through a small helper around dataclasses.field() (as in xrsched/settings.py).
# ruff: noqa: RUF009

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from xrsched.client.endpoint import split_urls
from xrsched.options import layer_values, read_toml

START_METHODS = ("spawn", "forkserver", "fork")


def _opt(default: Any, help: str, *, metavar: str | None = None) -> Any:
    return field(default=default, metadata={"help": help, "metavar": metavar})


class WorkerSettingsError(ValueError):
    """A worker setting has a bad value, or the config file cannot be used."""


@dataclass(frozen=True)
class WorkerSettings:
    """Every option of the xrsched worker with its default."""

    scheduler_url: str = _opt(
        "https://localhost:8082/RPC2",
        "Scheduler to work for: https://HOST:PORT/RPC2, or unix:PATH for a server's --unix-socket; "
        "a leader and its standbys as URLs separated by commas (the worker follows the leader).",
        metavar="URL",
    )
    ca: Path | None = _opt(None, "CA bundle that verifies the scheduler's certificate.", metavar="FILE")
    token_file: Path | None = _opt(
        None, "File holding the worker token (beats XRSCHED_TOKEN; --token beats it).", metavar="FILE"
    )
    local_scheduler: bool = _opt(False, "Run the scheduler in this process (no server; for development).")
    workers: int = _opt(1, "Tasks run at once, each in its own child process.", metavar="N")
    keep_alive: bool = _opt(False, "Stay while the scheduler has pending tasks of ours, even if none can run now.")
    assistant: bool = _opt(False, "Run any runnable task the scheduler has, not only the ones we registered.")
    worker_id: str | None = _opt(None, "Worker id (default: a fresh one per process).", metavar="ID")
    ping_interval: float = _opt(1.0, "Seconds between heartbeats.", metavar="SECONDS")
    wait_interval: float = _opt(2.0, "Longest pause between asks for work when none is runnable.", metavar="SECONDS")
    task_timeout: float = _opt(
        0.0, "Kill a task running longer than this (0: never; a task's worker_timeout wins).", metavar="SECONDS"
    )
    check_complete_on_run: bool = _opt(
        True, "Fail a task whose run() returned while some of its outputs are missing.", metavar="BOOL"
    )
    check_complete_before_run: bool = _opt(
        True,
        "Check complete() just before running a task; if its outputs exist by then (another worker made "
        "them), report it done without running it again.",
        metavar="BOOL",
    )
    check_threads: int = _opt(8, "Threads checking complete() while the task graph is walked.", metavar="N")
    batch_size: int = _opt(500, "Calls per system.multicall request when registering tasks.", metavar="N")
    start_method: str = _opt(
        "forkserver",
        "How child processes start: forkserver, spawn or fork (see xrsched.worker.pool).",
        metavar="METHOD",
    )
    max_tasks_per_child: int = _opt(0, "Replace a child process after this many tasks (0: never).", metavar="N")
    prefetch_below: float = _opt(
        0.05,
        "While tasks typically run shorter than this, hold up to one more task per process, handed out "
        "ahead so children need not wait for the next request (0: never).",
        metavar="SECONDS",
    )
    unreachable_timeout: float = _opt(
        300.0,
        "Give up (exit status 3) once the scheduler has been unreachable this long, retries included; "
        "meanwhile one warning, then one every 10 seconds.",
        metavar="SECONDS",
    )
    drain_timeout: float = _opt(
        0.0, "After SIGTERM, kill tasks still running after this many seconds (0: wait for them).", metavar="SECONDS"
    )
    rpc_timeout: float = _opt(60.0, "Seconds to wait for each scheduler reply.", metavar="SECONDS")
    rpc_retries: int = _opt(
        5, "Retries of a scheduler call that could not complete (within --unreachable-timeout).", metavar="N"
    )
    log_level: str = _opt("INFO", "DEBUG, INFO, WARNING or ERROR.", metavar="LEVEL")


def option_fields() -> list[Field[Any]]:
    """Every field, in declaration order (each is a command-line option)."""
    return list(fields(WorkerSettings))


def load_worker_table(path: Path) -> dict[str, Any]:
    """The ``[worker]`` table of a TOML file (other tables, e.g. the server's, are ignored)."""
    table = read_toml(path, WorkerSettingsError).get("worker", {})
    if not isinstance(table, dict):
        raise WorkerSettingsError(f"{path}: [worker] must be a table")
    return table


def build_worker_settings(
    file_values: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    *,
    origin: str = "config",
) -> WorkerSettings:
    """Merge defaults < ``[worker]`` table < environment < flags into checked WorkerSettings.

    ``flags`` holds only the options given on the command line.
    """
    env = os.environ if environ is None else environ
    table = {str(k).replace("-", "_"): v for k, v in (file_values or {}).items()}
    known = {f.name for f in fields(WorkerSettings)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise WorkerSettingsError(f"{origin}: unknown [worker] setting(s): {', '.join(unknown)}")
    values = layer_values(option_fields(), table, env, flags or {}, origin=origin, error=WorkerSettingsError)
    settings = WorkerSettings(**values)
    check(settings)
    return settings


def check(settings: WorkerSettings) -> None:
    """Refuse values that cannot work, naming the setting."""
    if settings.workers < 1:
        raise WorkerSettingsError("workers must be at least 1")
    if not 1 <= settings.batch_size <= 1000:
        raise WorkerSettingsError("batch_size must be between 1 and 1000 (the server's multicall limit)")
    if settings.check_threads < 1:
        raise WorkerSettingsError("check_threads must be at least 1")
    if settings.start_method not in START_METHODS:
        raise WorkerSettingsError(f"start_method must be one of {', '.join(START_METHODS)}")
    for name in ("ping_interval", "wait_interval", "rpc_timeout", "unreachable_timeout"):
        if getattr(settings, name) <= 0:
            raise WorkerSettingsError(f"{name} must be positive")
    for name in ("task_timeout", "drain_timeout", "max_tasks_per_child", "rpc_retries", "prefetch_below"):
        if getattr(settings, name) < 0:
            raise WorkerSettingsError(f"{name} must not be negative")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise WorkerSettingsError(f"log_level must be DEBUG, INFO, WARNING or ERROR, got {settings.log_level!r}")
    if not settings.local_scheduler:
        check_scheduler_urls(settings.scheduler_url)


def check_scheduler_urls(text: str) -> None:
    """Refuse a ``scheduler_url`` that is not one URL or several separated by commas."""
    try:
        urls = split_urls(text)
    except ValueError as exc:
        raise WorkerSettingsError(f"scheduler_url: {exc}") from None
    for url in urls:
        if not url.startswith(("https://", "http://", "unix:")):
            raise WorkerSettingsError(f"scheduler_url must start with https:// (or http:// or unix:), got {url!r}")
