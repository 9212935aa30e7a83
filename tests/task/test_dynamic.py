"""Dynamic dependencies: driving a run() generator, sending outputs back, closing it."""

from __future__ import annotations

import pytest

import xrsched.task as luigi


class Part(luigi.Task):
    task_namespace = "dyntest"
    root = luigi.Parameter()
    n = luigi.IntParameter()

    def output(self):
        return luigi.LocalTarget(f"{self.root}/part-{self.n}")

    def run(self):
        with self.output().open("w") as f:
            f.write(f"part {self.n}\n")


class Gather(luigi.Task):
    task_namespace = "dyntest"
    root = luigi.Parameter()
    events: list[str] = []

    def output(self):
        return luigi.LocalTarget(f"{self.root}/all")

    def run(self):
        self.events.append("start")
        try:
            first = yield Part(self.root, 0)
            self.events.append(f"got {type(first).__name__}")
            rest = yield {"one": Part(self.root, 1), "two": [Part(self.root, 2)]}
            self.events.append(f"got {sorted(rest)}")
            with self.output().open("w") as out:
                for target in (first, rest["one"], rest["two"][0]):
                    with target.open() as part:
                        out.write(part.read())
        finally:
            self.events.append("closed")


def _build(request):
    for task in request.tasks:
        task.run()


def test_plain_run_finishes_in_one_step(tmp_path):
    assert luigi.run_until_blocked(Part(str(tmp_path), 9)) is None
    assert (tmp_path / "part-9").read_text() == "part 9\n"


def test_luigi_style_restart_until_all_dependencies_exist(tmp_path):
    task = Gather(str(tmp_path))
    Gather.events = []
    request = luigi.run_until_blocked(task)
    assert request.tasks == (Part(str(tmp_path), 0),)
    assert request.task_ids == [Part(str(tmp_path), 0).task_id]
    assert request.describe() == [(__name__, "dyntest.Part", {"root": str(tmp_path), "n": "0"})]
    assert Gather.events == ["start", "closed"]  # the generator was closed, finally ran
    _build(request)

    request = luigi.run_until_blocked(task)
    assert set(request.tasks) == {Part(str(tmp_path), 1), Part(str(tmp_path), 2)}
    _build(request)

    assert luigi.run_until_blocked(task) is None
    assert (tmp_path / "all").read_text() == "part 0\npart 1\npart 2\n"
    assert task.complete()


def test_iter_run_resumes_in_place_and_sends_outputs_back(tmp_path):
    task = Gather(str(tmp_path))
    Gather.events = []
    requests = []
    for request in luigi.iter_run(task):
        requests.append(request)
        _build(request)
    assert len(requests) == 2
    assert Gather.events == ["start", "got LocalTarget", "got ['one', 'two']", "closed"]
    assert (tmp_path / "all").read_text() == "part 0\npart 1\npart 2\n"


def test_iter_run_repeats_a_request_until_it_is_complete(tmp_path):
    task = Gather(str(tmp_path))
    runner = luigi.iter_run(task)
    first = next(runner)
    assert next(runner) == first  # nothing was built in between
    runner.close()


def test_custom_completeness_check_is_used(tmp_path):
    checked = []

    def check(task):
        checked.append(task.n)
        return True

    class Lazy(luigi.Task):
        def run(self):
            parts = yield luigi.DynamicRequirements([Part(str(tmp_path), 5)])
            assert isinstance(parts, list)
            yield luigi.DynamicRequirements([Part(str(tmp_path), 6)], custom_complete=lambda fn: True)

    assert luigi.run_until_blocked(Lazy(), complete=check) is None
    assert checked == [5]


def test_yielding_something_other_than_tasks_fails(tmp_path):
    class Bad(luigi.Task):
        def run(self):
            yield luigi.LocalTarget(tmp_path / "x")

    with pytest.raises(TypeError, match="yield tasks"):
        luigi.run_until_blocked(Bad())


def test_exceptions_from_run_propagate(tmp_path):
    class Failing(luigi.Task):
        def run(self):
            nothing = yield []  # an empty request is complete at once
            assert nothing == []
            raise RuntimeError("broken")

    with pytest.raises(RuntimeError, match="broken"):
        luigi.run_until_blocked(Failing())


def test_external_tasks_cannot_be_run(tmp_path):
    class Outside(luigi.ExternalTask):
        pass

    with pytest.raises(TypeError, match="is external"):
        luigi.run_until_blocked(Outside())
