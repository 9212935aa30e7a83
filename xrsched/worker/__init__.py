"""The xrsched worker: registers a task graph with the scheduler and runs the tasks it is handed.

::

    from xrsched.client import RemoteScheduler
    from xrsched.worker import Worker

    scheduler = RemoteScheduler("https://sched:8082", ca="ca.pem")   # token from XRSCHED_TOKEN
    with Worker(scheduler, processes=4) as worker:
        worker.add(Load(date=date(2026, 11, 22)))
        summary = worker.run()
    sys.exit(summary.exit_code)

How it works:

* ``add`` walks the graph breadth-first, checks ``complete()`` (in threads once the checks
  prove slow) and registers every task in ``system.multicall`` requests of up to
  ``batch_size`` calls: a 10,000-task graph takes about 20 requests, not 10,000.
* ``run`` asks for as many tasks as it has idle child processes, reporting finished tasks in
  the same request. Each task runs in a long-lived child process (forked from a multiprocessing
  fork server by default: no inherited threads, locks or sockets, and the start-up cost is paid
  once per worker, not per task; see :mod:`.pool`), which rebuilds it from family, module and
  parameters, runs it, checks its outputs and reports DONE or FAILED with the traceback
  (``fetch_error`` shows it). A ``run()`` that yields incomplete tasks has them registered and
  goes back to PENDING; it runs again once they are done.
* Batchable families (parameters with a ``batch_method``) are declared with
  ``add_task_batcher``; a batch handed out runs as one combined task whose outcome every member
  gets (see :mod:`.batches`).
* A heartbeat thread pings; ``set_worker_processes`` resizes the pool, scheduler messages go to
  the running task's ``scheduler_messages`` queue (tasks with ``accepts_messages = True``).
* ``SIGUSR1`` (and ``SIGTERM``/``SIGINT``) stop it taking work; running tasks finish, then it exits.

Exit statuses (``RunSummary.exit_code``, and ``xrsched run``'s status):

====  ==========================================================================================
0     every task asked for is complete: run here, run by another worker, or already complete
1     something failed: a task failed (or was disabled after failing), so others did not run
2     nothing failed, but something could not be scheduled: missing external input, a
      ``complete()``/``requires()`` that raised, or work left that no worker could start
      (``xrsched run`` also exits 2 when the scheduler refuses the worker: token, role, TLS)
3     interrupted (SIGUSR1, SIGTERM, SIGINT) before everything was complete, or the scheduler
      unreachable for ``unreachable_timeout`` (then always: it may not know every outcome)
====  ==========================================================================================
"""

from __future__ import annotations

from xrsched.lazyexports import lazy_exports

#: Public name -> submodule. Imported on first use, so a child process that only needs
#: :mod:`.runner` does not pay for the client, the pool and the rest (it starts faster).
_EXPORTS: dict[str, str] = {
    "EXIT_FAILED": "summary",
    "EXIT_INTERRUPTED": "summary",
    "EXIT_NOT_SCHEDULED": "summary",
    "EXIT_OK": "summary",
    "CompletenessChecker": "registration",
    "GraphIndex": "summary",
    "GraphWalk": "registration",
    "LocalLink": "link",
    "RunSummary": "summary",
    "SchedulerLink": "link",
    "SchedulerMessage": "runner",
    "Worker": "worker",
    "WorkerSettings": "settings",
    "WorkerSettingsError": "settings",
    "as_link": "link",
    "build_worker_settings": "settings",
    "load_task": "runner",
    "new_worker_id": "worker",
    "walk": "registration",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
