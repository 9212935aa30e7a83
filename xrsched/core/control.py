"""Operator controls, task annotations, scheduler messages, pause and resources."""

from __future__ import annotations

import uuid
from typing import Any

from . import validate as v
from .errors import BadValue
from .states import DISABLED, DONE, FAILED, PENDING, RUNNING
from .views import Views


class Control(Views):
    """Methods that operators and running tasks use besides registration and ``get_work``."""

    # ----------------------------------------------------------- task status

    def mark_as_done(self, task_id: str, *, now: float) -> dict[str, Any]:
        """Declare a RUNNING, FAILED or DISABLED task DONE (an operator's override). O(1 + dependents)."""
        task = self.known_task(task_id)
        self.now = now
        if task.status in (RUNNING, FAILED, DISABLED):
            self.set_status(task, DONE)
        return {"task_id": task.id, "status": task.status}

    def forgive_failures(self, task_id: str, *, now: float) -> dict[str, Any]:
        """Put a FAILED task back to PENDING now instead of after ``retry_delay``. O(1)."""
        task = self.known_task(task_id)
        self.now = now
        if task.status == FAILED:
            self.set_status(task, PENDING)
        return {"task_id": task.id, "status": task.status}

    def re_enable_task(self, task_id: str, *, now: float) -> dict[str, Any]:
        """Lift a scheduler-imposed disable; returns the task, or ``{}`` if it was not so disabled."""
        task = self.known_task(task_id)
        self.now = now
        if task.status == DISABLED and task.scheduler_disable_time is not None:
            self.re_enable(task)
            return self.serialize_task(task)
        return {}

    def prune(self, *, now: float) -> None:
        """Apply every timed rule that is due (silent workers, retries, removals, re-enables).

        Incremental: O(k log n) for k due events.
        """
        self.now = now
        self.run_deadlines()

    # ------------------------------------------------------------ annotations

    def set_task_status_message(self, task_id: str, status_message: str, *, now: float) -> None:
        """Attach a human-readable status line to a task (and its batch). O(batch)."""
        task = self.known_task(task_id)
        task.status_message = v.optional_text("status_message", status_message)
        self.mark_task(task)
        self._annotate_batch(task, "status_message", task.status_message)

    def get_task_status_message(self, task_id: str, *, now: float) -> dict[str, Any]:
        """The task's status line. O(1)."""
        task = self.tasks.get(v.identifier("task_id", task_id))
        return {"taskId": task_id, "statusMessage": task.status_message if task else ""}

    def set_task_progress_percentage(self, task_id: str, progress_percentage: float, *, now: float) -> None:
        """Record how far a running task has got, 0 to 100. O(batch)."""
        task = self.known_task(task_id)
        value = v.number("progress_percentage", progress_percentage, minimum=0)
        if value > 100:
            raise BadValue(f"progress_percentage: must be at most 100, got {value!r}")
        task.progress_percentage = value
        self.mark_task(task)
        self._annotate_batch(task, "progress_percentage", value)

    def get_task_progress_percentage(self, task_id: str, *, now: float) -> dict[str, Any]:
        """The task's progress. O(1)."""
        task = self.tasks.get(v.identifier("task_id", task_id))
        return {"taskId": task_id, "progressPercentage": task.progress_percentage if task else None}

    def _annotate_batch(self, task: Any, attribute: str, value: Any) -> None:
        if task.status == RUNNING and task.batch_id is not None:
            for member_id in self.batches.get(task.batch_id, ()):
                member = self.tasks[member_id]
                setattr(member, attribute, value)
                self.mark_task(member)

    def decrease_running_task_resources(self, task_id: str, decrease_resources: dict[str, int], *, now: float) -> None:
        """Give back part of the resources a RUNNING task holds (and its batch's). O(resources)."""
        task = self.known_task(task_id)
        decrease = v.resources("decrease_resources", decrease_resources)
        if task.status != RUNNING:
            return
        targets = [task]
        if task.batch_id is not None:
            targets += [self.tasks[m] for m in self.batches.get(task.batch_id, ())]
        for target in targets:
            with self.edit(target):
                held = target.resources_running
                if held is None:
                    continue
                for name, amount in decrease.items():
                    if amount > 0 and name in held:
                        held[name] = max(0, held[name] - amount)

    def get_running_task_resources(self, task_id: str, *, now: float) -> dict[str, Any]:
        """The resources a task holds while it runs. O(1)."""
        task = self.tasks.get(v.identifier("task_id", task_id))
        return {"taskId": task_id, "resources": task.resources_running if task else None}

    def report_task_statistics(self, task_id: str, statistics: dict[str, Any], *, now: float) -> None:
        """Accept task statistics (Luigi feeds them to a metrics collector; none is attached here)."""
        self.known_task(task_id)
        v.mapping("statistics", statistics)

    # --------------------------------------------------------------- messages

    def send_scheduler_message(self, worker: str, task: str, content: str, *, now: float) -> dict[str, Any]:
        """Queue a message for a task running on ``worker``; delivered by the worker's next ``ping``."""
        record = self.known_worker(worker)
        task_id = v.identifier("task", task)
        text = v.optional_text("content", content) or ""
        if not self.config.send_messages:
            return {"message_id": None}
        message_id = str(uuid.uuid4())
        self.mark_worker(record)
        record.rpc_messages.append(
            {
                "name": "dispatch_scheduler_message",
                "kwargs": {"task_id": task_id, "message_id": message_id, "content": text},
            }
        )
        return {"message_id": message_id}

    def add_scheduler_message_response(self, task_id: str, message_id: str, response: str, *, now: float) -> None:
        """Store a task's answer to a scheduler message. O(1)."""
        task = self.known_task(task_id)
        key = v.identifier("message_id", message_id)
        if task.message_responses is None:
            task.message_responses = {}
        task.message_responses[key] = response
        self.mark_task(task)

    def get_scheduler_message_response(self, task_id: str, message_id: str, *, now: float) -> dict[str, Any]:
        """Take (and forget) the answer to a message; ``response`` is absent until there is one."""
        task = self.tasks.get(v.identifier("task_id", task_id))
        key = v.identifier("message_id", message_id)
        response = None
        if task is not None and task.message_responses:
            response = task.message_responses.pop(key, None)
            self.mark_task(task)
        return {"response": response}

    # ------------------------------------------------------------ pause, etc.

    def has_task_history(self, *, now: float) -> bool:
        """Whether task history is recorded."""
        return self.config.record_task_history

    def is_pause_enabled(self, *, now: float) -> dict[str, bool]:
        """Whether ``pause`` is allowed by configuration."""
        return {"enabled": self.config.pause_enabled}

    def is_paused(self, *, now: float) -> dict[str, bool]:
        """Whether ``get_work`` currently hands out nothing."""
        return {"paused": self.paused}

    def pause(self, *, now: float) -> None:
        """Stop handing out work (running tasks go on). A no-op when pausing is disabled."""
        if self.config.pause_enabled:
            self.paused = True
            self.mark_meta()

    def unpause(self, *, now: float) -> None:
        """Resume handing out work."""
        if self.config.pause_enabled:
            self.paused = False
            self.mark_meta()

    def update_resources(self, *, now: float, **resources: Any) -> None:
        """Set the capacity of several resources at once (keyword arguments: name=amount)."""
        checked = v.resources("resources", resources)
        self.resources.update(checked)
        self.mark_meta()

    def update_resource(self, resource: str, amount: int, *, now: float) -> bool:
        """Set the capacity of one resource; False (Luigi's answer) if ``amount`` is not a
        non-negative integer."""
        name = v.identifier("resource", resource)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            return False
        self.resources[name] = amount
        self.mark_meta()
        return True
