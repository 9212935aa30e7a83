"""The pure scheduling core: Luigi's central-scheduler methods over incremental indexes.

Nothing here reads a clock, opens a file or a socket, or starts a thread: every public
method takes ``now`` (seconds since the epoch) as a keyword argument, so tests and the
service layer decide what time it is.
"""

from __future__ import annotations

from .control import Control

#: The XML-RPC methods the core implements, with Luigi's names and parameters.
PUBLIC_METHODS: tuple[str, ...] = (
    "add_task",
    "add_worker",
    "add_task_batcher",
    "announce_scheduling_failure",
    "get_work",
    "ping",
    "count_pending",
    "set_task_status_message",
    "get_task_status_message",
    "set_task_progress_percentage",
    "get_task_progress_percentage",
    "decrease_running_task_resources",
    "get_running_task_resources",
    "send_scheduler_message",
    "add_scheduler_message_response",
    "get_scheduler_message_response",
    "report_task_statistics",
    "task_list",
    "worker_list",
    "resource_list",
    "task_search",
    "graph",
    "dep_graph",
    "inverse_dep_graph",
    "fetch_error",
    "overview",
    "task_page",
    "task_info",
    "has_task_history",
    "is_pause_enabled",
    "is_paused",
    "pause",
    "unpause",
    "prune",
    "disable_worker",
    "set_worker_processes",
    "re_enable_task",
    "mark_as_done",
    "forgive_failures",
    "update_resources",
    "update_resource",
)


#: Public methods of xrsched's own (the dashboard's and the ops CLI's); Luigi has none of them.
XRSCHED_ONLY_METHODS: frozenset[str] = frozenset({"overview", "task_page", "task_info"})

#: The public methods that change nothing (listings, lookups, counters).
READ_ONLY_METHODS: frozenset[str] = frozenset(
    {
        "task_list",
        "worker_list",
        "resource_list",
        "task_search",
        "graph",
        "dep_graph",
        "inverse_dep_graph",
        "fetch_error",
        "overview",
        "task_page",
        "task_info",
        "has_task_history",
        "is_pause_enabled",
        "is_paused",
        "get_task_status_message",
        "get_task_progress_percentage",
        "get_running_task_resources",
        "count_pending",
    }
)

#: The public methods that may look up an unbounded number of tasks (listings, search, graphs,
#: the related tasks of a disabled worker). After a start from a snapshot, the service has the
#: tasks left cold (see :mod:`.coldtasks`) built before it runs one of these, a slice per hold
#: of its lock, rather than inside the call.
MANY_TASK_METHODS: frozenset[str] = frozenset(
    {"task_list", "task_search", "graph", "dep_graph", "inverse_dep_graph", "overview", "task_page", "disable_worker"}
)


class Scheduler(Control):
    """Luigi's central scheduler, rebuilt so that ``get_work``, ``add_task`` and ``ping`` never
    scan all tasks. Construct with a :class:`~xrsched.core.config.SchedulerConfig` and resource
    capacities; call methods with ``now=``."""
