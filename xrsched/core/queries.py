"""Read-only views: task and worker listings, graphs, search, errors, resources.

Listings are inherently proportional to what they return; they are capped by
``max_shown_tasks`` and ``max_graph_nodes`` as in Luigi.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any

from . import validate as v
from .assignment import Assignment
from .errors import BadValue
from .model import Task
from .states import DISABLED, DONE, PENDING, RUNNING, STATUS_TO_UPSTREAM, UNKNOWN, UPSTREAM_RANK

_FAMILY_RE = re.compile(r"([^(_]+)[(_]")
_SEQ = attrgetter("seq")


def _oldest_first(tasks: list[Task]) -> list[Task]:
    """``tasks`` by creation (``seq``): the order of the records of a scheduler that never
    restarted (a linear check then), and the same answer after any restore, whatever order it
    put the records in (the rows by id; a snapshot's DONE tasks as they were built). A search's
    cap and a graph's walks depend on it."""
    tasks.sort(key=_SEQ)
    return tasks


class Queries(Assignment):
    """``task_list``, ``worker_list``, ``resource_list``, ``task_search``, graphs and ``fetch_error``."""

    def serialize_task(self, task: Task, *, include_deps: bool = True, deps: Iterable[str] | None = None) -> dict:
        """A task as Luigi's listings show it (None members are dropped on the wire)."""
        out: dict[str, Any] = {
            "display_name": task.pretty_id(),
            "status": task.status,
            "workers": list(task.workers),
            "worker_running": task.worker_running,
            "time_running": task.time_running,
            "start_time": task.time,
            "last_updated": task.updated,
            "params": task.public_params(),
            "name": task.family,
            "priority": task.priority,
            "resources": task.resources,
            "resources_running": task.resources_running,
            "tracking_url": task.tracking_url,
            "status_message": task.status_message,
            "progress_percentage": task.progress_percentage,
        }
        if task.status == DISABLED:
            out["re_enable_able"] = task.scheduler_disable_time is not None
        if include_deps:
            out["deps"] = sorted(task.deps if deps is None else deps)
        if self.config.send_messages and task.status == RUNNING:
            out["accepts_messages"] = task.accepts_messages
        return out

    def upstream_status(self, task: Task, memo: dict[str, str]) -> str:
        """The most severe condition among the not-DONE dependencies of a PENDING task.

        Iterative depth-first walk with a memo shared across one listing; a dependency cycle
        contributes nothing beyond what its members already show.
        """
        if task.id in memo:
            return memo[task.id]
        stack: list[tuple[Task, bool]] = [(task, False)]
        while stack:
            node, expanded = stack.pop()
            if node.status != PENDING or not node.deps:
                memo[node.id] = STATUS_TO_UPSTREAM.get(node.status, "") if node.status != DONE else ""
                continue
            if expanded:
                worst = ""
                for dep_id in node.deps:
                    dep = self.tasks.get(dep_id)
                    if dep is None or dep.status == DONE:
                        continue
                    found = memo.get(dep_id, "")
                    if UPSTREAM_RANK[found] > UPSTREAM_RANK[worst]:
                        worst = found
                memo[node.id] = worst
                continue
            if node.id in memo:
                continue
            memo[node.id] = ""  # provisional: breaks cycles
            stack.append((node, True))
            for dep_id in node.deps:
                dep = self.tasks.get(dep_id)
                if dep is not None and dep.id not in memo:
                    stack.append((dep, False))
        return memo[task.id]

    def task_list(
        self,
        status: str = "",
        upstream_status: str = "",
        limit: bool = True,
        search: str | None = None,
        max_shown_tasks: int | None = None,
        *,
        now: float,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Tasks by status (and upstream status / search terms), or ``{"num_tasks": n}`` when more
        than ``max_shown_tasks`` would be listed. The count check is O(1); the listing is
        O(tasks with that status).

        As in Luigi, a listing over the cap with an ``upstream_status`` answers
        ``{"num_tasks": -1}`` before that value is looked at; an unknown value is refused
        only when the tasks would be listed."""
        status = v.status_filter("status", status)
        upstream_status = v.optional_text("upstream_status", upstream_status) or ""
        search = v.optional_text("search", search)
        cap = (
            self.config.max_shown_tasks
            if not max_shown_tasks
            else v.whole("max_shown_tasks", max_shown_tasks, minimum=1)
        )
        self.now = now
        self.run_deadlines()
        if not search:
            count = len(self.by_status[status]) if status else len(self.tasks)
            if limit and count > cap:
                return {"num_tasks": -1 if upstream_status else count}
        if upstream_status and upstream_status not in UPSTREAM_RANK:
            raise BadValue(f"upstream_status: unknown value {upstream_status!r}")
        terms = [term.casefold() for term in search.split()] if search else []
        ids = self.by_status[status] if status else self.tasks.keys()
        memo: dict[str, str] = {}
        result: dict[str, Any] = {}
        for task_id in ids:
            task = self.tasks[task_id]
            if terms:
                shown = task.pretty_id().casefold()
                if not all(term in shown for term in terms):
                    continue
            if task.status == PENDING and upstream_status and self.upstream_status(task, memo) != upstream_status:
                continue
            result[task_id] = self.serialize_task(task, include_deps=False)
        if limit and len(result) > cap:
            return {"num_tasks": len(result)}
        return result

    def worker_list(self, include_running: bool = True, *, now: float, **kwargs: Any) -> list[dict[str, Any]]:
        """Live workers, newest first, with their running tasks and pending counts. O(workers + running)."""
        self.now = now
        self.run_deadlines()
        out = []
        for record in sorted(self.workers.values(), key=lambda w: w.started, reverse=True):
            first = record.info.get("first_task", "")
            first_task = self.tasks.get(first) if isinstance(first, str) else None
            # The worker's own info first: it must not override the scheduler's facts.
            entry: dict[str, Any] = dict(record.info)
            entry.update(
                {
                    "name": record.id,
                    "last_active": record.last_active,
                    "started": record.started,
                    "state": record.state,
                    "first_task_display_name": first_task.pretty_id() if first_task else first,
                    "num_unread_rpc_messages": len(record.rpc_messages),
                }
            )
            if include_running:
                running = {}
                for task_id in self.running_by_worker.get(record.id, ()):
                    task = self.tasks[task_id]
                    if task.status == RUNNING:
                        running[task_id] = self.serialize_task(task, include_deps=False)
                entry["num_running"] = len(running)
                entry["num_pending"] = record.n_pend_all
                entry["num_uniques"] = record.n_uniq_all
                entry["running"] = running
            out.append(entry)
        return out

    def resource_list(self, *, now: float, **kwargs: Any) -> list[dict[str, Any]]:
        """Configured resources with their capacity, use and consumers. O(resources + running)."""
        self.now = now
        self.run_deadlines()
        consumers: dict[str, dict[str, Any]] = {}
        for task_id in self.by_status[RUNNING]:
            task = self.tasks[task_id]
            for name in task.resources:
                consumers.setdefault(name, {})[task_id] = self.serialize_task(task, include_deps=False)
        return [
            {
                "name": name,
                "num_total": total,
                "num_used": self.used.get(name, 0),
                "num_consumer": len(consumers.get(name, {})),
                "running": consumers.get(name, {}),
            }
            for name, total in sorted(self.resources.items())
        ]

    def task_search(self, task_str: str, *, now: float, **kwargs: Any) -> dict[str, dict[str, Any]]:
        """Tasks whose id contains ``task_str``, grouped by status. O(all tasks): a search."""
        needle = v.optional_text("task_str", task_str) or ""
        self.now = now
        self.run_deadlines()
        result: dict[str, dict[str, Any]] = {}
        found = [task for task_id, task in self.tasks.items() if needle in task_id]
        for task in _oldest_first(found)[: self.config.max_shown_tasks]:
            result.setdefault(task.status, {})[task.id] = self.serialize_task(task, include_deps=False)
        return result

    def fetch_error(self, task_id: str, *, now: float, **kwargs: Any) -> dict[str, Any]:
        """The last error a task reported, with its identity. O(1)."""
        task_id = v.identifier("task_id", task_id)
        task = self.tasks.get(task_id)
        if task is None:
            return {"taskId": task_id, "error": ""}
        return {
            "taskId": task_id,
            "error": task.expl,
            "displayName": task.pretty_id(),
            "taskParams": task.params,
            "taskModule": task.module,
            "taskFamily": task.family,
        }

    def graph(self, *, now: float, **kwargs: Any) -> dict[str, Any]:
        """Every task with its dependencies, up to ``max_graph_nodes`` per connected walk."""
        self.now = now
        self.run_deadlines()
        seen: set[str] = set()
        out: dict[str, Any] = {}
        for task in _oldest_first(list(self.tasks.values())):
            if task.id not in seen:
                out.update(self._walk(task.id, seen, lambda t: t.deps, include_done=True))
        return out

    def dep_graph(self, task_id: str, include_done: bool = True, *, now: float, **kwargs: Any) -> dict[str, Any]:
        """The dependencies of ``task_id``, breadth first, up to ``max_graph_nodes``."""
        task_id = v.identifier("task_id", task_id)
        self.now = now
        self.run_deadlines()
        if task_id not in self.tasks:
            return {}
        return self._walk(task_id, set(), lambda t: t.deps, include_done=bool(include_done))

    def inverse_dep_graph(
        self, task_id: str, include_done: bool = True, *, now: float, **kwargs: Any
    ) -> dict[str, Any]:
        """The tasks that depend on ``task_id``, breadth first, from the reverse index."""
        task_id = v.identifier("task_id", task_id)
        self.now = now
        self.run_deadlines()
        if task_id not in self.tasks:
            return {}
        return self._walk(task_id, set(), lambda t: self.dependents(t.id), include_done=bool(include_done))

    def _walk(
        self, root: str, seen: set[str], edges: Callable[[Task], Iterable[str]], *, include_done: bool
    ) -> dict[str, Any]:
        seen.add(root)
        out: dict[str, Any] = {}
        queue = deque([root])
        limit = self.config.max_graph_nodes
        while queue:
            task_id = queue.popleft()
            task = self.tasks.get(task_id)
            if task is None or not task.family:
                match = _FAMILY_RE.match(task_id)
                out[task_id] = {
                    "deps": [],
                    "status": task.status if task is not None else UNKNOWN,
                    "workers": [],
                    "start_time": UNKNOWN,
                    "params": {"task_id": task_id},
                    "name": match.group(1) if match else UNKNOWN,
                    "display_name": task_id,
                    "priority": 0,
                }
            else:
                neighbours = sorted(edges(task))
                if not include_done:
                    neighbours = [d for d in neighbours if not self.is_done(d)]
                out[task_id] = self.serialize_task(task, deps=neighbours)
                for dep in neighbours:
                    if dep not in seen:
                        seen.add(dep)
                        queue.append(dep)
            if task_id != root:
                del out[task_id]["display_name"]
            if len(out) >= limit:
                break
        return out
