"""A real PostgreSQL for the tests under tests/pg: one cluster per session, one database per test.

Skips (with the reason) only where no PostgreSQL binaries exist and CI is not set; under
``CI=true`` a missing PostgreSQL fails the tests instead (scripts/install-test-packages.sh
installs it).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from tests.pg.cluster import PASSWORD, PgCluster, find_binaries
from tests.pg.stores import close_opened

_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL server of its own, on a free port, for the whole session."""
    binaries = find_binaries()
    if binaries is None:
        reason = "no PostgreSQL binaries (initdb, pg_ctl): run scripts/install-test-packages.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = PgCluster(binaries)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store URL of a fresh, empty database; PGPASSWORD is set for this process."""
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    return pg_cluster.create_database(f"t{os.getpid()}_{next(_numbers)}")


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    """Close the stores the test opened with :func:`tests.pg.stores.open_store`."""
    yield
    close_opened()
