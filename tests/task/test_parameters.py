"""Parameters: parse/serialize round trips for every type, normalization, and their errors."""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import xrsched.task as luigi
from xrsched.task import FrozenDict


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"


class ParamOwner(luigi.Task):
    pass


def _param(param, name="p"):
    """Bind a parameter to a throwaway owner so it has a name and a normalized default."""
    param.__set_name__(ParamOwner, name)
    param.normalize_default(ParamOwner)
    return param


ROUND_TRIPS = [
    (luigi.Parameter(), "plain text", "plain text"),
    (luigi.StrParameter(), "", ""),
    (luigi.IntParameter(), -42, "-42"),
    (luigi.FloatParameter(), 0.1, "0.1"),
    (luigi.FloatParameter(), 1e300, "1e+300"),
    (luigi.BoolParameter(), True, "True"),
    (luigi.BoolParameter(), False, "False"),
    (luigi.NumericalParameter(min_value=0, max_value=10), 3, "3"),
    (luigi.NumericalParameter(var_type=float, min_value=0, max_value=1), 0.25, "0.25"),
    (luigi.ChoiceParameter(choices=["a", "b"]), "b", "b"),
    (luigi.ChoiceParameter(choices=[1, 2], var_type=int), 2, "2"),
    (luigi.EnumParameter(enum=Color), Color.GREEN, "GREEN"),
    (luigi.EnumListParameter(enum=Color), (Color.RED, Color.GREEN), "RED,GREEN"),
    (luigi.EnumListParameter(enum=Color), (), ""),
    (luigi.PathParameter(), Path("a/b.txt"), "a/b.txt"),
    (luigi.DateParameter(), dt.date(2024, 2, 29), "2024-02-29"),
    (luigi.MonthParameter(), dt.date(2024, 2, 1), "2024-02"),
    (luigi.YearParameter(), dt.date(2024, 1, 1), "2024"),
    (luigi.DateTimeParameter(), dt.datetime(2024, 2, 29, 13, 5, 1, 7), "2024-02-29T13:05:01.000007"),
    (
        luigi.DateTimeParameter(),
        dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "2024-01-01T00:00:00+02:00",
    ),
    (luigi.DateHourParameter(), dt.datetime(2024, 2, 29, 13), "2024-02-29T13"),
    (luigi.DateMinuteParameter(), dt.datetime(2024, 2, 29, 13, 5), "2024-02-29T1305"),
    (luigi.DateSecondParameter(), dt.datetime(2024, 2, 29, 13, 5, 9), "2024-02-29T130509"),
    (luigi.TimeDeltaParameter(), dt.timedelta(days=9, seconds=3725), "1 w 2 d 1 h 2 m 5 s"),
    (luigi.TimeDeltaParameter(), dt.timedelta(seconds=1, microseconds=500), "0 w 0 d 0 h 0 m 1.0005 s"),
    (luigi.TimeDeltaParameter(), -dt.timedelta(hours=1), "-0 w 0 d 1 h 0 m 0 s"),
    (luigi.ListParameter(), (1, "a", (2.5, None), FrozenDict(k=True)), '[1, "a", [2.5, null], {"k": true}]'),
    (luigi.TupleParameter(), (), "[]"),
    (luigi.DictParameter(), FrozenDict(b=1, a=(1, 2)), '{"a": [1, 2], "b": 1}'),
    (luigi.OptionalParameter(), None, ""),
    (luigi.OptionalIntParameter(), 5, "5"),
    (luigi.OptionalIntParameter(), None, ""),
    (luigi.OptionalFloatParameter(), None, ""),
    (luigi.OptionalBoolParameter(), None, ""),
    (luigi.OptionalDateParameter(), dt.date(2020, 1, 1), "2020-01-01"),
    (luigi.OptionalListParameter(), None, ""),
    (luigi.OptionalDictParameter(), FrozenDict(), "{}"),
    (luigi.OptionalTimeDeltaParameter(), None, ""),
    (luigi.TaskParameter(), ParamOwner, "ParamOwner"),
]


@pytest.mark.parametrize(("param", "value", "text"), ROUND_TRIPS, ids=lambda x: type(x).__name__)
def test_every_type_round_trips(param, value, text):
    param = _param(param)
    assert param.serialize(value) == text
    assert param.parse(text) == value
    assert param.normalize(value) == value
    assert param.serialize(param.parse(text)) == text
    hash(param.normalize(value))


@pytest.mark.parametrize(
    ("param", "given", "expected"),
    [
        (luigi.IntParameter(), "7", 7),
        (luigi.FloatParameter(), 2, 2.0),
        (luigi.BoolParameter(), "TRUE", True),
        (luigi.DateParameter(), dt.datetime(2024, 1, 2, 3, 4), dt.date(2024, 1, 2)),
        (luigi.DateParameter(), "2024-01-02", dt.date(2024, 1, 2)),
        (luigi.MonthParameter(), dt.date(2024, 5, 17), dt.date(2024, 5, 1)),
        (luigi.YearParameter(), "1999", dt.date(1999, 1, 1)),
        (luigi.DateHourParameter(), dt.datetime(2024, 1, 1, 5, 59, 59), dt.datetime(2024, 1, 1, 5)),
        (luigi.DateMinuteParameter(), "2024-01-01T05H07", dt.datetime(2024, 1, 1, 5, 7)),
        (luigi.EnumParameter(enum=Color), "RED", Color.RED),
        (luigi.EnumListParameter(enum=Color), ["GREEN", Color.RED], (Color.GREEN, Color.RED)),
        (
            luigi.ListParameter(),
            [1, [2, {"a": []}]],
            (1, (2, FrozenDict(a=()))),
        ),
        (luigi.ListParameter(), "[1, 2]", (1, 2)),
        (luigi.DictParameter(), {"x": [1]}, FrozenDict(x=(1,))),
        (luigi.PathParameter(), "x/y", Path("x/y")),
        (luigi.TaskParameter(), "ParamOwner", ParamOwner),
    ],
    ids=lambda x: type(x).__name__,
)
def test_normalize_converts_to_the_canonical_value(param, given, expected):
    assert _param(param).normalize(given) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90", dt.timedelta(seconds=90)),
        ("1.25", dt.timedelta(seconds=1, microseconds=250000)),
        ("1 d 2 h", dt.timedelta(days=1, hours=2)),
        ("1w", dt.timedelta(weeks=1)),
        ("2 days 3 minutes", dt.timedelta(days=2, minutes=3)),
        ("P1DT2H", dt.timedelta(days=1, hours=2)),
        ("PT0.5S", dt.timedelta(milliseconds=500)),
        ("P2W", dt.timedelta(weeks=2)),
        ("-1 h", -dt.timedelta(hours=1)),
    ],
)
def test_timedelta_reads_seconds_luigi_words_and_iso8601(text, expected):
    assert luigi.TimeDeltaParameter().parse(text) == expected


@pytest.mark.parametrize(
    ("param", "bad"),
    [
        (luigi.IntParameter(), True),
        (luigi.IntParameter(), 1.5),
        (luigi.IntParameter(), "x"),
        (luigi.FloatParameter(), float("nan")),
        (luigi.BoolParameter(), 1),
        (luigi.BoolParameter(), "yes"),
        (luigi.StrParameter(), 3),
        (luigi.NumericalParameter(min_value=0, max_value=10), 10),
        (luigi.ChoiceParameter(choices=["a"]), "b"),
        (luigi.EnumParameter(enum=Color), "BLUE"),
        (luigi.DateParameter(), "2024-02-30"),
        (luigi.DateHourParameter(), dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        (luigi.TimeDeltaParameter(), "soon"),
        (luigi.ListParameter(), {1, 2}),
        (luigi.ListParameter(), [dt.date(2024, 1, 1)]),
        (luigi.ListParameter(), '{"a": 1}'),
        (luigi.DictParameter(), {1: "a"}),
        (luigi.DictParameter(), [1]),
        (luigi.TaskParameter(), int),
        (luigi.TaskParameter(), "NoSuchFamily"),
    ],
    ids=lambda x: type(x).__name__,
)
def test_bad_values_are_refused(param, bad):
    with pytest.raises((TypeError, ValueError, LookupError)):
        _param(param).normalize(bad)


def test_bad_default_names_class_and_parameter():
    with pytest.raises(luigi.BadParameterValue, match=r"Broken\.n: bad default"):

        class Broken(luigi.Task):
            n = luigi.IntParameter(default="many")


def test_visibility_and_metadata():
    param = luigi.Parameter(visibility=1, significant=False, description="what it is", positional=False)
    assert param.visibility is luigi.ParameterVisibility.HIDDEN
    assert (param.significant, param.description, param.positional) == (False, "what it is", False)
    assert not param.has_default
    with pytest.raises(luigi.MissingParameter):
        _ = param.default
    assert [int(v) for v in luigi.ParameterVisibility] == [0, 1, 2]


def test_batch_method_combines_a_list_of_strings():
    param = _param(luigi.IntParameter(batch_method=max))
    assert param.batchable
    assert param.parse_list(["3", "11", "7"]) == 11
    with pytest.raises(ValueError, match="not batchable"):
        _param(luigi.IntParameter()).parse_list(["1"])


def test_frozen_dict_is_hashable_and_order_insensitive():
    a, b = FrozenDict(x=1, y=(2,)), FrozenDict(y=(2,), x=1)
    assert a == b and hash(a) == hash(b) and a == {"x": 1, "y": (2,)}
    assert a.thaw() == {"x": 1, "y": [2]}
    with pytest.raises(TypeError):
        a["z"] = 3  # type: ignore[index]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(json_values, max_size=5))
def test_list_parameter_round_trips_any_json(values):
    param = luigi.ListParameter()
    frozen = param.normalize(values)
    assert param.parse(param.serialize(frozen)) == frozen
    hash(frozen)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_dict_parameter_round_trips_and_ignores_key_order(values):
    param = luigi.DictParameter()
    frozen = param.normalize(values)
    assert param.parse(param.serialize(frozen)) == frozen
    reordered = dict(reversed(list(values.items())))
    assert param.serialize(param.normalize(reordered)) == param.serialize(frozen)


@given(st.integers())
def test_int_round_trips(value):
    param = luigi.IntParameter()
    assert param.parse(param.serialize(value)) == value


@given(st.floats(allow_nan=False))
def test_float_round_trips(value):
    param = luigi.FloatParameter()
    assert param.parse(param.serialize(value)) == value


@given(st.datetimes(timezones=st.none() | st.timezones()))
def test_datetime_round_trips(value):
    param = luigi.DateTimeParameter()
    held = param.normalize(value)  # named zones become fixed offsets
    assert held.utcoffset() == value.utcoffset() and held.replace(tzinfo=None) == value.replace(tzinfo=None)
    parsed = param.parse(param.serialize(held))
    assert parsed == held and parsed.utcoffset() == held.utcoffset()


@given(st.dates())
def test_date_round_trips(value):
    param = luigi.DateParameter()
    assert param.parse(param.serialize(value)) == value


@given(st.timedeltas())
def test_timedelta_round_trips(value):
    param = luigi.TimeDeltaParameter()
    assert param.parse(param.serialize(value)) == value
