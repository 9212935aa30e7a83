"""Building tasks: positional and keyword arguments, errors, caching, and what the scheduler sees."""

from __future__ import annotations

import datetime as dt
import enum
import pickle

import pytest

import xrsched.task as luigi


class Mode(enum.Enum):
    FULL = 1
    DELTA = 2


class Load(luigi.Task):
    task_namespace = "tasktest"
    priority = 5
    resources = {"db": 1}
    retry_count = 2
    accepts_messages = True

    day = luigi.DateParameter()
    n = luigi.IntParameter(default=3)
    tags = luigi.ListParameter(default=())
    mode = luigi.EnumParameter(enum=Mode, default=Mode.FULL)
    dry = luigi.BoolParameter()
    note = luigi.Parameter(default="", significant=False)
    token = luigi.Parameter(default="t0", visibility=luigi.ParameterVisibility.PRIVATE)
    shard = luigi.IntParameter(default=0, visibility=luigi.ParameterVisibility.HIDDEN)
    late = luigi.IntParameter(default=0, positional=False)


DAY = dt.date(2024, 1, 31)


def test_positional_and_keyword_arguments_follow_declaration_order():
    task = Load(DAY, 4, ["a"], Mode.DELTA, True)
    assert (task.day, task.n, task.tags, task.mode, task.dry) == (DAY, 4, ("a",), Mode.DELTA, True)
    assert task == Load(day=DAY, n=4, tags=("a",), mode="DELTA", dry="true")
    assert task.param_kwargs["tags"] == ("a",)


def test_same_parameters_give_the_same_object():
    assert Load(DAY) is Load(day="2024-01-31", n=3)
    assert Load(DAY) is not Load(DAY, n=4)
    assert hash(Load(DAY)) == hash(Load(DAY).task_id)


def test_cache_can_be_disabled_and_cleared():
    first = Load(DAY, n=11)
    luigi.Register.disable_instance_cache()
    try:
        assert Load(DAY, n=11) is not first
        assert Load(DAY, n=11) == first
    finally:
        luigi.Register.clear_instance_cache()
    again = Load(DAY, n=11)
    assert again is Load(DAY, n=11)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((), {}, luigi.MissingParameter, r"tasktest\.Load is missing parameter\(s\): day"),
        ((DAY,), {"days": 1}, luigi.UnknownParameter, r"has no parameter 'days' \(it has: day, n,"),
        ((DAY,), {"day": DAY}, luigi.DuplicateParameter, r"parameter 'day' given twice"),
        ((DAY, 1, (), Mode.FULL, False, "", "t", 0, 9), {}, luigi.UnknownParameter, r"takes 8 positional"),
        ((DAY,), {"n": "three"}, luigi.BadParameterValue, r"tasktest\.Load\.n: invalid literal"),
        ((DAY,), {"mode": "PARTIAL"}, luigi.BadParameterValue, r"Load\.mode: 'PARTIAL' is not a member"),
    ],
)
def test_construction_errors_name_task_and_parameter(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        Load(*args, **kwargs)


def test_construction_errors_are_type_errors():
    with pytest.raises(TypeError):
        Load()
    with pytest.raises(TypeError):
        Load(DAY, bogus=1)
    with pytest.raises(ValueError):
        Load(DAY, n="x")


def test_from_str_params_reads_command_line_strings():
    task = Load.from_str_params(
        {"day": "2024-01-31", "n": "7", "tags": '["x", "y"]', "mode": "DELTA", "dry": "True", "late": "2"}
    )
    assert (task.day, task.n, task.tags, task.mode, task.dry, task.late) == (DAY, 7, ("x", "y"), Mode.DELTA, True, 2)
    assert Load.from_str_params(task.to_str_params()) == Load(DAY, 7, ("x", "y"), Mode.DELTA, True, late=2)


def test_from_str_params_errors():
    with pytest.raises(luigi.UnknownParameter, match="'nope'"):
        Load.from_str_params({"day": "2024-01-31", "nope": "1"})
    with pytest.raises(luigi.BadParameterValue, match=r"Load\.day: cannot read '2024-13-01'"):
        Load.from_str_params({"day": "2024-13-01"})
    with pytest.raises(luigi.BadParameterValue, match=r"Load\.shard: cannot read \(not shown\)"):
        Load.from_str_params({"day": "2024-01-31", "shard": "x"})
    with pytest.raises(luigi.MissingParameter):
        Load.from_str_params({})


def test_from_str_params_combines_batched_values():
    class Hourly(luigi.Task):
        hour = luigi.IntParameter(batch_method=max)
        region = luigi.Parameter()

    assert Hourly.batch_param_names() == ["hour"]
    assert Hourly.from_str_params({"hour": ["3", "9", "5"], "region": "eu"}).hour == 9
    assert Hourly(1, "eu").batchable
    assert not Load(DAY).batchable


def test_str_params_and_visibilities_for_the_scheduler():
    task = Load(DAY, note="why", token="secret", shard=2)
    params = task.to_str_params()
    assert "token" not in params
    assert params == {
        "day": "2024-01-31", "n": "3", "tags": "[]", "mode": "FULL", "dry": "False",
        "note": "why", "shard": "2", "late": "0",
    }  # fmt: skip
    assert task.to_str_params(only_significant=True, only_public=True).keys() == {
        "day",
        "n",
        "tags",
        "mode",
        "dry",
        "late",
    }
    assert task.param_visibilities() == {
        "day": 0, "n": 0, "tags": 0, "mode": 0, "dry": 0, "note": 0, "shard": 1, "late": 0,
    }  # fmt: skip
    assert "secret" not in repr(task) and "why" not in repr(task)
    assert repr(task) == "tasktest.Load(day=2024-01-31, n=3, tags=[], mode=FULL, dry=False, late=0)"


def test_scheduler_fields_describe_the_task():
    task = Load(DAY)
    fields = task.scheduler_fields()
    assert fields["task_id"] == task.task_id
    assert fields["family"] == "tasktest.Load"
    assert fields["module"] == __name__
    assert fields["priority"] == 5
    assert fields["resources"] == {"db": 1}
    assert fields["retry_policy_dict"] == {"retry_count": 2}
    assert fields["accepts_messages"] is True
    assert "runnable" not in fields  # True: the scheduler's default
    assert fields["param_visibilities"] == {"shard": 1, **{name: 0 for name in ("day", "n", "tags", "mode", "dry",
                                            "note", "late")}}  # fmt: skip
    assert fields["params"] == task.to_str_params()


class Plain(luigi.Task):
    x = luigi.IntParameter()


class Odd(luigi.ExternalTask):
    x = luigi.IntParameter()
    priority = -1
    batch_method = max
    y = luigi.IntParameter(default=0, batch_method=max)


@pytest.mark.parametrize("task", [Plain(1), Load(DAY), Odd(2)], ids=["defaults", "everything-set", "external"])
def test_fields_left_out_at_their_default_register_the_same_task(task):
    """scheduler_fields() leaves out arguments at the scheduler's default: registering what it
    gives and registering every argument spelled out leave the scheduler in the same state."""
    from xrsched.core import Scheduler

    fields = task.scheduler_fields()
    spelled = {"param_visibilities": task.param_visibilities(), "priority": task.priority,
               "resources": task.process_resources(), "retry_policy_dict": task.retry_policy_dict(),
               "accepts_messages": task.accepts_messages, "runnable": not isinstance(task, luigi.ExternalTask),
               **fields}  # fmt: skip
    if isinstance(task, Plain):
        assert set(fields) == {"task_id", "family", "module", "params", "batchable"}
    views = []
    for kwargs in (fields, spelled):
        core = Scheduler()
        core.add_task(worker="w", status="PENDING", now=100.0, **kwargs)
        core.add_task(worker="w", status="DONE", now=101.0, **kwargs)  # a report repeats them
        record = core.tasks[task.task_id]
        views.append(
            (record.status, record.resources, record.priority, record.retry_policy, record.accepts_messages,
             record.runnable, record.batchable, record.public_params(), record.family, record.module,
             core.task_list(status="DONE", now=102.0))
        )  # fmt: skip
    assert views[0] == views[1]


def test_parameters_are_inherited_overridden_and_shadowed():
    class Base(luigi.Task):
        a = luigi.IntParameter()
        b = luigi.IntParameter(default=1)

    class Child(Base):
        b = luigi.IntParameter(default=2)
        c = luigi.Parameter(default="c")

    class Shadow(Child):
        a = 5

    assert [name for name, _ in Child.get_params()] == ["a", "b", "c"]
    assert Child(0).b == 2
    assert [name for name, _ in Shadow.get_params()] == ["b", "c"]
    assert Shadow().a == 5
    assert Base.get_param_names() == ["a", "b"]


def test_parameter_added_after_class_creation_is_seen():
    class Late(luigi.Task):
        a = luigi.IntParameter(default=1)

    Late.b = luigi.IntParameter(default="2")
    assert Late().b == 2


def test_class_access_gives_the_parameter_and_instances_the_value():
    assert isinstance(Load.day, luigi.DateParameter)
    assert Load(DAY).day == DAY


def test_clone_copies_shared_parameters():
    class Other(luigi.Task):
        day = luigi.DateParameter()
        extra = luigi.IntParameter(default=0)

    task = Load(DAY, n=9)
    assert task.clone(n=10) == Load(DAY, n=10)
    assert task.clone(Other, extra=1) == Other(DAY, 1)


def test_task_class_lookup_by_family():
    assert luigi.task_class("tasktest.Load") is Load
    with pytest.raises(luigi.TaskClassException, match="no task class"):
        luigi.task_class("tasktest.Missing")


def test_ambiguous_family_is_reported():
    def make():
        class Twin(luigi.Task):
            task_namespace = "twins"

        return Twin

    def make_other():
        class Twin(luigi.Task):
            task_namespace = "twins"

        return Twin

    make(), make(), make_other()
    with pytest.raises(luigi.TaskClassException, match="ambiguous"):
        luigi.task_class("twins.Twin")


def test_reporter_receives_status_and_progress():
    seen = []

    class Recorder(luigi.Reporter):
        def status_message(self, message):
            seen.append(("status", message))

        def progress_percentage(self, percentage):
            seen.append(("progress", percentage))

        def tracking_url(self, url):
            seen.append(("url", url))

    class Chatty(luigi.Task):
        def run(self):
            self.set_status_message("halfway")
            self.set_progress_percentage(150)
            self.set_tracking_url("https://example.invalid/job/1")

    task = Chatty()
    task.run()  # no reporter: nothing happens, nothing fails
    task.attach_reporter(Recorder())
    task.run()
    task.attach_reporter(None)
    task.run()
    assert seen == [("status", "halfway"), ("progress", 100.0), ("url", "https://example.invalid/job/1")]


def test_tasks_pickle():
    task = Load(DAY, tags=["a"])
    copy = pickle.loads(pickle.dumps(task))
    assert copy == task and copy.task_id == task.task_id


def test_on_failure_explains_the_exception():
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        text = Load(DAY).on_failure(exc)
    assert text.startswith("Runtime error:\n") and "RuntimeError: boom" in text
