"""``promtool check metrics`` (Debian's ``prometheus`` package) accepts a real scrape.

promtool checks the exposition's syntax and Prometheus' naming conventions (``_total`` on
counters, base units, help text). Under CI (``CI=true``) a missing promtool fails the test:
scripts/install-test-packages.sh installs it. Elsewhere the test is skipped with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xmlrpc.client

import pytest

from tests.metrics.conftest import scrape

PROMTOOL = shutil.which("promtool") or ("/usr/bin/promtool" if os.path.exists("/usr/bin/promtool") else None)


def promtool() -> str:
    if PROMTOOL is not None:
        return PROMTOOL
    if os.environ.get("CI") == "true":
        pytest.fail("promtool is missing under CI: scripts/install-test-packages.sh installs Debian's prometheus")
    pytest.skip("promtool not installed (Debian package prometheus; scripts/install-test-packages.sh installs it)")


def test_promtool_accepts_a_real_scrape(live_server):
    tool = promtool()
    admin = live_server.proxy(live_server.admin)
    admin.add_task({"__starstar": True, "task_id": "A_1", "worker": "w", "family": "A"})
    admin.add_task(
        {"__starstar": True, "task_id": "B_1", "worker": "w", "family": "B", "retry_policy_dict": {"retry_count": 1}}
    )
    for task_id, status in (("A_1", "DONE"), ("B_1", "FAILED")):
        assert admin.get_work({"__starstar": True, "worker": "w"})["task_id"] == task_id
        admin.add_task({"__starstar": True, "task_id": task_id, "worker": "w", "status": status})
    with pytest.raises(xmlrpc.client.Fault):
        admin.made_up()
    assert scrape(live_server, "wrong").status == 401
    found = scrape(live_server, live_server.admin)
    assert found.status == 200
    assert found.value("luigi_task_disabled_total", family="B") == 1  # every kind of metric has samples

    result = subprocess.run([tool, "check", "metrics"], input=found.text, capture_output=True, text=True,
                            timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""  # no lint warning either


def test_promtool_is_a_real_check():
    """The check above can fail: promtool refuses a counter without ``_total`` and without help."""
    tool = promtool()
    result = subprocess.run([tool, "check", "metrics"], input="# TYPE bad counter\nbad 1\n", capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode != 0
    assert "_total" in result.stdout + result.stderr
