"""luigi_task_* counted from a real core's transitions through the service, as luigid counts them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from xrsched.core import Scheduler, SchedulerConfig
from xrsched.metrics import ServerMetrics
from xrsched.metrics.luigi_names import LuigiTaskMetrics
from xrsched.service import SchedulerService

W = "w1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            if sample.name.startswith("luigi_") and not sample.name.endswith("_created"):
                found[(sample.name, sample.labels.get("family", ""))] = sample.value
    return found


def service_with_metrics(clock: Clock, **config) -> tuple[SchedulerService, ServerMetrics]:
    metrics = ServerMetrics(process=False)
    core = Scheduler(SchedulerConfig(**config))
    return SchedulerService(core, clock=clock, observer=metrics), metrics


def run(service: SchedulerService, clock: Clock, task_id: str, family: str, status: str, took: float) -> None:
    service.call("add_task", task_id=task_id, worker=W, family=family)
    reply = service.call("get_work", worker=W)
    assert reply["task_id"] == task_id
    clock.now += took
    service.call("add_task", task_id=task_id, worker=W, status=status)


def test_started_done_failed_disabled_and_execution_time_per_family():
    clock = Clock()
    service, metrics = service_with_metrics(clock, retry_count=2, retry_delay=1)
    run(service, clock, "Load_1", "Load", "DONE", 2.5)
    run(service, clock, "Load_2", "Load", "DONE", 4.0)
    run(service, clock, "Flaky_1", "Flaky", "FAILED", 1.0)  # first failure: FAILED
    clock.now += 5  # past retry_delay: the next get_work hands it out again
    service.run_maintenance()
    assert service.call("get_work", worker=W)["task_id"] == "Flaky_1"
    clock.now += 3.0
    service.call("add_task", task_id="Flaky_1", worker=W, status="FAILED")  # second: DISABLED, not FAILED
    found = samples(metrics.registry)
    assert found[("luigi_task_started_total", "Load")] == 2
    assert found[("luigi_task_done_total", "Load")] == 2
    assert found[("luigi_task_execution_time_seconds", "Load")] == 4.0  # the last run's length
    assert found[("luigi_task_started_total", "Flaky")] == 2
    assert found[("luigi_task_failed_total", "Flaky")] == 1
    assert found[("luigi_task_disabled_total", "Flaky")] == 1
    assert found[("luigi_task_execution_time_seconds", "Flaky")] == 3.0
    assert ("luigi_task_done_total", "Flaky") not in found


def test_re_enabling_counts_a_failure_as_luigid_does_but_sets_no_run_time():
    clock = Clock()
    service, metrics = service_with_metrics(clock, retry_count=1)
    run(service, clock, "Bad_1", "Bad", "FAILED", 2.0)  # disabled at once
    clock.now += 100
    service.call("re_enable_task", "Bad_1")  # DISABLED -> FAILED, no run ended
    found = samples(metrics.registry)
    assert found[("luigi_task_disabled_total", "Bad")] == 1
    assert found[("luigi_task_failed_total", "Bad")] == 1
    assert found[("luigi_task_execution_time_seconds", "Bad")] == 2.0  # luigid would say 102 here


def test_reported_running_is_not_a_start_and_done_without_a_run_sets_no_time():
    clock = Clock()
    service, metrics = service_with_metrics(clock)
    service.call("add_task", task_id="Ext_1", worker=W, family="Ext", status="DONE")  # already complete
    service.call("add_task", task_id="Own_1", worker=W, family="Own", status="RUNNING")  # not get_work
    found = samples(metrics.registry)
    assert found[("luigi_task_done_total", "Ext")] == 1
    assert ("luigi_task_execution_time_seconds", "Ext") not in found
    assert ("luigi_task_started_total", "Own") not in found


def test_a_dead_workers_run_fails_through_maintenance():
    clock = Clock()
    service, metrics = service_with_metrics(clock, worker_disconnect_delay=10)
    service.call("add_task", task_id="Job_1", worker=W, family="Job")
    service.call("get_work", worker=W)
    clock.now += 60
    service.run_maintenance()
    assert samples(metrics.registry)[("luigi_task_failed_total", "Job")] == 1


def test_families_past_the_bound_share_one_label():
    registry = CollectorRegistry()
    metrics = LuigiTaskMetrics(registry, max_families=3)

    class Task:
        def __init__(self, family: str) -> None:
            self.family = family
            self.time_running = None

    tasks = {f"T{i}": Task(f"F{i}") for i in range(10)}
    metrics.observe("add_task", [(f"T{i}", "PENDING", "DONE", 1.0, W) for i in range(10)], tasks)
    found = samples(registry)
    families = {family for (name, family) in found if name == "luigi_task_done_total"}
    assert families == {"F0", "F1", "F2", "(other)"}
    assert found[("luigi_task_done_total", "(other)")] == 7


def test_without_a_store_only_transitions_are_recorded():
    """An observer alone makes the core keep its transitions, not the records a store would write."""
    clock = Clock()
    service, _ = service_with_metrics(clock)
    service.core.changes.tasks.add("x")
    assert not service.core.changes.tasks  # forgotten: nobody writes them
    service.core.changes.transitions.append(("x", None, "PENDING", 1.0, W))
    assert service.core.take_changes().transitions == [("x", None, "PENDING", 1.0, W)]
    assert service.core.changes.transitions == []


def test_a_batch_is_not_counted_as_started_but_its_members_ending_are():
    """luigid counts a start only for a single task handed out; a batch's members end normally."""
    clock = Clock()
    service, metrics = service_with_metrics(clock)
    service.call("add_task_batcher", W, "Part", ["p"], 10)
    for i in (1, 2):
        service.call("add_task", task_id=f"Part_{i}", worker=W, family="Part", params={"p": str(i)}, batchable=True)
    reply = service.call("get_work", worker=W)
    assert reply["batch_task_ids"] == ["Part_1", "Part_2"]
    service.call("add_task", task_id="Part_b", worker=W, family="Part", params={"p": "1,2"}, status="RUNNING",
                 batch_id=reply["batch_id"])  # fmt: skip
    clock.now += 2
    service.call("add_task", task_id="Part_b", worker=W, status="DONE")
    found = samples(metrics.registry)
    assert ("luigi_task_started_total", "Part") not in found
    assert found[("luigi_task_done_total", "Part")] == 3  # both members and the runner
    assert found[("luigi_task_execution_time_seconds", "Part")] == 2.0
