"""Take the README's dashboard screenshots (docs/screenshots/*.png) in headless Chromium.

Starts a real scheduler with the dashboard on 127.0.0.1:0, registers a small ETL pipeline (some
tasks done, two running on two workers, one failed with a traceback, one disabled), signs in as
the admin and saves one PNG per page. Re-run after changing the pages:

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/
    .venv/bin/python scripts/screenshots.py --out DIR

Needs Debian's chromium and chromium-driver (scripts/install-test-packages.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import xmlrpc.client
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.dashboard.browser import missing_browser, start_chromium  # noqa: E402
from tests.dashboard.livesite import DashServer, Page, dashboard_server  # noqa: E402

DAYS = [f"2026-11-{day:02d}" for day in range(1, 31)]
TRACEBACK = """Traceback (most recent call last):
  File "/srv/etl/pipeline/extract.py", line 88, in run
    rows = self.fetch_partition(self.day)
  File "/srv/etl/pipeline/extract.py", line 54, in fetch_partition
    raise ConnectionError(f"warehouse refused the connection for {day}")
ConnectionError: warehouse refused the connection for 2026-11-27"""
SHOTS = {
    "overview": "#/",
    "tasks": "#/tasks?family=Clean",
    "task-traceback": "#/task/" + quote("Extract(day=2026-11-27)", safe=""),
    "graph": "#/graph/" + quote("Report(month=2026-11)", safe=""),
    "workers": "#/workers",
    "audit": "#/audit",
}


def populate(server: DashServer) -> None:
    """The demo pipeline: Report <- Aggregate <- Clean(day) <- Extract(day), run by two workers."""
    for worker, host in (("etl-1", "etl-host-1"), ("etl-2", "etl-host-2")):
        server.call("add_worker", "runner", worker=worker, info={"workers": 2, "host": host, "username": "etl"})

    def add(task_id: str, family: str, params: dict, worker: str = "etl-1", **extra: object) -> None:
        server.call("add_task", "runner", task_id=task_id, family=family, params=params, worker=worker,
                    module="pipeline", **extra)  # fmt: skip

    for index, day in enumerate(DAYS):
        done = index < 24
        add(f"Extract(day={day})", "Extract", {"day": day}, status="DONE" if done else "PENDING",
            resources={"warehouse": 1}, worker="etl-1" if done else "etl-2")  # fmt: skip
        add(f"Clean(day={day})", "Clean", {"day": day}, deps=[f"Extract(day={day})"],
            status="DONE" if index < 20 else "PENDING")  # fmt: skip
    add("Aggregate(month=2026-11)", "Aggregate", {"month": "2026-11"}, deps=[f"Clean(day={d})" for d in DAYS])
    add("Report(month=2026-11)", "Report", {"month": "2026-11", "format": "pdf"}, deps=["Aggregate(month=2026-11)"])
    add("Publish(month=2026-11)", "Publish", {"month": "2026-11"}, deps=["Report(month=2026-11)"], status="DISABLED")
    for worker in ("etl-1", "etl-2"):
        server.call("get_work", "runner", worker=worker, host=f"{worker}-host")
    failing = "Extract(day=2026-11-27)"
    add(failing, "Extract", {"day": "2026-11-27"}, status="FAILED", expl=TRACEBACK)
    running = sorted(task for task in server.call("task_list", status="RUNNING") if task.startswith("Extract"))
    server.call("set_task_status_message", "runner", task_id=running[0],
                status_message="fetched 1,204,331 of 2,000,000 rows")  # fmt: skip
    server.call("set_task_progress_percentage", "runner", task_id=running[0], progress_percentage=60)
    server.call("forgive_failures", "ops", task_id="Publish(month=2026-11)")
    with contextlib.suppress(xmlrpc.client.Fault):
        server.call("pause", "view")  # a viewer may not: the audit view shows the refusal


def take(server: DashServer, out: Path) -> list[Path]:
    """Sign in as the admin and save one screenshot per page."""
    driver = start_chromium(width=1280, height=1000)
    saved = []
    try:
        page = Page(driver, server)
        page.sign_in("admin")
        for name, route in SHOTS.items():
            page.go(route)
            path = out / f"{name}.png"
            driver.save_screenshot(str(path))
            saved.append(path)
    finally:
        driver.quit()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    args = parser.parse_args()
    reason = missing_browser()
    if reason is not None:
        print(reason, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    config = {"resources": {"warehouse": 4, "gpu": 1}}
    with (
        tempfile.TemporaryDirectory(prefix="xrs-shots-") as directory,
        dashboard_server(Path(directory), **config) as server,
    ):
        populate(server)
        for path in take(server, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
