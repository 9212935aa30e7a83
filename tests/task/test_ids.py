"""Task ids: Luigi's algorithm, stable across processes, hash seeds and namespaces."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import xrsched.task as luigi
from xrsched.task.ids import params_fingerprint, params_summary, task_id_str

ROOT = Path(__file__).resolve().parents[2]


class Mode(enum.Enum):
    FAST = 1
    SLOW = 2


class Plain(luigi.Task):
    pass


class Mixed(luigi.Task):
    task_namespace = "etl"
    day = luigi.DateParameter()
    n = luigi.IntParameter(default=3)
    ratio = luigi.FloatParameter(default=0.5)
    flag = luigi.BoolParameter()
    tags = luigi.ListParameter(default=())
    mode = luigi.EnumParameter(enum=Mode, default=Mode.FAST)
    name = luigi.Parameter(default="hello world/x")
    secret = luigi.Parameter(default="s", visibility=luigi.ParameterVisibility.PRIVATE)
    hidden = luigi.Parameter(default="h", visibility=luigi.ParameterVisibility.HIDDEN)
    loose = luigi.IntParameter(default=1, significant=False)


class Times(luigi.Task):
    hour = luigi.DateHourParameter()
    minute = luigi.DateMinuteParameter()
    second = luigi.DateSecondParameter()
    month = luigi.MonthParameter()
    year = luigi.YearParameter()
    span = luigi.TimeDeltaParameter()
    opts = luigi.DictParameter()


def test_ids_equal_the_ones_luigi_3_8_computes():
    # Golden values printed by luigi 3.8.1 for the same class definitions.
    moment = dt.datetime(2024, 3, 4, 5, 6, 7)
    assert Plain().task_id == "Plain__99914b932b"
    assert Mixed(dt.date(2024, 1, 31)).task_id == "etl.Mixed_2024_01_31_False_FAST_44ac1d10eb"
    slow = Mixed(dt.date(2024, 1, 31), n=7, flag=True, tags=[1, "a", [2]], mode=Mode.SLOW, ratio=2.0)
    assert slow.task_id == "etl.Mixed_2024_01_31_True_SLOW_e03207e7c7"
    times = Times(
        moment, moment, moment, dt.date(2024, 3, 1), dt.date(2024, 1, 1), dt.timedelta(9, 3725), {"a": 1, "b": [1, 2]}
    )
    assert times.task_id == "Times_2024_03_04T05_2024_03_04T0506_2024_03_0c236673b5"


def test_insignificant_hidden_and_private_params_do_not_change_the_id():
    base = Mixed(dt.date(2024, 1, 31))
    assert Mixed(dt.date(2024, 1, 31), loose=9, secret="x", hidden="y").task_id == base.task_id
    assert Mixed(dt.date(2024, 1, 31), n=4).task_id != base.task_id


def test_summary_is_truncated_and_made_safe():
    params = {"b": "x" * 40, "a": "hello world/é", "c": "3", "d": "ignored"}
    assert params_summary(params) == "hello_world__" + "_" + "x" * 16 + "_3"
    assert task_id_str("F", params).startswith("F_hello_world___")
    assert len(task_id_str("F", params).rsplit("_", 1)[1]) == 10


def test_family_includes_the_namespace():
    assert Mixed.task_family == "etl.Mixed"
    assert Mixed.get_task_family() == "etl.Mixed"
    assert Mixed(dt.date(2024, 1, 1)).task_family == "etl.Mixed"

    class Child(Mixed):
        pass

    class Renamed(Mixed):
        task_namespace = "other.deep"

    class NoNamespace(Mixed):
        task_namespace = ""

    assert Child.task_family == "etl.Child"
    assert Renamed.task_family == "other.deep.Renamed"
    assert NoNamespace.task_family == "NoNamespace"


def test_namespace_function_applies_to_later_classes_in_its_scope():
    luigi.namespace("scoped", scope=__name__)
    try:

        class Inside(luigi.Task):
            pass

        class Explicit(luigi.Task):
            task_namespace = "mine"

    finally:
        luigi.namespace(scope=__name__)

    class After(luigi.Task):
        pass

    assert Inside.task_family == "scoped.Inside"
    assert Explicit.task_family == "mine.Explicit"
    assert After.task_family == "After"


def test_auto_namespace_uses_the_module_name():
    luigi.auto_namespace(scope=__name__)
    try:

        class Auto(luigi.Task):
            pass

    finally:
        luigi.namespace(scope=__name__)
    assert Auto.task_family == f"{__name__}.Auto"


SCRIPT = textwrap.dedent(
    """
    import datetime, sys
    import xrsched.task as luigi

    class Report(luigi.Task):
        task_namespace = "reports"
        day = luigi.DateParameter()
        regions = luigi.ListParameter()
        options = luigi.DictParameter(default={"z": 1, "a": [1.5, None, True]})
        span = luigi.TimeDeltaParameter(default=datetime.timedelta(hours=2))

    for region in ("eu", "us", "ap"):
        print(Report(datetime.date(2024, 2, 29), [region, "x"]).task_id)
    """
)


def test_ids_are_identical_across_processes_and_hash_seeds(tmp_path):
    script = tmp_path / "ids.py"
    script.write_text(SCRIPT)
    outputs = []
    for seed in ("0", "1", "98765"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    ids = outputs[0].split()
    assert len(set(ids)) == 3
    assert all(i.startswith("reports.Report_2024_02_29_") for i in ids)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=5))
def test_the_fingerprint_is_md5_of_luigis_canonical_json(params):
    """Written by hand for speed, the canonical JSON must stay byte for byte what Luigi hashes."""
    canonical = json.dumps(params, separators=(",", ":"), sort_keys=True)
    assert params_fingerprint(params) == hashlib.md5(canonical.encode("utf-8")).hexdigest()


class BatchedHours(luigi.Task):
    region = luigi.Parameter()
    hour = luigi.IntParameter(batch_method=max)
    tags = luigi.Parameter(batch_method=",".join)


def luigi_batched_hours() -> type:
    """The same family in Luigi's own registry (luigi is a test-only dependency)."""
    import luigi as real

    class BatchedHours(real.Task):
        region = real.Parameter()
        hour = real.IntParameter(batch_method=max)
        tags = real.Parameter(batch_method=",".join)

    return BatchedHours


def test_a_combined_batch_task_has_the_id_luigi_gives_it():
    # What a worker builds from a get_work batch reply: the batched parameters come as lists.
    reply_params = {"region": "eu", "hour": ["3", "11", "7"], "tags": ["b", "a"]}
    theirs = luigi_batched_hours().from_str_params(reply_params)
    ours = BatchedHours.from_str_params(reply_params)
    assert (ours.hour, ours.tags) == (11, "b,a")
    assert ours.task_id == theirs.task_id
    assert ours.to_str_params() == theirs.to_str_params()
