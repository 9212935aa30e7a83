"""Heartbeat messages reach the worker: the scheduler resizes its pool and talks to a running task."""

from __future__ import annotations

import threading
import time

from tests.waiting import wait_for
from tests.worker.tasks import Listener, Wide, runs
from xrsched.core import Scheduler
from xrsched.service import SchedulerService
from xrsched.worker import Worker, WorkerSettings

FAST = WorkerSettings(ping_interval=0.2, wait_interval=0.2)


def test_set_worker_processes_resizes_the_pool(tmp_path):
    service = SchedulerService(Scheduler())
    service.start()
    try:
        with Worker(service, processes=1, settings=FAST, handle_signals=False) as worker:
            worker.add(Wide(root=str(tmp_path), count=4, length=4, seconds=0.2))

            def resize() -> None:
                wait_for(lambda: runs(tmp_path), 30, "a first task")
                service.call("set_worker_processes", worker=worker.worker_id, n=3)

            threading.Thread(target=resize, daemon=True).start()
            summary = worker.run()
            assert worker.processes == 3
            info = next(w for w in service.call("worker_list") if w["name"] == worker.worker_id)
            assert info["workers"] == 3
        assert summary.ok and len(summary.done) == 17  # 16 Slow tasks and the Wide wrapper
    finally:
        service.close()


def test_a_scheduler_message_reaches_the_running_task_and_its_answer_comes_back(tmp_path):
    service = SchedulerService(Scheduler())
    service.start()
    answers: list[dict] = []
    try:
        with Worker(service, processes=1, settings=FAST, handle_signals=False) as worker:
            task = Listener(root=str(tmp_path))
            worker.add(task)

            def talk() -> None:
                wait_for(lambda: runs(tmp_path, "start"), 30, "the listener to start")
                sent = service.call("send_scheduler_message", worker=worker.worker_id, task=task.task_id, content="hi")
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    reply = service.call("get_scheduler_message_response", task_id=task.task_id,
                                         message_id=sent["message_id"])  # fmt: skip
                    if reply.get("response"):
                        answers.append(reply)
                        return
                    time.sleep(0.05)

            talker = threading.Thread(target=talk, daemon=True)
            talker.start()
            assert worker.run().ok
            talker.join(30)
        assert answers and answers[0]["response"] == "got hi"
        status = service.call("get_task_status_message", task_id=task.task_id)
        assert status["statusMessage"] == "waiting for a message"
    finally:
        service.close()
