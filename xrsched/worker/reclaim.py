"""Taking back the tasks a scheduler stopped holding for this worker.

A scheduler drops a worker that stays silent past its ``worker_disconnect_delay`` (a network
outage, a paused process, a scheduler restart that kept no record of it). The dropped worker's
pending tasks stay registered but are held for nobody: ``get_work`` hands them to no one, the
scheduler counts none of them as this worker's (``n_pending_tasks``), and a run would end with them
left pending. Luigi's worker ends that way.

An ``xrsched`` worker that is about to stop for lack of work first compares what it registered
with what the scheduler holds: tasks it has neither finished nor failed, that the scheduler shows
PENDING without this worker among their workers (or no longer knows), were lost in a drop. It walks
its graph again (their ``complete()`` is checked anew, as a fresh run would) and registers those
tasks again, once per drop: it tries again only after the scheduler has counted pending tasks of
its own since. Tasks met only as dynamic dependencies are not found by the walk and stay lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from xrsched.client.errors import ClientError
from xrsched.task import Task

from .link import Call
from .registration import Walker, registration_calls

if TYPE_CHECKING:
    from .link import SchedulerLink
    from .registration import CompletenessChecker
    from .summary import GraphIndex

log = logging.getLogger("xrsched.worker")


class ReclaimMixin:
    """Of :class:`~xrsched.worker.worker.Worker`: reading the scheduler's graph below the roots,
    and taking back tasks a drop lost (see the module's docstring)."""

    link: SchedulerLink
    worker_id: str
    index: GraphIndex
    outcomes: dict[str, str]
    _checker: CompletenessChecker
    #: The tasks given to ``add``, to walk again after a drop.
    _root_tasks: list[Task]
    #: Whether a drop may be looked for: once per drop (set again by a reply that counts pending tasks of ours).
    _reclaim_armed: bool
    _last_reply: dict[str, Any]
    _news: bool
    #: RegistrarMixin's: send registrations now; the number refused and the seconds taken.
    _send_first: Callable[[list[Call]], tuple[int, float]]

    def _root_graphs(self) -> Iterator[dict[str, Any]]:
        """The scheduler's ``dep_graph`` (done tasks included) below each root, one by one."""
        for root in self.index.roots:
            yield self.link.call("dep_graph", task_id=root, include_done=True) or {}

    def _reclaim(self) -> bool:
        """Before stopping for lack of work: register again the unfinished tasks the scheduler
        holds for nobody since it dropped this worker; whether any were."""
        if not self._reclaim_armed or not self._root_tasks or self._last_reply.get("n_pending_tasks", 0) > 0:
            return False
        self._reclaim_armed = False
        unfinished = [t for t in self.index.unresolved(self.outcomes) if t not in self.outcomes]
        if not unfinished:
            return False
        graph: dict[str, Any] = {}
        try:
            for part in self._root_graphs():
                graph.update(part)
            lost = lost_tasks(unfinished, graph, self.worker_id)
            if not lost:
                return False
            log.warning("the scheduler holds none of this worker's %d unfinished task(s) (it dropped this "
                        "worker while it was silent?): registering them again", len(lost))  # fmt: skip
            sent = self._register_again(lost)
        except ClientError as exc:
            log.warning("cannot register the unfinished tasks again: %s", exc)
            return False
        self._news = bool(sent)
        return bool(sent)

    def _register_again(self, lost: set[str]) -> int:
        """Walk the graph from its roots again and register the ``lost`` tasks; the number of
        ``add_task`` calls sent."""
        found = Walker(self._root_tasks, self._checker).finish()
        calls = calls_for(registration_calls(found, self.worker_id, set()), lost)
        sent = sum(method == "add_task" for method, _ in calls)
        if sent:
            self._send_first(calls)
        return sent


def lost_tasks(unfinished: Iterable[str], graph: Mapping[str, Mapping[str, Any]], worker_id: str) -> set[str]:
    """Of ``unfinished`` (registered here, not run to an end here), those the scheduler's
    ``graph`` (``dep_graph`` answers: id -> task info) shows PENDING without ``worker_id`` among
    its workers, or does not hold at all."""
    lost = set()
    for task_id in unfinished:
        info = graph.get(task_id)
        if info is None or (info.get("status") == "PENDING" and worker_id not in (info.get("workers") or ())):
            lost.add(task_id)
    return lost


def calls_for(calls: Iterable[Call], lost: set[str]) -> list[Call]:
    """The registration ``calls`` that concern ``lost`` tasks (batcher declarations are kept: a
    scheduler that restarted may have lost those too)."""
    return [(method, kwargs) for method, kwargs in calls if method != "add_task" or kwargs["task_id"] in lost]
