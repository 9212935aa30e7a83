"""The task API pipeline code subclasses: tasks, parameters, targets and dynamic dependencies.

Names match Luigi's, so most pipelines move over by changing one import::

    import xrsched.task as luigi

    class Copy(luigi.Task):
        day = luigi.DateParameter()
        def requires(self): return Fetch(self.day)
        def output(self): return luigi.LocalTarget(f"out/{self.day}.txt")
        def run(self):
            with self.input().open() as src, self.output().open("w") as dst:
                dst.write(src.read())

Task ids are computed exactly as Luigi computes them (same family, same serialized values,
same id), so ids agree across the two.

Differences from Luigi:

* Parameters take no values from configuration files (``config_path``, ``[TaskName]``
  sections) or global command-line flags; values come from the constructor or
  ``from_str_params``. ``luigi.Config`` and ``is_global`` do not exist.
* Values are checked when a task is built: ``IntParameter()`` refuses ``"x"`` and ``True``,
  ``ListParameter`` refuses sets and non-JSON values, NaN is refused everywhere. A string
  given to a typed parameter is parsed as from the command line (``MyTask(day="2024-01-31")``).
* Errors name the task and parameter and are also ``TypeError`` (unknown, missing, duplicate)
  or ``TypeError``/``ValueError`` (bad value), as for a mistaken Python call.
* Optional parameters (``OptionalIntParameter`` …) default to None.
* ``DictParameter`` serializes with sorted keys, so equal dicts give equal ids (Luigi keeps
  insertion order; ids agree whenever keys were already sorted).
* ``DateTimeParameter`` (ISO 8601) is an addition; date parameters take no ``interval`` or
  ``start``. ``TupleParameter`` reads JSON only (no Python tuple literals).
* ``LocalTarget`` has no ``is_tmp`` or ``fs``; formats are ``Text``/``UTF8``, ``Nop`` and
  ``Gzip`` (also reachable as ``format.Nop`` …), without Luigi's ``>>`` chaining.
* Not provided here: ``build``/``run`` (the worker and CLI run tasks), events and
  ``event_handler``, ``util.inherits``/``requires``, ``externalize``, ``bulk_complete``,
  e-mail (``owner_email`` is accepted and ignored).
* Status and progress go through ``set_status_message``/``set_progress_percentage``/
  ``set_tracking_url``, always callable; the worker routes them with ``attach_reporter``.
"""

from types import SimpleNamespace

from .base import ExternalTask, Reporter, Task, WrapperTask, is_external
from .dynamic import DependencyRequest, DynamicRequirements, iter_run, run_until_blocked
from .ids import task_id_str
from .json_parameters import (
    DictParameter,
    FrozenDict,
    ListParameter,
    OptionalDictParameter,
    OptionalListParameter,
    OptionalTupleParameter,
    TupleParameter,
)
from .parameters import (
    BadParameterValue,
    DuplicateParameter,
    DuplicateParameterException,
    MissingParameter,
    MissingParameterException,
    OptionalParameter,
    Parameter,
    ParameterException,
    ParameterVisibility,
    TypedParameter,
    UnknownParameter,
    UnknownParameterException,
)
from .registry import Register, TaskClassException, auto_namespace, namespace, task_class
from .scalar_parameters import (
    BoolParameter,
    ChoiceParameter,
    EnumListParameter,
    EnumParameter,
    FloatParameter,
    IntParameter,
    NumericalParameter,
    OptionalBoolParameter,
    OptionalChoiceParameter,
    OptionalFloatParameter,
    OptionalIntParameter,
    OptionalNumericalParameter,
    OptionalPathParameter,
    OptionalStrParameter,
    PathParameter,
    StrParameter,
    TaskParameter,
)
from .structure import flatten, getpaths
from .target import UTF8, AtomicWriter, Format, Gzip, LocalTarget, Nop, Target, Text
from .time_parameters import (
    DateHourParameter,
    DateMinuteParameter,
    DateParameter,
    DateSecondParameter,
    DateTimeParameter,
    MonthParameter,
    OptionalDateParameter,
    OptionalDateTimeParameter,
    OptionalTimeDeltaParameter,
    TimeDeltaParameter,
    YearParameter,
)

#: ``luigi.format.Nop`` and friends, for code written against Luigi.
format = SimpleNamespace(Text=Text, UTF8=UTF8, Nop=Nop, Gzip=Gzip)

__all__ = [
    "UTF8",
    "AtomicWriter",
    "BadParameterValue",
    "BoolParameter",
    "ChoiceParameter",
    "DateHourParameter",
    "DateMinuteParameter",
    "DateParameter",
    "DateSecondParameter",
    "DateTimeParameter",
    "DependencyRequest",
    "DictParameter",
    "DuplicateParameter",
    "DuplicateParameterException",
    "DynamicRequirements",
    "EnumListParameter",
    "EnumParameter",
    "ExternalTask",
    "FloatParameter",
    "Format",
    "FrozenDict",
    "Gzip",
    "IntParameter",
    "ListParameter",
    "LocalTarget",
    "MissingParameter",
    "MissingParameterException",
    "MonthParameter",
    "Nop",
    "NumericalParameter",
    "OptionalBoolParameter",
    "OptionalChoiceParameter",
    "OptionalDateParameter",
    "OptionalDateTimeParameter",
    "OptionalDictParameter",
    "OptionalFloatParameter",
    "OptionalIntParameter",
    "OptionalListParameter",
    "OptionalNumericalParameter",
    "OptionalParameter",
    "OptionalPathParameter",
    "OptionalStrParameter",
    "OptionalTimeDeltaParameter",
    "OptionalTupleParameter",
    "Parameter",
    "ParameterException",
    "ParameterVisibility",
    "PathParameter",
    "Register",
    "Reporter",
    "StrParameter",
    "Target",
    "Task",
    "TaskClassException",
    "TaskParameter",
    "Text",
    "TimeDeltaParameter",
    "TupleParameter",
    "TypedParameter",
    "UnknownParameter",
    "UnknownParameterException",
    "WrapperTask",
    "YearParameter",
    "auto_namespace",
    "flatten",
    "getpaths",
    "is_external",
    "iter_run",
    "namespace",
    "run_until_blocked",
    "task_class",
    "task_id_str",
]
