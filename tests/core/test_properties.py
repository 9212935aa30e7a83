"""Property-based tests: random call sequences against brute-force recounts of the core's indexes.

The machine drives a small scheduler through registrations, get_work, reports, operator
actions and the passage of time, and after every step recomputes from the raw records
everything the core keeps incrementally. Restarts go through the store's rows or through a
snapshot, which leaves DONE tasks unbuilt until first looked up (``xrsched.core.coldtasks``):
the checks read such tasks without building them, so they stay cold across many steps.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from xrsched.core import Scheduler, SchedulerConfig
from xrsched.core.coldtasks import TaskTable
from xrsched.core.model import Task
from xrsched.core.states import BATCH_RUNNING, DISABLED, DONE, FAILED, PENDING, RUNNING

from .restarts import records, restarted, rows_of

TASKS = [f"T{i}" for i in range(8)]
WORKERS = ["w0", "w1", "w2"]
CONFIG = SchedulerConfig(
    retry_delay=5,
    remove_delay=10,
    worker_disconnect_delay=8,
    disable_window=100,
    retry_count=3,
    disable_persist=20,
    stable_done_cooldown_secs=2,
)


def cold_count(sched: Scheduler) -> int:
    return sched.tasks.cold_count if isinstance(sched.tasks, TaskTable) else 0


def flag(tasks: dict[str, Task], task_id: str, memo: dict[str, bool]) -> bool:
    """DISABLED, or PENDING with a dependency that is flagged (the graph is acyclic here)."""
    if task_id in memo:
        return memo[task_id]
    task = tasks[task_id]
    result = task.status == DISABLED or (
        task.status == PENDING and any(d in tasks and flag(tasks, d, memo) for d in task.deps)
    )
    memo[task_id] = result
    return result


def runnable_by(tasks: dict[str, Task], worker: str) -> list:
    """Tasks the worker could be handed, by brute force."""
    out = []
    for task in tasks.values():
        if task.status != PENDING or worker not in task.workers:
            continue
        if all(d in tasks and tasks[d].status == DONE for d in task.deps):
            out.append(task)
    return out


def recount(tasks: dict[str, Task], worker: str) -> tuple[int, int, int]:
    """n_pending_tasks, n_unique_pending, n_pending_last_scheduled, by brute force."""
    memo: dict[str, bool] = {}
    pending = unique = last = 0
    for task in tasks.values():
        if worker not in task.workers or task.status not in (PENDING, FAILED):
            continue
        if task.status == PENDING and flag(tasks, task.id, memo):
            continue
        pending += 1
        unique += len(task.workers) == 1
        last += list(task.workers)[-1] == worker
    return pending, unique, last


class SchedulerMachine(RuleBasedStateMachine):
    """Random call sequences over 8 tasks (acyclic: deps only point to lower indexes) and 3 workers."""

    def __init__(self) -> None:
        super().__init__()
        self.sched = Scheduler(CONFIG, resources={"db": 1})
        self.now = 1000.0
        #: The rows at the last restart: a later restart through a snapshot starts from these,
        #: with the rows changed since on top.
        self.last_rows: list | None = None

    @initialize(
        owners=st.lists(st.sampled_from(WORKERS), min_size=len(TASKS), max_size=len(TASKS)),
        chain=st.lists(st.booleans(), min_size=len(TASKS), max_size=len(TASKS)),
        priorities=st.lists(st.integers(0, 3), min_size=len(TASKS), max_size=len(TASKS)),
    )
    def register_graph(self, owners, chain, priorities):
        for index, task_id in enumerate(TASKS):
            deps = [TASKS[index - 1]] if index and chain[index] else []
            self.sched.add_task(
                task_id=task_id,
                worker=owners[index],
                deps=deps,
                priority=priorities[index],
                resources={"db": 1} if index % 3 == 0 else None,
                now=self.tick(),
            )

    def tick(self, seconds: float = 0.5) -> float:
        self.now += seconds
        return self.now

    @rule(
        worker=st.sampled_from(WORKERS),
        index=st.integers(0, len(TASKS) - 1),
        dep_picks=st.lists(st.integers(0, len(TASKS) - 1), max_size=2),
        priority=st.integers(0, 3),
        status=st.sampled_from([PENDING, PENDING, PENDING, DONE, FAILED, DISABLED]),
        needs_db=st.booleans(),
        assistant=st.booleans(),
        family=st.sampled_from(["F", "G"]),
    )
    def add_task(self, worker, index, dep_picks, priority, status, needs_db, assistant, family):
        deps = sorted({TASKS[i] for i in dep_picks if i < index})
        self.sched.add_task(
            task_id=TASKS[index],
            worker=worker,
            deps=deps,
            priority=priority,
            status=status,
            resources={"db": 1} if needs_db else None,
            family=family,
            params={"n": str(index)},
            assistant=assistant and status == PENDING,
            now=self.tick(),
        )

    @rule(
        worker=st.sampled_from(WORKERS),
        assistant=st.sampled_from([False, False, False, True]),
        forget=st.sampled_from([False, False, True]),
    )
    def get_work(self, worker, assistant, forget):
        sched = self.sched
        now = self.tick()
        # What the reply must say, computed before the call.
        record = sched.workers.get(worker)
        tasks = records(sched)
        expected_counts = recount(tasks, worker) if record is not None and not record.disabled else (0, 0, 0)
        candidates = {t.id: t for t in runnable_by(tasks, worker)} if not assistant else None
        before = {tid: (t.status, t.worker_running) for tid, t in tasks.items()}
        current = [] if forget else None
        reply = sched.get_work(worker=worker, assistant=assistant, current_tasks=current, now=now)

        # A disabled worker's reply has no n_pending_last_scheduled (as Luigi's has not).
        last = reply.get("n_pending_last_scheduled", 0)
        assert (reply["n_pending_tasks"], reply["n_unique_pending"], last) == expected_counts
        task_id = reply.get("task_id")
        free = [t for t in (candidates or {}).values() if not t.resources]
        if task_id is None:
            # Work that needs no resource is never withheld from its worker (unless paused).
            if not sched.paused and not (record is not None and record.disabled) and not forget:
                assert not free
            return
        status_before, runner_before = before[task_id]
        task = sched.tasks[task_id]
        assert task.status == RUNNING and task.worker_running == worker
        if status_before == RUNNING:
            # Only a forgotten run of this very worker is handed back.
            assert forget and runner_before == worker
            return
        assert status_before == PENDING, "only PENDING tasks are handed out"
        assert all(sched.tasks[d].status == DONE for d in task.deps), "dependencies must be DONE"
        if candidates is not None:
            assert task_id in candidates
            chosen = (task.priority, -task.time, -task.seq)
            for other in free:
                assert (other.priority, -other.time, -other.seq) <= chosen, "a better task was passed over"

    @rule(worker=st.sampled_from(WORKERS), success=st.booleans())
    def report(self, worker, success):
        running = sorted(self.sched.running_by_worker.get(worker, ()))
        for task_id in running[:1]:
            self.sched.add_task(
                task_id=task_id,
                worker=worker,
                status=DONE if success else FAILED,
                expl="boom",
                now=self.tick(),
            )

    @rule(worker=st.sampled_from(WORKERS))
    def ping(self, worker):
        self.sched.ping(worker=worker, now=self.tick())

    @rule(seconds=st.sampled_from([1, 3, 6, 9, 12, 25]))
    def time_passes(self, seconds):
        self.sched.prune(now=self.tick(seconds))

    @rule(index=st.integers(0, len(TASKS) - 1), action=st.sampled_from(["done", "forgive", "reenable"]))
    def operator(self, index, action):
        task_id = TASKS[index]
        if task_id not in self.sched.tasks:
            return
        if action == "done":
            self.sched.mark_as_done(task_id, now=self.tick())
        elif action == "forgive":
            self.sched.forgive_failures(task_id, now=self.tick())
        else:
            self.sched.re_enable_task(task_id, now=self.tick())

    @precondition(lambda self: bool(self.sched.workers))
    @rule(worker=st.sampled_from(WORKERS), dice=st.integers(0, 5))
    def disable(self, worker, dice):
        if dice == 0 and worker in self.sched.workers:
            self.sched.disable_worker(worker, now=self.tick())

    @rule(dice=st.integers(0, 5), via=st.sampled_from(["rows", "snapshot", "older snapshot"]))
    def restart(self, dice, via):
        """Round-trip every record through the store's encoding into a fresh scheduler: from
        the rows, from a snapshot of them, or from a snapshot taken at the last restart with the
        rows changed since on top (DONE tasks left cold in both)."""
        if dice:
            return
        older = self.last_rows if via == "older snapshot" else None
        rows = rows_of(self.sched)
        self.sched = restarted(self.sched, self.tick(), via_snapshot=via != "rows", snapshot_rows=older)
        self.last_rows = rows

    @rule(
        status=st.sampled_from(["", PENDING, RUNNING, DONE, FAILED]),
        family=st.sampled_from(["", "F", "G"]),
        search=st.sampled_from(["", "t1", "F n=2", "g", "t"]),
        offset=st.integers(0, 3),
        limit=st.integers(0, 4),
    )
    def browse(self, status, family, search, offset, limit):
        """A dashboard's page equals the brute-force filter, sort and slice of the records."""
        sched = self.sched
        page = sched.task_page(status or None, family or None, search or None, offset, limit, now=self.tick())
        words = search.casefold().split()
        matching = sorted(
            (
                t
                for t in sched.tasks.values()
                if (not status or t.status == status)
                and (not family or t.family == family)
                and all(word in f"{t.id}\n{t.pretty_id()}".casefold() for word in words)
            ),
            key=lambda t: (-t.updated, t.id),
        )
        assert page["total"] == len(matching)
        assert [row["task_id"] for row in page["tasks"]] == [t.id for t in matching[offset : offset + limit]]

    @rule(dice=st.integers(0, 3))
    def toggle_pause(self, dice):
        if dice:
            return
        if self.sched.paused:
            self.sched.unpause(now=self.tick())
        else:
            self.sched.pause(now=self.tick())

    # ------------------------------------------------------------- invariants

    @invariant()
    def indexes_match_records(self):
        sched = self.sched
        tasks = records(sched)
        assert len(sched.tasks) == len(tasks)
        assert all(task_id in sched.tasks for task_id in tasks)
        for status, ids in sched.by_status.items():
            assert ids == {tid for tid, t in tasks.items() if t.status == status}
        memo: dict[str, bool] = {}
        for task in tasks.values():
            unmet = sum(1 for d in task.deps if d not in tasks or tasks[d].status != DONE)
            blocked = sum(1 for d in task.deps if d in tasks and flag(tasks, d, memo))
            assert (task.unmet, task.blocked) == (unmet, blocked), task.id
        dependents: dict[str, set[str]] = {}
        for task in tasks.values():
            for dep in task.deps:
                dependents.setdefault(dep, set()).add(task.id)
        assert {dep: set(sched.dependents(dep)) for dep in sched.rdeps} == dependents
        used: dict[str, int] = {}
        holders: dict[str, set[str]] = {}
        for task in tasks.values():
            if task.status == RUNNING:
                for name, amount in (task.resources_running or {}).items():
                    used[name] = used.get(name, 0) + amount
                    holders.setdefault(name, set()).add(task.id)
        assert {k: v for k, v in sched.used.items() if v} == {k: v for k, v in used.items() if v}
        assert holders == sched.running_by_resource
        for worker in sched.workers.values():
            for sig, heap in worker.buckets.items():
                if any(sched.entry_valid(entry, worker.id) for entry in heap):
                    # The fair pass finds a worker's waiting tasks through this index.
                    assert all(worker.id in sched.workers_needing.get(name, ()) for name, _ in sig)
        runs: dict[str, set[str]] = {}
        for task in tasks.values():
            if task.status in (RUNNING, BATCH_RUNNING) and task.worker_running is not None:
                runs.setdefault(task.worker_running, set()).add(task.id)
        assert runs == sched.running_by_worker
        ready = sum(1 for t in tasks.values() if t.status == PENDING and t.unmet == 0)
        assert ready == sched.n_ready

    @invariant()
    def dashboard_listings_match_recount(self):
        """overview's counts and task_page's order, kept on every edit (built at the first check
        and again after each restart), equal a recount of the records. Not built while some
        tasks are cold (building the listings builds every task; browsing does it)."""
        sched = self.sched
        if sched.listing is None and cold_count(sched):
            return
        listing = sched.listings()
        families: dict[str, dict[str, int]] = {}
        for task in sched.tasks.values():
            counts = families.setdefault(task.family, {})
            counts[task.status] = counts.get(task.status, 0) + 1
        assert listing.by_family == families
        for status, keys in listing.recent.items():
            expected = sorted((-t.updated, t.id) for t in sched.tasks.values() if t.status == status)
            assert list(keys) == expected, status
        for task_id, text in listing._texts.items():
            task = sched.tasks[task_id]
            assert text == f"{task.id}\n{task.pretty_id()}".casefold()

    @invariant()
    def counters_match_recount(self):
        tasks = records(self.sched)
        for worker_id, record in self.sched.workers.items():
            assert (record.n_pending, record.n_unique, record.n_last) == recount(tasks, worker_id)
            pend = [t for t in tasks.values() if t.status == PENDING and worker_id in t.workers]
            assert record.n_pend_all == len(pend)
            assert record.n_uniq_all == sum(1 for t in pend if len(t.workers) == 1)

    @invariant()
    def resources_never_oversubscribed(self):
        for name, amount in self.sched.used.items():
            assert amount <= self.sched.resources.get(name, 1)

    @invariant()
    def disabled_workers_hold_no_runnable_claims(self):
        for worker_id, record in self.sched.workers.items():
            if record.disabled:
                assert all(worker_id not in t.workers for t in records(self.sched).values())

    @invariant()
    def every_worker_in_a_task_is_known(self):
        for task in records(self.sched).values():
            for worker_id in (*task.workers, *task.stakeholders):
                assert worker_id in self.sched.workers
                assert task.id in self.sched.workers[worker_id].related


SchedulerMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_scheduler_machine = SchedulerMachine.TestCase
