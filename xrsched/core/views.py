"""The dashboard's read methods: ``overview``, ``task_page`` and ``task_info``.

Unlike Luigi's listings they never send every task: counts come from counters kept on each
edit, pages are cut from the per-status recency order (see :mod:`xrsched.core.listing`), and
one task's details come from its record and the reverse dependency index.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from itertools import islice
from typing import Any

from . import validate as v
from .errors import BadValue, NotFound, UnknownTask
from .listing import Listings, RecencyKey
from .model import Task
from .queries import Queries
from .states import ACTIVE_RUN_STATUSES, DISABLED, FAILED, TASK_STATUSES

#: Rows in one ``task_page`` unless the caller asks for another number.
DEFAULT_PAGE = 50
#: The most rows one ``task_page`` call returns.
MAX_PAGE = 500
#: The most dependency (or dependent) ids ``task_info`` lists; ``num_deps`` has the full count.
MAX_LINKS = 1000


def _drop_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _text_params(task: Task) -> dict[str, str]:
    return {name: value if isinstance(value, str) else str(value) for name, value in task.public_params().items()}


class Views(Queries):
    """Overview counters, filtered pages of tasks, and one task's details, for dashboards and the CLI."""

    def overview(self, *, now: float) -> dict[str, Any]:
        """Counts for a dashboard's front page: tasks by status and by family and status, active
        and disabled workers, whether work is paused, resources used against capacity.
        O(families + workers + resources), never O(tasks).

        Reply: ``{"tasks": {"total", "by_status": {STATUS: n} (every status, zeros
        included), "by_family": {family: {STATUS: n}} (non-zero counts only; tasks nobody has
        registered yet have the family "")}, "workers": {"active", "disabled"}, "paused",
        "resources": {name: {"used", "total"}}}``."""
        self.now = now
        self.run_deadlines()
        listing = self.listings()
        disabled = sum(1 for worker in self.workers.values() if worker.disabled)
        names = sorted({*self.resources, *(name for name, amount in self.used.items() if amount)})
        return {
            "tasks": {
                "total": len(self.tasks),
                "by_status": {status: len(self.by_status[status]) for status in TASK_STATUSES},
                "by_family": {family: dict(counts) for family, counts in listing.by_family.items()},
            },
            "workers": {"active": len(self.workers) - disabled, "disabled": disabled},
            "paused": self.paused,
            "resources": {
                name: {"used": self.used.get(name, 0), "total": self.resources.get(name, 1)} for name in names
            },
        }

    def task_page(
        self,
        status: str | None = None,
        family: str | None = None,
        search: str | None = None,
        offset: int = 0,
        limit: int = DEFAULT_PAGE,
        *,
        now: float,
    ) -> dict[str, Any]:
        """One page of tasks, newest ``last_updated`` first (ties by task id), filtered by status,
        family and search words (each must appear, case-insensitively, in the task id or display
        name, which holds the public parameter values). ``total`` counts every match; ``limit``
        is at most 500. Without search words the cost is that of the page plus what it skips
        (the offset; with a family, other families' tasks); with them, one pass per word over the
        tasks of that status.

        Reply: ``{"total", "offset", "limit", "tasks": [row, ...]}``, each row ``{"task_id",
        "family", "display_name", "params" (public ones, values as text), "status", "priority",
        "last_updated"}`` plus, when known, ``"worker_running"``, ``"time_running"``,
        ``"status_message"``, ``"progress_percentage"``."""
        status = v.status_filter("status", status)
        family = v.optional_text("family", family) or ""
        terms = [term.casefold() for term in (v.optional_text("search", search) or "").split()]
        offset = v.whole("offset", offset, minimum=0)
        limit = v.whole("limit", limit, minimum=0)
        if limit > MAX_PAGE:
            raise BadValue(f"limit: at most {MAX_PAGE} tasks per page, got {limit}")
        self.now = now
        self.run_deadlines()
        listing = self.listings()
        ordered = self._in_order(listing, status)
        if terms:
            matches = self._matches(listing, status, family, terms)
            total = len(matches)
            among = len(self.by_status[status]) if status else len(self.tasks)
            ids = self._cut(matches, ordered, among, offset, limit)
        elif family:
            total = self._count_of(listing, status, family)
            ids = self._skim(ordered, family, total, offset, limit)
        else:
            total = len(self.by_status[status]) if status else len(self.tasks)
            keys = listing.recent[status].iter_from(offset) if status else islice(ordered, offset, None)
            ids = [task_id for _, task_id in islice(keys, limit)]
        return {"total": total, "offset": offset, "limit": limit, "tasks": [self._row(self.tasks[i]) for i in ids]}

    @staticmethod
    def _in_order(listing: Listings, status: str) -> Iterator[RecencyKey]:
        if status:
            return iter(listing.recent[status])
        return heapq.merge(*(listing.recent[s] for s in TASK_STATUSES if len(listing.recent[s])))

    @staticmethod
    def _count_of(listing: Listings, status: str, family: str) -> int:
        counts = listing.by_family.get(family, {})
        return counts.get(status, 0) if status else sum(counts.values())

    def _skim(self, ordered: Iterator[RecencyKey], family: str, total: int, offset: int, limit: int) -> list[str]:
        """The ids of matches ``offset`` to ``offset + limit`` of one family; stops at the last one wanted."""
        wanted = min(total, offset + limit)
        tasks = self.tasks
        seen = 0
        ids: list[str] = []
        if wanted <= offset:
            return ids
        for _, task_id in ordered:
            if tasks[task_id].family != family:
                continue
            if seen >= offset:
                ids.append(task_id)
            seen += 1
            if seen >= wanted:
                break
        return ids

    def _matches(self, listing: Listings, status: str, family: str, terms: list[str]) -> list[str]:
        """The ids of the tasks with that status and family whose text holds every term (unordered).

        Filter by filter over the candidates, so each term costs one C-speed pass over the
        survivors of the previous one."""
        tasks = self.tasks
        candidates: list[str] = list(self.by_status[status] if status else tasks)
        if family:
            candidates = [i for i in candidates if tasks[i].family == family]
        texts = listing.search_texts(candidates, tasks)
        for term in terms:
            candidates = [i for i in candidates if term in texts[i]]
        return candidates

    def _cut(self, matches: list[str], ordered: Iterator[RecencyKey], among: int, offset: int, limit: int) -> list[str]:
        """Matches ``offset`` to ``offset + limit`` in listing order: a walk of the order when the
        matches are dense (it stops at the last one wanted), a partial sort when they are few."""
        wanted = min(len(matches), offset + limit)
        if wanted <= offset:
            return []
        if len(matches) * 8 >= among:
            chosen = set(matches)
            ids = []
            for _, task_id in ordered:
                if task_id in chosen:
                    ids.append(task_id)
                    if len(ids) >= wanted:
                        break
            return ids[offset:]
        tasks = self.tasks
        return heapq.nsmallest(wanted, matches, key=lambda i: (-tasks[i].updated, i))[offset:]

    @staticmethod
    def _row(task: Task) -> dict[str, Any]:
        return _drop_none(
            {
                "task_id": task.id,
                "family": task.family,
                "display_name": task.pretty_id(),
                "params": _text_params(task),
                "status": task.status,
                "priority": task.priority,
                "worker_running": task.worker_running,
                "time_running": task.time_running,
                "last_updated": task.updated,
                "status_message": task.status_message,
                "progress_percentage": task.progress_percentage,
            }
        )

    def task_info(self, task_id: str, *, now: float) -> dict[str, Any]:
        """Everything known about one task: parameters, status, workers, times, status message,
        progress, tracking URL, last error, dependencies and dependents (at most 1000 of each;
        ``num_deps``/``num_dependents`` count them all), when a failure is retried and when a
        scheduler-imposed disable lapses. ``history`` is the recorded transitions (empty without
        a store). O(1 + dependencies + dependents).

        Reply: ``{"task_id", "family", "display_name", "params", "status", "priority",
        "workers", "resources", "time_added", "last_updated", "deps", "num_deps",
        "dependents", "num_dependents", "history"}`` plus, when known, ``"module"``,
        ``"worker_running"``, ``"resources_running"``, ``"time_running"``,
        ``"status_message"``, ``"progress_percentage"``, ``"tracking_url"``, ``"error"``
        (the last traceback), ``"retry_at"`` (FAILED) and ``"disabled_until"`` (DISABLED by
        the scheduler). An unknown id is fault 404 ``no such task: <id>``."""
        self.now = now
        self.run_deadlines()
        try:
            task = self.known_task(task_id)
        except UnknownTask:
            raise NotFound(f"no such task: {task_id}") from None
        dependents = sorted(self.dependents(task.id))
        retry_at = task.retry if task.status == FAILED else None
        since = task.scheduler_disable_time
        disabled_until = since + self.config.disable_persist if task.status == DISABLED and since is not None else None
        running = task.status in ACTIVE_RUN_STATUSES
        return _drop_none(
            {
                "task_id": task.id,
                "family": task.family,
                "module": task.module,
                "display_name": task.pretty_id(),
                "params": _text_params(task),
                "status": task.status,
                "priority": task.priority,
                "worker_running": task.worker_running,
                "workers": list(task.workers),
                "resources": dict(task.resources),
                "resources_running": dict(task.resources_running) if running and task.resources_running else None,
                "time_added": task.time,
                "last_updated": task.updated,
                "time_running": task.time_running,
                "status_message": task.status_message,
                "progress_percentage": task.progress_percentage,
                "tracking_url": task.tracking_url,
                "error": task.expl or None,
                "deps": sorted(task.deps)[:MAX_LINKS],
                "num_deps": len(task.deps),
                "dependents": dependents[:MAX_LINKS],
                "num_dependents": len(dependents),
                "history": [],
                "retry_at": retry_at,
                "disabled_until": disabled_until,
            }
        )
