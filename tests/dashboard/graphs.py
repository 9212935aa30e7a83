"""Registering big dependency graphs quickly (``system.multicall`` batches of ``add_task``)."""

from __future__ import annotations

import xmlrpc.client

from tests.dashboard.livesite import DashServer

BATCH = 500


def add_tree(server: DashServer, prefix: str, size: int, *, families: int = 3, done_every: int = 0) -> str:
    """A graph of ``size`` tasks, node ``i`` depending on ``2i+1`` and ``2i+2`` and on ``i+1`` when
    ``i`` is a multiple of 7 (shared dependencies, several paths); returns the root's id. Family
    ``{prefix}{i % families}``; every ``done_every``-th task is DONE."""
    ids = [f"{prefix}{i % families}(i={i})" for i in range(size)]
    worker = f"{prefix}-loader"
    server.call("add_worker", worker=worker, info={"workers": 1})
    proxy = server.proxy()
    for start in range(0, size, BATCH):
        calls = xmlrpc.client.MultiCall(proxy)
        for i in range(start, min(size, start + BATCH)):
            deps = [ids[j] for j in (2 * i + 1, 2 * i + 2) if j < size]
            if i % 7 == 0 and i + 1 < size and ids[i + 1] not in deps:
                deps.append(ids[i + 1])
            status = "DONE" if done_every and i % done_every == done_every - 1 else "PENDING"
            calls.add_task({
                "task_id": ids[i], "status": status, "deps": deps, "family": f"{prefix}{i % families}",
                "params": {"i": str(i)}, "worker": worker, "__starstar": True,
            })  # fmt: skip
        for result in calls():
            assert result is not None
    return ids[0]
