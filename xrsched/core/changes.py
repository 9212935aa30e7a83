"""Change tracking: what an edit touched, what the store must write again, and the recording
of it between two commits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Task, Worker
    from .state import ReadyKey


class ChangeSet:
    """What changed since the store last took the changes: the records to write again."""

    __slots__ = ("meta", "removed_tasks", "removed_workers", "tasks", "transitions", "workers")

    def __init__(self) -> None:
        self.tasks: set[str] = set()
        self.removed_tasks: set[str] = set()
        self.workers: set[str] = set()
        self.removed_workers: set[str] = set()
        self.meta = False
        #: (task id, old status (None: just registered), new status, time, worker running or registering it)
        self.transitions: list[tuple[str, str | None, str, float, str | None]] = []

    @classmethod
    def discarding(cls) -> ChangeSet:
        """A change set that records nothing (for a scheduler without a store)."""
        changes = cls()
        changes.tasks = changes.removed_tasks = changes.workers = changes.removed_workers = _Nothing()
        changes.transitions = _Nothing()
        return changes

    @classmethod
    def transitions_only(cls) -> ChangeSet:
        """A change set that records status transitions only (for an observer without a store).
        Made once per call: built without the sets it would throw away."""
        changes = cls.__new__(cls)
        changes.tasks = changes.removed_tasks = changes.workers = changes.removed_workers = _NOTHING
        changes.meta = False
        changes.transitions = []
        return changes

    def __bool__(self) -> bool:
        return bool(
            self.tasks or self.removed_tasks or self.workers or self.removed_workers or self.meta or self.transitions
        )


class ChangeRecording:
    """Mixin of :class:`~xrsched.core.state.SchedulerState` that owns ``changes``: what the store
    (or an observer) will be handed at the next :meth:`take_changes`."""

    #: Whether changes are recorded for a store (see :meth:`track_changes`).
    tracking: bool
    _transitions_only: bool
    changes: ChangeSet

    def track_changes(self, *, transitions_only: bool = False) -> None:
        """Start recording changes for a store (with ``transitions_only``, only the status
        transitions, for an observer when there is no store); :meth:`take_changes` hands them over."""
        self.tracking = True
        self._transitions_only = transitions_only
        self.changes = self.fresh_changes()

    def fresh_changes(self) -> ChangeSet:
        """An empty change set of the kind being recorded (one that forgets all when not tracking)."""
        if not self.tracking:
            return ChangeSet.discarding()
        return ChangeSet.transitions_only() if self._transitions_only else ChangeSet()

    def take_changes(self) -> ChangeSet:
        """Hand over what changed since the last call (for the store) and start afresh."""
        changes = self.changes
        self.changes = self.fresh_changes()
        return changes

    def mark_task(self, task: Task) -> None:
        """Note a change to a task field that no index depends on (messages, progress)."""
        self.changes.tasks.add(task.id)

    def mark_worker(self, worker: Worker) -> None:
        """Note a change to a worker record that the store keeps (info, disabled, messages)."""
        self.changes.workers.add(worker.id)

    def mark_meta(self) -> None:
        """Note a change to pause, resource capacities or batchers."""
        self.changes.meta = True


class Snapshot:
    """What a task contributed to the indexes before an edit.

    ``listed`` is what the dashboard's listings know of it (status, family, last update,
    parameters, visibilities), or None for a task just created (and always None while no
    dashboard has asked for the listings)."""

    __slots__ = ("added", "done", "flag", "listed", "ready_key")

    def __init__(
        self, done: bool, flag: bool, ready_key: ReadyKey | None, listed: tuple[Any, ...] | None = None
    ) -> None:
        self.done = done
        self.flag = flag
        self.ready_key = ready_key
        self.listed = listed
        self.added: list[str] = []


class _Nothing(set):  # type: ignore[type-arg]
    """A set (and list) that forgets whatever it is given."""

    def add(self, item: object) -> None:
        """Forget ``item``."""

    def append(self, item: object) -> None:
        """Forget ``item``."""

    def discard(self, item: object) -> None:
        """Nothing to forget."""


#: Forgets whatever it is given, so one instance serves every change set that records no records.
_NOTHING = _Nothing()
