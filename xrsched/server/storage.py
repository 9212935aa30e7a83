"""The server's store: which engine the settings name, the HA coordinator that leads a shared
PostgreSQL one (election, fencing, takeover), and the state recovered into the core at start."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from xrsched.core import Scheduler
from xrsched.service import SchedulerService
from xrsched.settings import ServerSettings
from xrsched.store import SQLiteStore, StateStore, load_into
from xrsched.store.pgurl import is_postgres_url, parse_store_url

if TYPE_CHECKING:
    from xrsched.server.ha import HaCoordinator

# PostgreSQL's modules (psycopg and its own copy of libssl) are imported only by a server whose
# --store names PostgreSQL: the others start faster and smaller without them.

#: The state database's file name inside the state directory.
DATABASE_NAME = "state.sqlite3"


def open_store(settings: ServerSettings, state_dir: Path) -> StateStore | None:
    """The store ``--store`` names: PostgreSQL for a URL, SQLite in ``state_dir``, or none (``memory``)."""
    if is_postgres_url(settings.store):
        from xrsched.store.postgres import PostgresStore

        return PostgresStore(
            parse_store_url(settings.store),
            history_days=settings.history_days,
            stall_timeout=settings.takeover_delay,
        )
    if settings.store != "sqlite":
        return None
    return SQLiteStore(
        state_dir / DATABASE_NAME,
        sync=settings.sync,
        history_days=settings.history_days,
        check_in_background=True,  # verified in recover(), while the records load
        snapshot_on_close=True,  # the next start reads it instead of every row
        writer_process=True,  # SQLite's work and its wake-ups off the server's GIL (issue 19)
    )


def ha_coordinator(
    settings: ServerSettings,
    store: StateStore | None,
    say: Callable[[str], None],
    make_service: Callable[[Scheduler, StateStore | None], SchedulerService],
) -> HaCoordinator | None:
    """With a PostgreSQL store, what joins the leader election; None with any other store."""
    if store is None or not is_postgres_url(settings.store):
        return None
    from xrsched.server.ha import HaCoordinator
    from xrsched.server.leadership import Leadership
    from xrsched.store.postgres import PostgresStore

    if not isinstance(store, PostgresStore):  # open_store made it from the same setting
        return None
    leadership = Leadership(settings.advertise_url or "")
    return HaCoordinator(settings, store, leadership, say, make_service=make_service)


def recover(
    settings: ServerSettings, store: StateStore | None, say: Callable[[str], None], *, standby: bool
) -> Scheduler:
    """The scheduling core, with the stored state loaded into it; says one line about it.

    A ``standby`` (an HA server before it leads) starts empty: it loads the state once elected.
    """
    config = settings.scheduler
    if store is None or standby:
        return Scheduler(config, settings.resources)
    core = Scheduler(replace(config, record_task_history=True), settings.resources)
    if store.created:
        say(f"created state database {store.path}")
        return core
    started = time.monotonic()
    try:
        counts = load_into(store, core, time.time())
    finally:
        if isinstance(store, SQLiteStore):
            store.verify()  # its verdict on a damaged file is the clearer error
    from_snapshot = f" (from its snapshot; {counts['cold']} DONE tasks built on first use)" if "cold" in counts else ""
    say(
        f"recovered {counts['tasks']} tasks and {counts['workers']} workers from "
        f"{store.path} in {time.monotonic() - started:.1f}s{from_snapshot}"
    )
    return core
