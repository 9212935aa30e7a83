"""Luigi's own worker and unmodified Luigi tasks, scheduled by a real xrsched server."""

from __future__ import annotations

import collections
import subprocess
import sys

from tests.worker.conftest import ROOT
from tests.worker.tasks import runs


def _build(server, root, workers, *extra):
    args = [str(root), server.url, str(server.cert), str(workers), *extra]
    return subprocess.run(
        [sys.executable, "-m", "tests.worker.luigi_tasks", *args],
        cwd=ROOT, env=server.worker_env("w1"), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_luigi_build_runs_a_graph_through_xrsched(server, tmp_path):
    from tests.worker.luigi_tasks import Leaf, Sum

    result = _build(server, tmp_path, 3)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = collections.Counter(task_id for task_id, _, _ in runs(tmp_path))
    assert len(counts) == 7 and max(counts.values()) == 1
    assert (tmp_path / "luigi" / "sum.txt").read_text() == str(sum(range(6)))
    total = Sum(root=str(tmp_path)).task_id
    with server.client() as admin:
        graph = admin.dep_graph(task_id=total)
        workers = admin.worker_list()
        message = admin.get_task_status_message(task_id=Leaf(root=str(tmp_path), n=2).task_id)
    assert {info["status"] for info in graph.values()} == {"DONE"} and len(graph) == 7
    assert any(str(w["name"]).startswith("Worker(") for w in workers)  # Luigi's own worker id
    assert message["statusMessage"] == "leaf 2"

    again = _build(server, tmp_path, 1)  # everything is complete now: nothing runs again
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(runs(tmp_path)) == 7


def test_a_failing_luigi_task_reports_its_traceback(server, tmp_path):
    from tests.worker.luigi_tasks import Broken

    result = _build(server, tmp_path, 2, "with-broken")
    assert result.returncode == 1, result.stdout + result.stderr
    with server.client() as admin:
        error = admin.fetch_error(task_id=Broken(root=str(tmp_path)).task_id)["error"]
    assert "luigi task broke on purpose" in error
