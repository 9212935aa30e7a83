"""Change tracking: what an edit touched, and what the store must write again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

    def __bool__(self) -> bool:
        return bool(
            self.tasks or self.removed_tasks or self.workers or self.removed_workers or self.meta or self.transitions
        )


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
