"""``xrsched state check|export|import`` and ``xrsched history``: the state database offline."""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from xrsched.paths import DEFAULT_STATE_DIR_HELP, default_state_dir

STATE_FILE = "state.sqlite3"

state_path_option = click.option(
    "--state-path",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help=f"The server's state directory (default: {DEFAULT_STATE_DIR_HELP}).",
)

store_option = click.option(
    "--store",
    "store_url",
    envvar="XRSCHED_STORE",
    default=None,
    metavar="URL",
    help="A postgresql://USER@HOST:PORT/DB store instead of the SQLite file (password from PGPASSWORD, "
    "~/.pgpass or XRSCHED_STORE_PASSWORD). [env: XRSCHED_STORE]",
)


def _store(state_path: Path | None, *, read_only: bool = True, store_url: str | None = None):  # noqa: ANN202
    """The state database; read-only (it must exist, and is never written, not even migrated:
    a server may be using it) unless the command writes. With a PostgreSQL URL, that database."""
    from xrsched.store import SQLiteStore, StoreError

    if store_url and store_url not in ("sqlite", "memory"):
        return _postgres_store(store_url)

    directory = state_path or default_state_dir()
    path = directory / STATE_FILE
    if read_only and not path.exists():
        click.echo(f"xrsched: no state database at {path}", err=True)
        sys.exit(1)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        return SQLiteStore(path, read_only=read_only)
    except StoreError as exc:
        click.echo(f"xrsched: {exc}", err=True)
        sys.exit(1)


def _postgres_store(store_url: str):  # noqa: ANN202 (imported lazily)
    from xrsched.store import StoreConnectionError, StoreError
    from xrsched.store.pgurl import parse_store_url
    from xrsched.store.postgres import PostgresStore

    try:
        return PostgresStore(parse_store_url(store_url))
    except StoreConnectionError as exc:
        click.echo(f"xrsched: {exc}", err=True)
        sys.exit(2)
    except StoreError as exc:
        click.echo(f"xrsched: {exc}", err=True)
        sys.exit(1)


@click.group()
def state() -> None:
    """Check, back up (export) and restore (import) the server's state database."""


@state.command()
@state_path_option
@store_option
def check(state_path: Path | None, store_url: str | None) -> None:
    """Verify the database opens, passes SQLite's check and every record decodes. Exit 1 if not."""
    from xrsched.core import Scheduler
    from xrsched.store import StoreError, load_into
    from xrsched.store.exchange import check_params
    from xrsched.store.records import RecordError

    store = _store(state_path, store_url=store_url)
    core = Scheduler()
    try:
        counts = load_into(store, core, 0.0)
        check_params(core.tasks.values())  # start-up checks only their framing: decode each one here
    except StoreError as exc:
        click.echo(f"BAD {exc}", err=True)
        sys.exit(1)
    except RecordError as exc:
        click.echo(f"BAD {store.path}: {exc}", err=True)
        sys.exit(1)
    finally:
        store.close()
    click.echo(f"OK {store.path}: {counts['tasks']} tasks, {counts['workers']} workers")


@state.command("export")
@state_path_option
@store_option
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False))
def export_command(state_path: Path | None, store_url: str | None, target: Path) -> None:
    """Write every task, worker and setting to TARGET as JSON (safe while the server runs)."""
    from xrsched.store.exchange import export_state

    store = _store(state_path, store_url=store_url)
    try:
        counts = export_state(store, target)
    finally:
        store.close()
    click.echo(f"exported {counts['tasks']} tasks and {counts['workers']} workers to {target}")


@state.command("import")
@state_path_option
@store_option
@click.option("--force", is_flag=True, help="Replace the tasks already in the database.")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
def import_command(state_path: Path | None, store_url: str | None, force: bool, source: Path) -> None:
    """Load SOURCE (a JSON export) into the database. The server must be stopped (with --store
    postgresql://..., every server on that database)."""
    from xrsched.server.statelock import state_dir_in_use
    from xrsched.store.exchange import import_state

    if store_url and store_url not in ("sqlite", "memory"):
        _import_into_postgres(store_url, force, source)
        return
    directory = state_path or default_state_dir()
    if state_dir_in_use(directory):
        click.echo(f"xrsched: a server is running on {directory}; stop it before importing", err=True)
        sys.exit(1)
    store = _store(state_path, read_only=False)
    _run_import(store, lambda: import_state(store, source, force=force))


def _import_into_postgres(store_url: str, force: bool, source: Path) -> None:
    """Import while holding the leader lock, so no server can lead (and write) meanwhile."""
    from xrsched.store.election import hold_leader_lock
    from xrsched.store.exchange import import_state

    store = _postgres_store(store_url)

    def locked_import() -> dict[str, int]:
        with hold_leader_lock(store.target) as held:
            if not held:
                click.echo(f"xrsched: a server leads {store.path}; stop every server before importing", err=True)
                sys.exit(1)
            return import_state(store, source, force=force)

    _run_import(store, locked_import)


def _run_import(store: Any, run: Callable[[], dict[str, int]]) -> None:
    """Run an import into ``store`` and close it; a refusal is one line and exit 1."""
    from xrsched.store import StoreError

    try:
        counts = run()
    except StoreError as exc:
        click.echo(f"xrsched: {exc}", err=True)
        sys.exit(1)
    finally:
        store.close()
    click.echo(f"imported {counts['tasks']} tasks and {counts['workers']} workers into {store.path}")


@click.command()
@state_path_option
@store_option
@click.argument("task_id")
def history(state_path: Path | None, store_url: str | None, task_id: str) -> None:
    """Show the registration and every status change of TASK_ID (from the state database)."""
    store = _store(state_path, store_url=store_url)
    try:
        entries = store.history(task_id)
    finally:
        store.close()
    if not entries:
        click.echo(f"no history for {task_id}", err=True)
        sys.exit(1)
    for line in history_lines(entries):
        click.echo(line)


def history_lines(entries: list[dict[str, Any]]) -> list[str]:
    """One line per history entry (``time  old -> new  worker on host``), as ``history`` prints them."""
    lines = []
    for entry in entries:
        when = _dt.datetime.fromtimestamp(entry["time"], _dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        worker = entry.get("worker") or "-"
        host = f" on {entry['host']}" if entry.get("host") else ""
        lines.append(f"{when}Z  {entry.get('old_status') or '(new)':>13} -> {entry['new_status']:<13} {worker}{host}")
    return lines
