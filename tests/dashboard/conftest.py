"""Fixtures for the dashboard's browser tests: one Chromium and one server per test module.

The browser tests skip only where Chromium cannot be installed (no chromium/chromium-driver) and
the run is not CI; under CI (``CI=true``) a missing browser fails them, naming the install script.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.dashboard.browser import missing_browser, start_chromium
from tests.dashboard.livesite import DashServer, Page, dashboard_server


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """A headless Chromium (selenium + Debian's chromedriver) shared by one module's tests."""
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def dash_server(tmp_path_factory: pytest.TempPathFactory, dev_certs) -> Iterator[DashServer]:
    """A real scheduler with the dashboard and two resources; a FAILED task stays FAILED for the
    whole module (retry_delay 10 minutes), so what a test sees is what an action did."""
    config = {
        "scheduler": {"retry_delay": 600, "worker_disconnect_delay": 30},
        "resources": {"db": 4, "gpu": 1},
    }
    with dashboard_server(tmp_path_factory.mktemp("dash"), dev_certs, **config) as server:
        yield server


@pytest.fixture
def page(chromium, dash_server) -> Iterator[Page]:
    """The dashboard in the module's browser; its session cookie is dropped after each test."""
    page = Page(chromium, dash_server)
    yield page
    chromium.delete_all_cookies()
