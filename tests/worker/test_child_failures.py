"""A task whose child process dies or outlives its ``worker_timeout`` fails, and the failure
report still carries the task's own scheduler fields (retry policy, resources)."""

from __future__ import annotations

import logging
import os
import re

import pytest

from tests.worker.tasks import Dies, DiesUnreadable, Hangs, runs
from xrsched.core import Scheduler
from xrsched.service import SchedulerService
from xrsched.worker import Worker, WorkerSettings

FAST = WorkerSettings(ping_interval=0.2, wait_interval=0.2)


@pytest.mark.parametrize(
    ("task_class", "explanation"),
    [(Dies, "child process running the task died (exit status 3)"), (Hangs, "killed: timed out after ")],
)
def test_a_lost_child_fails_its_task_under_the_tasks_own_retry_policy(tmp_path, task_class, explanation):
    service = SchedulerService(Scheduler())
    service.start()
    try:
        task = task_class(root=str(tmp_path))
        with Worker(service, processes=1, settings=FAST, handle_signals=False) as worker:
            assert worker.add(task)
            summary = worker.run()
        assert not summary.ok
        assert [task_id for task_id, _, _ in runs(tmp_path, "start")] == [task.task_id]
        # retry_count = 1 (the task's own, not the scheduler's default): one failure disables it;
        # a report without the task's fields would have reset its resources to none.
        disabled = service.call("task_list", status="DISABLED")
        assert list(disabled) == [task.task_id]
        assert disabled[task.task_id]["resources"] == task.process_resources()
        error = service.call("fetch_error", task_id=task.task_id)["error"]
        assert explanation in error
        if task_class is Hangs:  # killed when its 0.5 s are up, not at the worker's next 1 s wake-up
            assert float(re.search(r"after ([0-9.]+)s", error).group(1)) < 0.95, error
    finally:
        service.close()


def test_an_error_rebuilding_a_lost_childs_report_is_logged_and_the_failure_still_reported(tmp_path, caplog):
    service = SchedulerService(Scheduler())
    service.start()
    try:
        task = DiesUnreadable(root=str(tmp_path))
        with Worker(service, processes=1, settings=FAST, handle_signals=False) as worker:
            assert worker.add(task)
            DiesUnreadable.unreadable_in = os.getpid()
            with caplog.at_level(logging.WARNING, logger="xrsched.worker"):
                summary = worker.run()
        assert not summary.ok
        error = service.call("fetch_error", task_id=task.task_id)["error"]
        assert "child process running the task died (exit status 3)" in error
        [record] = [r for r in caplog.records if "cannot rebuild the task" in r.getMessage()]
        assert record.getMessage().startswith(task.task_id)
        assert record.exc_info is not None and "process_resources is broken here" in str(record.exc_info[1])
    finally:
        DiesUnreadable.unreadable_in = None
        service.close()
