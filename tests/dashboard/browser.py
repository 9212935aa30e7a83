"""Headless Chromium for the dashboard tests (and the benchmark and screenshot scripts).

Debian's ``chromium`` driven through its ``chromium-driver`` (``/usr/bin/chromedriver``) by
selenium: nothing is downloaded (selenium's driver manager is bypassed by naming both files).
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("XRSCHED_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("XRSCHED_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
MISSING = (
    "the dashboard's browser tests need Debian's chromium and chromium-driver "
    "({chromium}, {driver}): run scripts/install-test-packages.sh"
)
#: Explicit waits never take longer than this (seconds): a broken page fails fast.
WAIT = 15.0


def missing_browser() -> str | None:
    """Why the browser cannot run here (None when Chromium and its driver are installed)."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    return MISSING.format(chromium=CHROMIUM, driver=CHROMEDRIVER)


def start_chromium(width: int = 1300, height: int = 900):
    """A headless Chromium under selenium, with the flags this machine needs: no sandbox as
    root, no background networking (there is no internet), no GPU. The scheduler's certificate
    comes from a CA made at test time, which the browser does not know: it is accepted."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    flags = ["--headless=new", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-extensions", "--disable-sync", f"--window-size={width},{height}"]  # fmt: skip
    if os.geteuid() == 0:
        flags.append("--no-sandbox")
    for flag in flags:
        options.add_argument(flag)
    options.accept_insecure_certs = True
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    return driver
