"""requires()/input()/output() shapes and complete() for Task, ExternalTask and WrapperTask."""

from __future__ import annotations

from collections import namedtuple

import pytest

import xrsched.task as luigi


@pytest.fixture
def tasks(tmp_path):
    class Raw(luigi.ExternalTask):
        name = luigi.Parameter()

        def output(self):
            return luigi.LocalTarget(tmp_path / "raw" / self.name)

    class Clean(luigi.Task):
        name = luigi.Parameter()

        def requires(self):
            return Raw(self.name)

        def output(self):
            return {
                "data": luigi.LocalTarget(tmp_path / f"{self.name}.clean"),
                "log": luigi.LocalTarget(tmp_path / f"{self.name}.log"),
            }

        def run(self):
            with self.input().open() as src:
                text = src.read()
            for target in self.output().values():
                with target.open("w") as f:
                    f.write(text)

    class All(luigi.WrapperTask):
        def requires(self):
            yield Clean("a")
            yield Clean("b")

    return Raw, Clean, All


def test_flatten_walks_every_shape():
    Pair = namedtuple("Pair", "x y")
    assert luigi.flatten(None) == []
    assert luigi.flatten("abc") == ["abc"]
    assert luigi.flatten(7) == [7]
    assert luigi.flatten([1, (2, [3]), {"k": 4, "j": [5, None]}, Pair(6, 7)]) == [1, 2, 3, 4, 5, 6, 7]
    assert luigi.flatten(i for i in range(3)) == [0, 1, 2]


def test_flatten_iterates_old_style_sequences_and_keeps_targets_whole(tmp_path):
    class Sequence:
        """Iterable through __getitem__ alone (no __iter__)."""

        def __getitem__(self, index):
            if index < 2:
                return index * 10
            raise IndexError(index)

    target = luigi.LocalTarget(str(tmp_path / "out.txt"))
    assert luigi.flatten(target) == [target]
    assert luigi.flatten([Sequence(), None, target, [None]]) == [0, 10, target]
    assert luigi.flatten(Sequence()) == [0, 10]


def test_input_mirrors_the_shape_of_requires(tasks, tmp_path):
    Raw, Clean, _ = tasks
    Pair = namedtuple("Pair", "left right")

    class Join(luigi.Task):
        def requires(self):
            return {"one": Raw("1"), "many": [Raw("2"), (Raw("3"),)], "pair": Pair(Raw("4"), Clean("5"))}

    got = Join().input()
    assert got["one"].path == str(tmp_path / "raw" / "1")
    assert [t.path for t in got["many"][0:1]] == [str(tmp_path / "raw" / "2")]
    assert isinstance(got["many"][1], tuple)
    assert isinstance(got["pair"], Pair) and set(got["pair"].right) == {"data", "log"}
    assert len(Join().deps()) == 5


def test_generator_requires_and_single_task_requires(tasks):
    Raw, Clean, All = tasks
    assert All().deps() == [Clean("a"), Clean("b")]
    assert [set(paths) for paths in All().input()] == [{"data", "log"}, {"data", "log"}]
    assert Clean("a").deps() == [Raw("a")]
    assert luigi.Task().input() == []


def test_requires_must_return_tasks():
    class Wrong(luigi.Task):
        def requires(self):
            return [luigi.LocalTarget("x")]

    class Worse(luigi.Task):
        def requires(self):
            return 3

    with pytest.raises(TypeError, match="wrap it in an ExternalTask"):
        Wrong().deps()
    with pytest.raises(TypeError, match="not a Task"):
        Worse().deps()


def test_complete_means_every_output_exists(tasks, tmp_path):
    Raw, Clean, _ = tasks
    assert not Raw("a").complete()
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "a").write_text("A")
    assert Raw("a").complete()
    clean = Clean("a")
    assert not clean.complete()
    clean.run()
    assert clean.complete()
    (tmp_path / "a.log").unlink()
    assert not clean.complete()  # one of two outputs is not enough


def test_task_without_outputs_is_never_complete():
    assert not luigi.Task().complete()

    class Custom(luigi.Task):
        def complete(self):
            return True

    assert Custom().complete()


def test_wrapper_is_complete_when_its_requirements_are(tasks, tmp_path):
    _, Clean, All = tasks
    assert not All().complete()
    (tmp_path / "raw").mkdir()
    for name in "ab":
        (tmp_path / "raw" / name).write_text(name)
        Clean(name).run()
    assert All().complete()

    class Empty(luigi.WrapperTask):
        pass

    assert Empty().complete()


def test_external_tasks_are_not_runnable(tasks):
    Raw, Clean, All = tasks
    assert luigi.is_external(Raw("a"))
    assert Raw("a").scheduler_fields()["runnable"] is False
    assert not luigi.is_external(Clean("a"))
    assert not luigi.is_external(All())
