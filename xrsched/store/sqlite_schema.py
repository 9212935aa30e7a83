"""Opening an SQLite state file: whose it is, whether it is whole, and bringing its schema up
to date (a new file gets the current schema at once, an older one each migration in turn).

:class:`SQLiteSchema` is a mixin of :class:`~xrsched.store.sqlite.SQLiteStore`; the structure
check can run in a thread of its own (:class:`BackgroundCheck`) while the records are loaded.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from .base import StoreCorrupt, StoreError, StoreTooNew
from .migrations import CURRENT_SCHEMA, MIGRATIONS, SCHEMA_VERSION
from .records import RecordError

log = logging.getLogger("xrsched.store")

#: Identifies our databases (``PRAGMA application_id``): "xrsc".
APPLICATION_ID = 0x78727363


class SQLiteSchema:
    """Mixin of :class:`~xrsched.store.sqlite.SQLiteStore`: checks a file's identity and
    structure, and creates or migrates its schema."""

    db: sqlite3.Connection
    path: Path
    created: bool
    _check: BackgroundCheck | None

    def _unreadable(self, exc: sqlite3.DatabaseError) -> StoreCorrupt:
        return StoreCorrupt(
            f"{self.path} is not a readable xrsched state database ({exc}). Restore it from a backup "
            f"with 'xrsched state import', or move it away to start with an empty scheduler."
        )

    def _check_identity(self, existed: bool) -> None:
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        version = self._schema_version()
        if existed and app_id not in (0, APPLICATION_ID):
            raise StoreCorrupt(f"{self.path} is an SQLite database of another program (application_id {app_id:#x})")
        if existed and app_id == 0 and version == 0:
            tables = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise StoreCorrupt(f"{self.path} is an SQLite database but not an xrsched state file")
        if version > SCHEMA_VERSION:
            raise StoreTooNew(
                f"{self.path} has schema version {version}, newer than this xrsched understands "
                f"({SCHEMA_VERSION}). Upgrade xrsched, or export with the newer version and import here."
            )

    def _check_checked_version(self) -> None:
        """A writer process's open: the server made the file current before starting it."""
        if self._schema_version() != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {self._schema_version()}, not {SCHEMA_VERSION}")

    def _schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _check_structure(self, problems: list[tuple[Any, ...]]) -> None:
        """Raise StoreCorrupt if ``PRAGMA quick_check`` found anything."""
        if problems and problems[0][0] != "ok":
            detail = "; ".join(str(row[0]) for row in problems[:3])
            raise StoreCorrupt(
                f"{self.path} is damaged ({detail}). Restore it from a backup with 'xrsched state import', "
                f"or move it away to start with an empty scheduler."
            )

    def verify(self) -> None:
        """Wait for the structure check started in the background, if any; StoreCorrupt if it
        found damage. Call before serving anything read from the file (later calls return at once)."""
        check, self._check = self._check, None
        if check is not None:
            try:
                problems = check.problems()
            except sqlite3.DatabaseError as exc:
                raise self._unreadable(exc) from None
            self._check_structure(problems)

    def _migrate(self) -> None:
        version = self._schema_version()
        if version == 0:
            self._create_schema()
            return
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for step in MIGRATIONS[target]:
                    if isinstance(step, str):
                        self.db.execute(step)
                    else:
                        step(self.db)
                self.db.execute(f"PRAGMA user_version={target}")
                self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self.db.execute("COMMIT")
            except BaseException as exc:
                self.db.execute("ROLLBACK")
                if isinstance(exc, RecordError):
                    raise StoreCorrupt(
                        f"{self.path} cannot be brought to schema version {target}: {exc}. Restore a backup "
                        f"with 'xrsched state import', or move the file away to start empty."
                    ) from None
                raise
            log.info("state database %s migrated to schema version %d", self.path, target)

    def _create_schema(self) -> None:
        """A brand-new file gets the current schema in one transaction, not every migration in turn."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for statement in CURRENT_SCHEMA:
                self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.created = True
        log.debug("state database %s created with schema version %d", self.path, SCHEMA_VERSION)


class BackgroundCheck:
    """``PRAGMA quick_check`` of a state file on a connection of its own, in a daemon thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._result: list[tuple[Any, ...]] = []
        self._error: sqlite3.Error | None = None
        self._thread = threading.Thread(target=self._run, name="xrsched-store-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
            try:
                db.execute("PRAGMA busy_timeout=5000")
                self._result = db.execute("PRAGMA quick_check").fetchall()
            finally:
                db.close()
        except sqlite3.Error as exc:  # a file damaged enough stops the check itself
            self._error = exc

    def finish(self) -> None:
        """Wait until the check has finished."""
        self._thread.join()

    def problems(self) -> list[tuple[Any, ...]]:
        """What the check reported (``[("ok",)]`` when nothing is wrong), once it has finished;
        the SQLite error that stopped it, if one did."""
        self.finish()
        if self._error is not None:
            raise self._error
        return self._result
