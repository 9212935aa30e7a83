"""Starting multiprocessing's fork server early, before the worker itself is even imported.

The fork server is a fresh interpreter that imports the task modules once; every child
process is forked from it (see :mod:`.pool`). Its start-up (an interpreter plus the task
modules and :mod:`xrsched.worker.runner`) takes a few tenths of a second. ``xrsched run``
calls :func:`start_early` right after reading its options, so that this happens on another
core while the parent imports the worker, loads the task module and walks the graph, instead
of after it. This module imports nothing of xrsched: it must be cheap to load.
"""

from __future__ import annotations

import logging
import multiprocessing

log = logging.getLogger("xrsched.worker")

#: What every child needs; the task modules come on top.
RUNNER = "xrsched.worker.runner"


def preload_list(modules: list[str], main: bool) -> list[str]:
    """The fork server's preload: the main script (with ``main``), the runner, the task modules."""
    return list(dict.fromkeys([*(["__main__"] if main else []), RUNNER, *modules]))


def start_early(modules: list[str], *, main: bool = False) -> bool:
    """Start the fork server now, preloading ``modules``; False where there is no fork server.

    Later children started with the ``forkserver`` context use this server; the pool's own
    preload call then changes nothing.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload_list(modules, main))
    try:
        forkserver.ensure_running()
    except OSError as exc:  # the pool will try again, and report, when it needs children
        log.debug("could not start the fork server early: %s", exc)
        return False
    return True
