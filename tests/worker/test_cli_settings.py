"""``xrsched run``'s options come from WorkerSettings; task parameters are parsed by the task class."""

from __future__ import annotations

import dataclasses

import click
import pytest
from click.testing import CliRunner

import xrsched.task as xt
from xrsched.cli.run import parse_task_args, run
from xrsched.options import env_name
from xrsched.worker import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NOT_SCHEDULED, EXIT_OK, GraphIndex, RunSummary
from xrsched.worker.settings import WorkerSettings, WorkerSettingsError, build_worker_settings
from xrsched.worker.summary import summarize


class Report(xt.Task):
    day = xt.DateParameter()
    limit = xt.IntParameter(default=10)
    dry_run = xt.BoolParameter(default=False)


def test_every_setting_is_a_click_option_and_nothing_else_is():
    options = {p.name for p in run.params if isinstance(p, click.Option)}
    settings = {f.name for f in dataclasses.fields(WorkerSettings)}
    assert options - settings == {"module", "config_file", "token"}
    assert settings <= options


def test_flags_beat_environment_beats_file_beats_default():
    file_values = {"workers": 2, "keep-alive": True, "scheduler_url": "https://file:1/RPC2"}
    environ = {env_name("workers"): "3", "XRSCHED_SCHEDULER_URL": "https://env:2/RPC2"}
    settings = build_worker_settings(file_values, environ, {"workers": 4})
    assert settings.workers == 4
    assert settings.scheduler_url == "https://env:2/RPC2"
    assert settings.keep_alive is True
    assert settings.ping_interval == WorkerSettings().ping_interval


def test_bad_settings_are_refused_with_their_name():
    with pytest.raises(WorkerSettingsError, match=r"unknown .worker. setting.*wrokers"):
        build_worker_settings({"wrokers": 2}, {})
    with pytest.raises(WorkerSettingsError, match=r"XRSCHED_WORKERS.*workers expects int"):
        build_worker_settings({}, {"XRSCHED_WORKERS": "many"})
    with pytest.raises(WorkerSettingsError, match="start_method"):
        build_worker_settings({"start_method": "teleport"}, {})


def test_task_parameters_from_name_value_pairs():
    values = parse_task_args(Report, ["--day", "2026-11-22", "--limit=5", "--dry-run"])
    assert values == {"day": "2026-11-22", "limit": "5", "dry_run": "true"}
    assert Report.from_str_params(values).limit == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "2026-11-22"], "Report has no parameter --days (its parameters: --day, --limit, --dry-run)"),
        (["--day"], "--day needs a value"),
        (["--day", "2026-11-22", "--day", "2026-11-23"], "--day given twice"),
        (["2026-11-22"], "unexpected argument '2026-11-22'"),
    ],
)
def test_task_parameter_mistakes_are_clear(args, message):
    with pytest.raises(click.UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_task_args(Report, args)


def test_the_command_reports_missing_parameters_and_unknown_tasks(monkeypatch):
    monkeypatch.delenv("XRSCHED_CONFIG", raising=False)
    runner = CliRunner()
    result = runner.invoke(run, ["--module", "tests.worker.tasks", "Node", "--root", "x", "--local-scheduler"])
    assert result.exit_code == 2 and "missing parameter(s): i, size" in result.output
    result = runner.invoke(run, ["--module", "tests.worker.tasks", "Nope", "--local-scheduler"])
    assert result.exit_code == 2 and "Nope" in result.output
    result = runner.invoke(run, ["--help"])
    assert result.exit_code == 0 and "--scheduler-url" in result.output and "--keep-alive" in result.output


def _index(roots, deps, complete=(), external=()):
    index = GraphIndex()
    index.roots = list(roots)
    calls = [{"task_id": t, "status": "PENDING", "deps": d} for t, d in deps.items()]
    calls += [{"task_id": t, "status": "DONE"} for t in complete]
    calls += [{"task_id": t, "status": "PENDING", "runnable": False} for t in external]
    index.ingest(calls)
    return index


def test_summary_explains_each_task_and_picks_the_exit_status():
    index = _index(["top"], {"top": ["mid", "ext"], "mid": ["leaf"], "leaf": []}, external=["ext"])
    failed = summarize(index, {"leaf": "failed"}, {"leaf": "FAILED"})
    assert failed.failed == ["leaf"] and failed.upstream_failed == ["top", "mid"]
    assert failed.exit_code == EXIT_FAILED
    missing = summarize(index, {"leaf": "done", "mid": "done"}, {})
    assert missing.missing_external == ["top", "ext"] and missing.exit_code == EXIT_NOT_SCHEDULED
    interrupted = summarize(index, {"leaf": "done"}, {}, interrupted="SIGUSR1")
    assert interrupted.exit_code == EXIT_INTERRUPTED and "interrupted (SIGUSR1)" in interrupted.render()
    done = summarize(_index(["a"], {"a": []}), {"a": "done"}, {}, interrupted="SIGTERM")
    assert done.exit_code == EXIT_OK  # everything finished before the signal mattered
    assert RunSummary(roots=["x"], done_elsewhere=["x"]).ok


def test_summary_gives_each_task_the_outcome_it_has_by_itself():
    # One independent task per rule, written out by hand: (run here, scheduler status) -> outcome.
    cases = {
        "ran": ("done", None, "done"),
        "ran-then-failed-elsewhere": ("done", "FAILED", "done"),
        "failed-here": ("failed", "FAILED", "failed"),
        "failed-here-done-elsewhere": ("failed", "DONE", "done_elsewhere"),
        "done-elsewhere": (None, "DONE", "done_elsewhere"),
        "disabled": (None, "DISABLED", "disabled"),
        "failed-elsewhere": (None, "FAILED", "failed"),
        "still-pending": (None, "PENDING", "left_pending"),
        "unknown-to-the-scheduler": (None, None, "left_pending"),
    }
    index = _index(cases, {task_id: [] for task_id in cases})
    index.ingest([{"task_id": "complete", "status": "DONE"}, {"task_id": "broken", "status": "UNKNOWN"},
                  {"task_id": "ext", "status": "PENDING", "runnable": False},
                  {"task_id": "ext-done", "status": "PENDING", "runnable": False}])  # fmt: skip
    outcomes = {task_id: ran for task_id, (ran, _, _) in cases.items() if ran}
    statuses = {task_id: status for task_id, (_, status, _) in cases.items() if status}
    summary = summarize(index, outcomes, {**statuses, "ext-done": "DONE", "complete": "FAILED"})
    for task_id, (_, _, expected) in cases.items():
        assert task_id in getattr(summary, expected), (task_id, expected)
    assert summary.already_complete == ["complete"]
    assert summary.not_scheduled == ["broken"]
    assert summary.missing_external == ["ext"]
    assert "ext-done" in summary.done_elsewhere


def test_several_scheduler_urls_are_separated_by_commas_in_every_source():
    pair = "https://a:8082/RPC2,https://b:8082/RPC2"
    assert build_worker_settings({"scheduler_url": pair}, {}).scheduler_url == pair
    assert build_worker_settings({}, {"XRSCHED_SCHEDULER_URL": pair}).scheduler_url == pair
    assert build_worker_settings({}, {}, {"scheduler_url": f"{pair},unix:/run/x.sock"}).scheduler_url.count(",") == 2
    with pytest.raises(WorkerSettingsError, match=r"must start with https://.*'b:8082'"):
        build_worker_settings({}, {"XRSCHED_SCHEDULER_URL": "https://a:8082,b:8082"})
    with pytest.raises(WorkerSettingsError, match=r"scheduler_url: .*separated by single commas"):
        build_worker_settings({"scheduler_url": "https://a:8082,,https://b:8082"}, {})
    with pytest.raises(WorkerSettingsError, match="given twice"):
        build_worker_settings({"scheduler_url": "https://a:8082,https://a:8082"}, {})
