"""What a worker run achieved, task by task, and the exit status that sums it up.

Exit statuses (also in the package docstring and README):

====  ==========================================================================================
0     every task asked for is complete: run here, run by another worker, or already complete
1     something failed: a task failed (or was disabled after failing), so others did not run
2     nothing failed, but something could not be scheduled: missing external input, a
      ``complete()``/``requires()`` that raised, or work left that no worker could start
3     interrupted (SIGUSR1, SIGTERM, SIGINT) before everything was complete, or the scheduler
      was unreachable for too long (then always: it does not know every outcome)
====  ==========================================================================================
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NOT_SCHEDULED = 2
EXIT_INTERRUPTED = 3


class GraphIndex:
    """The ids this worker registered, their dependencies and how each looked when registered."""

    def __init__(self) -> None:
        self.roots: list[str] = []
        self.deps: dict[str, list[str]] = {}
        self.complete: set[str] = set()
        self.external: set[str] = set()
        self.errors: set[str] = set()
        self.order: list[str] = []

    def __contains__(self, task_id: object) -> bool:
        return task_id in self.deps or task_id in self.complete or task_id in self.external or task_id in self.errors

    def __len__(self) -> int:
        return len(self.order)

    def ingest(self, calls: Iterable[Mapping[str, Any]]) -> None:
        """Record registration ``add_task`` arguments (see :mod:`.registration`)."""
        for kwargs in calls:
            task_id = kwargs["task_id"]
            if task_id not in self:
                self.order.append(task_id)
            status = kwargs.get("status")
            if status == "DONE":
                self.complete.add(task_id)
            elif status == "UNKNOWN":
                self.errors.add(task_id)
            elif kwargs.get("runnable") is False:
                self.external.add(task_id)
            else:
                self.deps[task_id] = list(kwargs.get("deps") or [])

    def add_new_deps(self, task_id: str, new_deps: Iterable[str]) -> None:
        """Record dependencies a running task asked for (dynamic dependencies)."""
        known = self.deps.setdefault(task_id, [])
        known.extend(dep for dep in new_deps if dep not in known)

    def unresolved(self, outcomes: Mapping[str, str]) -> list[str]:
        """Runnable tasks neither complete at registration nor run to DONE here."""
        return [t for t in self.deps if outcomes.get(t) != "done"]


@dataclass
class RunSummary:
    """Task ids by what became of them in this run, and why the run ended early (if it did)."""

    worker_id: str = ""
    roots: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    already_complete: list[str] = field(default_factory=list)
    done_elsewhere: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    upstream_failed: list[str] = field(default_factory=list)
    upstream_disabled: list[str] = field(default_factory=list)
    missing_external: list[str] = field(default_factory=list)
    not_scheduled: list[str] = field(default_factory=list)
    left_pending: list[str] = field(default_factory=list)
    #: Why the run stopped before it was over: a signal name, "scheduler unreachable", or "".
    interrupted: str = ""
    #: The worker gave up on an unreachable scheduler: outcomes may not have reached it.
    lost_scheduler: bool = False

    @property
    def finished(self) -> set[str]:
        """Ids that are complete now, whoever made them so."""
        return {*self.done, *self.already_complete, *self.done_elsewhere}

    @property
    def exit_code(self) -> int:
        """0, 1, 2 or 3 as in the table of this module."""
        if self.lost_scheduler:
            return EXIT_INTERRUPTED
        if all(root in self.finished for root in self.roots):
            return EXIT_OK
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failed or self.disabled or self.upstream_failed or self.upstream_disabled:
            return EXIT_FAILED
        return EXIT_NOT_SCHEDULED

    @property
    def ok(self) -> bool:
        """Whether everything asked for is complete."""
        return self.exit_code == EXIT_OK

    def counts(self) -> dict[str, int]:
        """Number of tasks per outcome."""
        names = ("done", "already_complete", "done_elsewhere", "failed", "disabled", "upstream_failed",
                 "upstream_disabled", "missing_external", "not_scheduled", "left_pending")  # fmt: skip
        return {name: len(getattr(self, name)) for name in names}

    def render(self) -> str:
        """A short human summary, one line per non-empty outcome, ending with the verdict."""
        labels = {
            "done": "ran successfully",
            "already_complete": "were already complete",
            "done_elsewhere": "were completed by other workers",
            "failed": "failed",
            "disabled": "are disabled by the scheduler",
            "upstream_failed": "were not run: a dependency failed",
            "upstream_disabled": "were not run: a dependency is disabled",
            "missing_external": "are missing external inputs",
            "not_scheduled": "could not be scheduled (complete() or requires() raised)",
            "left_pending": "were left pending",
        }
        lines = [f"xrsched worker {self.worker_id}: summary"]
        for name, count in self.counts().items():
            if count:
                ids = getattr(self, name)
                shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
                lines.append(f"  {count} task(s) {labels[name]}: {shown}")
        verdicts = {
            EXIT_OK: "every task asked for is complete",
            EXIT_FAILED: "some tasks failed",
            EXIT_NOT_SCHEDULED: "some tasks could not be scheduled or are missing inputs",
            EXIT_INTERRUPTED: f"interrupted ({self.interrupted}) before everything was complete",
        }
        if self.lost_scheduler:
            verdicts[EXIT_INTERRUPTED] = "gave up on the unreachable scheduler; it may not know every outcome"
        lines.append(f"  result: {verdicts[self.exit_code]} (exit status {self.exit_code})")
        return "\n".join(lines)


def summarize(
    index: GraphIndex,
    outcomes: Mapping[str, str],
    statuses: Mapping[str, str],
    *,
    worker_id: str = "",
    interrupted: str = "",
) -> RunSummary:
    """Sort every registered task into one outcome.

    ``outcomes`` holds ``"done"``/``"failed"`` for tasks run here (the last run counts);
    ``statuses`` the scheduler's status of the other unresolved tasks. A task that is not
    complete is explained by the worst thing upstream of it: a failure, a disabled task, a
    missing input or a task that could not be scheduled.
    """
    summary = RunSummary(worker_id=worker_id, roots=list(index.roots), interrupted=interrupted)
    verdict: dict[str, str] = {}
    for task_id in index.order:
        own = _own_verdict(task_id, index, outcomes.get(task_id), statuses.get(task_id))
        if own is not None:
            verdict[task_id] = own
    for task_id in index.order:
        if task_id not in verdict:
            verdict[task_id] = _upstream_reason(task_id, index, verdict)
    for task_id in index.order:
        getattr(summary, verdict[task_id]).append(task_id)
    return summary


#: The outcome a task's status at the scheduler settles by itself.
_BY_STATUS = {"DONE": "done_elsewhere", "DISABLED": "disabled", "FAILED": "failed"}


def _own_verdict(task_id: str, index: GraphIndex, outcome: str | None, status: str | None) -> str | None:
    """The outcome a task has by itself; None when only what is upstream of it can explain it.
    ``outcome`` is its last run here (if any), ``status`` the scheduler's."""
    if outcome == "done":
        return "done"
    if task_id in index.complete:
        return "already_complete"
    if task_id in index.errors:
        return "not_scheduled"
    if task_id in index.external:
        return "done_elsewhere" if status == "DONE" else "missing_external"
    if outcome == "failed" and status != "DONE":
        return "failed"
    return _BY_STATUS.get(status or "")


_BECAUSE = {"failed": "upstream_failed", "disabled": "upstream_disabled", "not_scheduled": "not_scheduled",
            "missing_external": "missing_external", "upstream_failed": "upstream_failed",
            "upstream_disabled": "upstream_disabled"}  # fmt: skip


def _upstream_reason(task_id: str, index: GraphIndex, verdict: Mapping[str, str]) -> str:
    """The most severe settled outcome among the task's (transitive) dependencies."""
    worst: str | None = None
    seen = {task_id}
    queue = deque(index.deps.get(task_id, ()))
    while queue:
        dep = queue.popleft()
        if dep in seen:
            continue
        seen.add(dep)
        reason = _BECAUSE.get(verdict.get(dep, ""))
        if reason is not None:
            rank = _rank(reason)
            if worst is None or rank < _rank(worst):
                worst = reason
        queue.extend(index.deps.get(dep, ()))
    return worst or "left_pending"


def _rank(reason: str) -> int:
    order = ("upstream_failed", "upstream_disabled", "not_scheduled", "missing_external")
    return order.index(reason)
