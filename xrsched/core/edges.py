"""The reverse dependency index: which tasks list a given task as a dependency."""

from __future__ import annotations

#: Up to this many dependents of one task are kept in a tuple, beyond it in a set.
_SMALL_FANOUT = 8


def packed(dependents: list[str]) -> str | tuple[str, ...] | set[str]:
    """Distinct dependents in the shape :class:`ReverseIndex` keeps them (for building it in bulk)."""
    if len(dependents) == 1:
        return dependents[0]
    return tuple(dependents) if len(dependents) <= _SMALL_FANOUT else set(dependents)


class ReverseIndex:
    """Mixin of :class:`~xrsched.core.state.SchedulerState` that owns ``rdeps``.

    A lone dependent is stored as a bare string, a few as a tuple and many as a set: most tasks
    have one or two dependents, and a set costs 216 bytes.
    """

    #: dependency id -> the dependent id(s); the dependency may name no task yet.
    rdeps: dict[str, str | tuple[str, ...] | set[str]]

    def _link(self, dep: str, dependent: str) -> None:
        current = self.rdeps.get(dep)
        if current is None:
            self.rdeps[dep] = dependent
        elif isinstance(current, str):
            if current != dependent:
                self.rdeps[dep] = (current, dependent)
        elif isinstance(current, tuple):
            if dependent not in current:
                self.rdeps[dep] = (*current, dependent) if len(current) < _SMALL_FANOUT else {*current, dependent}
        else:
            current.add(dependent)

    def _unlink(self, dep: str, dependent: str) -> None:
        current = self.rdeps.get(dep)
        if current is None:
            return
        if isinstance(current, str):
            if current == dependent:
                del self.rdeps[dep]
            return
        if isinstance(current, set):
            current.discard(dependent)
            if len(current) > _SMALL_FANOUT:
                return
            remaining = tuple(current)
        else:
            remaining = tuple(d for d in current if d != dependent)
        if not remaining:
            del self.rdeps[dep]
        elif len(remaining) == 1:
            self.rdeps[dep] = remaining[0]
        else:
            self.rdeps[dep] = remaining

    def dependents(self, task_id: str) -> tuple[str, ...]:
        """Ids of the tasks that list ``task_id`` as a dependency. O(result)."""
        current = self.rdeps.get(task_id)
        if current is None:
            return ()
        if isinstance(current, str):
            return (current,)
        return tuple(current)
