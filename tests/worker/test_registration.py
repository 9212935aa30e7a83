"""Registering a graph: few requests, the right statuses, complete() checked in threads when slow."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import xrsched.task as xt
from tests.worker.tasks import Input, Node, UsesInput
from xrsched.worker import CompletenessChecker, Worker, WorkerSettings, walk
from xrsched.worker.registrar import FIRST_CHUNK, rest_chunks


class SlowCheck(xt.Task):
    """complete() takes 20 ms, as a remote target might; records the threads it ran in."""

    n = xt.IntParameter()
    threads: set[str] = set()

    def complete(self):
        SlowCheck.threads.add(threading.current_thread().name)
        time.sleep(0.02)
        return False

    def requires(self):
        return [SlowCheck(n=k) for k in range(1, 41)] if self.n == 0 else []


def test_a_10000_task_graph_registers_in_a_few_multicalls(server, tmp_path):
    root = Node(root=str(tmp_path / "big"), i=0, size=10_000)
    client = server.client("w1")
    quiet = WorkerSettings(ping_interval=3600)  # count registration requests only, no heartbeats
    with client, Worker(client, processes=1, settings=quiet, handle_signals=False) as worker:
        before = client.stats.requests_sent
        started = time.monotonic()
        assert worker.add(root)
        elapsed = time.monotonic() - started
        sent = client.stats.requests_sent - before
    assert sent <= 25, f"{sent} requests for 10,000 tasks"
    assert elapsed < 60
    print(f"registered 10,000 tasks in {sent} requests, {elapsed:.2f}s")
    with server.client() as admin:
        assert admin.count_pending(worker=worker.worker_id)["n_pending_tasks"] == 10_000


def test_walk_registers_complete_external_and_runnable_tasks_deps_first(tmp_path):
    (tmp_path / "input.txt").write_text("here")
    found = walk([UsesInput(root=str(tmp_path)), Node(root=str(tmp_path), i=0, size=3)], CompletenessChecker(1))
    statuses = {call["task_id"]: (call["status"], call.get("runnable", True)) for call in found.calls}
    assert statuses[Input(root=str(tmp_path)).task_id] == ("DONE", False)
    assert statuses[UsesInput(root=str(tmp_path)).task_id] == ("PENDING", True)
    order = [call["task_id"] for call in found.calls]
    for call in found.calls:
        for dep in call.get("deps", []):
            assert order.index(dep) < order.index(call["task_id"])


def test_missing_external_input_is_registered_not_runnable(tmp_path):
    found = walk([UsesInput(root=str(tmp_path))], CompletenessChecker(1))
    external = next(c for c in found.calls if c["task_id"] == Input(root=str(tmp_path)).task_id)
    assert external["status"] == "PENDING" and external["runnable"] is False
    assert found.missing_external == {external["task_id"]}


def test_slow_complete_checks_move_to_threads():
    SlowCheck.threads.clear()
    checker = CompletenessChecker(8)
    started = time.monotonic()
    found = walk([SlowCheck(n=0)], checker)
    checker.close()
    assert len(found.calls) == 41
    assert time.monotonic() - started < 0.02 * 41 / 2  # clearly faster than one after the other
    assert any(name.startswith("xrsched-complete") for name in SlowCheck.threads)


def test_a_raising_complete_is_registered_unknown_and_reported():
    class Broken(xt.Task):
        def complete(self):
            raise OSError("the NFS server went away")

    found = walk([Broken()], CompletenessChecker(1))
    assert found.calls[0]["status"] == "UNKNOWN"
    assert "the NFS server went away" in found.errors[Broken().task_id]


def test_a_pipelined_add_asks_for_work_before_sending_the_rest(server, tmp_path):
    """The first get_work goes out right after the first chunk, ahead of the 500-call requests."""
    root = Node(root=str(tmp_path / "dag"), i=0, size=300)
    client = server.client("w1")
    quiet = WorkerSettings(ping_interval=3600)
    with client, Worker(client, processes=1, settings=quiet, handle_signals=False) as worker:
        assert worker.add(root, pipelined=True)
        summary = worker.run()
    assert summary.exit_code == 0, summary.render()
    audit = [json.loads(line) for line in (server.state / "audit.log").read_text().splitlines()]
    methods = [r["method"] for r in audit if r.get("identity") == "token:w1" and r["method"] != "system.multicall"]
    first_ask = methods.index("get_work")
    assert len(methods[:first_ask]) == FIRST_CHUNK, methods[: first_ask + 1]  # add_worker + the deepest tasks
    assert methods.count("add_task") >= 300  # every task registered (and then reported)


class GatedLeaf(xt.Task):
    """complete() of the leaves past the first 100 waits until the file ``root/gate`` exists (a
    file, so that child processes forked earlier see it too); after 10 s it fails the test, and
    every later check gives up at once (file ``root/gave-up``)."""

    i = xt.IntParameter()
    root = xt.StrParameter()

    def complete(self):
        gate, gave_up = Path(self.root) / "gate", Path(self.root) / "gave-up"
        deadline = time.monotonic() + 10
        while self.i >= 100 and not gate.exists():
            if gave_up.exists() or time.monotonic() > deadline:
                gave_up.touch()
                raise AssertionError("the test never opened the gate: add() walked the whole graph")
            time.sleep(0.01)
        return (Path(self.root) / f"{self.i}.done").exists()

    def run(self):
        (Path(self.root) / f"{self.i}.done").write_text("ok")


class WideFanIn(xt.WrapperTask):
    root = xt.StrParameter()
    leaves = xt.IntParameter()

    def requires(self):
        return [GatedLeaf(root=self.root, i=i) for i in range(self.leaves)]


def test_a_pipelined_add_sends_the_first_leaves_before_walking_the_whole_graph(server, tmp_path):
    """add() returns with the first leaves registered while most of the graph is still unchecked
    (their complete() is held back); the rest is walked and registered while the worker runs."""
    root = WideFanIn(root=str(tmp_path), leaves=1000)
    quiet = WorkerSettings(ping_interval=3600)
    with server.client("w1") as client, Worker(client, processes=2, settings=quiet, handle_signals=False) as worker:
        assert worker.add(root, pipelined=True)  # would wait 30 s and fail if it walked everything
        with server.client() as admin:
            first = admin.count_pending(worker=worker.worker_id)["n_pending_tasks"]
        assert first == FIRST_CHUNK - 1, first  # add_worker + 15 leaves, nothing else yet
        (tmp_path / "gate").touch()
        summary = worker.run()
    assert summary.exit_code == 0, summary.render()
    assert sorted(int(p.stem) for p in tmp_path.glob("*.done")) == list(range(1000))


def test_the_rest_of_a_pipelined_registration_starts_small_and_grows():
    sizes = rest_chunks(1984, 500)
    assert sizes == [50, 100, 200, 400, 500, 500, 234]
    assert sum(rest_chunks(10_000 - FIRST_CHUNK, 500)) == 10_000 - FIRST_CHUNK
    assert len(rest_chunks(10_000 - FIRST_CHUNK, 500)) <= 25  # still a few tens of requests
    assert rest_chunks(30, 500) == [30] and rest_chunks(0, 500) == []
    assert set(rest_chunks(100, 20)) == {20}  # never over batch_size


class Link(xt.Task):
    """Link ``i`` of a chain: needs link ``i - 1``."""

    root = xt.StrParameter()
    i = xt.IntParameter()

    def output(self):
        return xt.LocalTarget(str(Path(self.root) / f"{self.i}.done"), durable=False)

    def requires(self):
        return [Link(root=self.root, i=self.i - 1)] if self.i else []

    def run(self):
        with self.output().open("w") as handle:
            handle.write("ok")


def test_a_pipelined_chain_sends_its_first_links_before_recording_the_rest(server, tmp_path):
    """A chain is walked to its bottom before anything can run, but only the first chunk is
    registered (and recorded in the worker's index) before run() asks for work: the rest's calls
    are built, recorded and sent by the registrar thread afterwards."""
    root = Link(root=str(tmp_path), i=299)
    quiet = WorkerSettings(ping_interval=3600)
    with server.client("w1") as client, Worker(client, processes=2, settings=quiet, handle_signals=False) as worker:
        assert worker.add(root, pipelined=True)
        assert len(worker.index) == FIRST_CHUNK - 1  # add_worker + the 15 deepest links
        with server.client() as admin:
            assert admin.count_pending(worker=worker.worker_id)["n_pending_tasks"] == FIRST_CHUNK - 1
        summary = worker.run()
    assert summary.exit_code == 0, summary.render()
    assert len(worker.index) == 300 and root.task_id in worker.index
    assert sorted(int(p.stem) for p in tmp_path.glob("*.done")) == list(range(300))


class GatedLink(Link):
    """A chain link whose ``process_resources()`` (read when the link is described to the
    scheduler) waits, from link 15 up, for the file ``root/0.done`` that link 0 writes when it
    runs; after 30 s it raises, so a worker that reads every link's fields before running link 0
    fails instead of hanging."""

    def requires(self):
        return [GatedLink(root=self.root, i=self.i - 1)] if self.i else []

    def process_resources(self):
        deadline = time.monotonic() + 30
        while self.i >= FIRST_CHUNK - 1 and not (Path(self.root) / "0.done").exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"link {self.i} was described before link 0 ran")
            time.sleep(0.01)
        return {}


def test_a_pipelined_chain_runs_its_first_link_before_the_rest_is_described(server, tmp_path):
    """The walk of a chain reads no link's descriptive fields: the 15 links sent first are
    described then, the rest by the registrar thread after run() asked for work. Checked by
    order of events: the links above the first 15 cannot be described until link 0 has run."""
    root = GatedLink(root=str(tmp_path), i=99)
    quiet = WorkerSettings(ping_interval=3600)
    with server.client("w1") as client, Worker(client, processes=2, settings=quiet, handle_signals=False) as worker:
        assert worker.add(root, pipelined=True)
        assert not (tmp_path / "0.done").exists()
        summary = worker.run()
    assert summary.exit_code == 0, summary.render()
    assert sorted(int(p.stem) for p in tmp_path.glob("*.done")) == list(range(100))


class BadFieldsLink(Link):
    """A chain link whose ``process_resources()`` raises for link 50."""

    def requires(self):
        return [BadFieldsLink(root=self.root, i=self.i - 1)] if self.i else []

    def process_resources(self):
        if self.i == 50:
            raise ValueError("no resources for link 50")
        return {}


def test_a_chain_link_whose_fields_cannot_be_read_leaves_the_rest_unscheduled(server, tmp_path, caplog):
    """The rest of a pipelined chain is described by the registrar thread: a link whose fields
    raise stops the registration there (logged, exit status 2), as a failed request does; the
    links sent first still run and the worker ends instead of waiting."""
    root = BadFieldsLink(root=str(tmp_path), i=99)
    quiet = WorkerSettings(ping_interval=3600)
    with server.client("w1") as client, Worker(client, processes=2, settings=quiet, handle_signals=False) as worker:
        assert worker.add(root, pipelined=True)
        summary = worker.run()
    assert summary.exit_code == 2, summary.render()
    assert "no resources for link 50" in caplog.text
    assert sorted(int(p.stem) for p in tmp_path.glob("*.done")) == list(range(FIRST_CHUNK - 1))
