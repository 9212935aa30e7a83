"""A real pipeline run by a real worker, watched and handled from the dashboard."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.dashboard.livesite import DashServer, Page
from tests.dashboard.pipeline import XSS, Broken, Report, Step
from tests.waiting import join_all
from xrsched.client import RemoteScheduler
from xrsched.worker import Worker, WorkerSettings

FAST = WorkerSettings(ping_interval=0.2, wait_interval=0.2)


def task_route(task_id: str) -> str:
    return "#/task/" + quote(task_id, safe="")


@pytest.fixture(scope="module")
def pipeline(dash_server: DashServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``Report`` and its dependencies registered and run by a worker (3 processes) in a thread;
    the two ``Step`` tasks hold until the test creates ``root/go``."""
    root = tmp_path_factory.mktemp("pipeline")
    scheduler = RemoteScheduler(dash_server.base + "RPC2", token=dash_server.secrets["runner"], ca=dash_server.ca,
                                environ={}, retries=2)  # fmt: skip
    worker = Worker(scheduler, processes=3, settings=FAST, handle_signals=False)
    summaries: list = []

    def run() -> None:
        with worker:
            worker.add(Report(root=str(root)))
            summaries.append(worker.run())

    thread = threading.Thread(target=run, name="pipeline-worker", daemon=True)
    thread.start()
    yield root
    (root / "go").touch()
    join_all([thread], 60)
    scheduler.close()


def _statuses(page: Page) -> dict[str, str]:
    return page.js(
        "const out = {};"
        " for (const r of document.querySelectorAll('tr.task-row')) out[r.dataset.id] = r.dataset.status;"
        " return out;"
    )


def test_running_tasks_change_status_on_screen(page: Page, pipeline: Path) -> None:
    steps = [Step(root=str(pipeline), name=name).task_id for name in ("a", "b")]
    page.sign_in("ops")
    page.go("#/tasks?family=Step")
    page.wait(lambda: [_statuses(page).get(s) for s in steps] == ["RUNNING", "RUNNING"], "both steps RUNNING")
    assert "waiting for go" in page.text("tr.task-row td.message")
    (pipeline / "go").touch()
    page.wait(lambda: [_statuses(page).get(s) for s in steps] == ["DONE", "DONE"], "both steps DONE", timeout=30)
    page.go(task_route(steps[0]))
    page.wait(lambda: page.text("#task-status") == "DONE", "the step's page")
    link = page.find("#tracking-url")
    assert link.get_attribute("href") == "https://ci.example.invalid/job/1"
    assert set(link.get_attribute("rel").split()) >= {"noopener", "noreferrer"}
    history = page.text("ol.timeline")
    assert "RUNNING" in history and "DONE" in history
    dependents = [a.text for a in page.all("#task-dependents a")]
    assert dependents == [Report(root=str(pipeline)).task_id]


def test_a_failed_tasks_traceback_shows_as_text(page: Page, pipeline: Path) -> None:
    broken = Broken(root=str(pipeline)).task_id
    page.sign_in("ops")
    page.go(task_route(broken))
    page.wait(lambda: "ValueError" in page.text("#traceback"), "the traceback", timeout=30)
    traceback = page.text("#traceback")
    assert "Traceback (most recent call last)" in traceback
    assert "<script>document.title='pwned'</script> cannot load" in traceback
    params = page.js("return Array.from(document.querySelectorAll('#task-params tr'), (r) => r.textContent)")
    assert "label" + XSS in params  # the parameter, as text
    assert page.js("return document.querySelectorAll('main img, main script').length") == 0
    assert page.js("return document.title") == "xrsched"


def test_an_operator_re_enables_a_disabled_task(page: Page, pipeline: Path, dash_server: DashServer) -> None:
    broken = Broken(root=str(pipeline)).task_id
    page.sign_in("ops")
    page.go(task_route(broken))
    page.wait(lambda: page.text("#task-status") == "DISABLED", "the task DISABLED", timeout=30)
    button = page.find("#action-re-enable")
    assert button.is_displayed()
    button.click()
    page.wait(lambda: page.text("#task-status") not in ("", "DISABLED"), "the task re-enabled")
    assert dash_server.call("task_list", status="DISABLED").get(broken) is None
    records = [r for r in dash_server.audit_records() if r["method"] == "re_enable_task"]
    assert records[-1]["identity"] == "token:ops" and records[-1]["outcome"] == "ok"
    assert records[-1]["via"] == "dashboard"
