"""Roles and the minimum role each XML-RPC method requires (DESIGN §3).

The table is the single source of truth: the RPC layer asks :func:`allowed` before dispatch
(for ``system.multicall`` once for the call and once per entry), and a test checks that every
registered method appears here.
"""

from __future__ import annotations

import enum
from types import MappingProxyType

from xrsched.core.scheduler import READ_ONLY_METHODS


class Role(enum.IntEnum):
    """Ordered roles: each one may do everything the lower ones may.

    :attr:`NONE` is the role of an authenticated caller to whom nothing is granted (an
    identity-provider user none of whose groups is mapped): below viewer, it may call no method,
    so every call is refused with 403 by the same check as any other missing permission. It
    cannot be given to a token (:meth:`parse` refuses it; :meth:`grantable` leaves it out).
    """

    NONE = 0
    VIEWER = 1
    WORKER = 2
    OPERATOR = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        """The lower-case name used in the tokens file, the CLI and the audit log."""
        return self.name.lower()

    @classmethod
    def grantable(cls) -> tuple[Role, ...]:
        """The roles a token, certificate or identity-provider group can be given (all but NONE)."""
        return tuple(role for role in cls if role is not cls.NONE)

    @classmethod
    def parse(cls, value: str) -> Role:
        """Turn ``"operator"`` (any case) into :attr:`OPERATOR`; ValueError names the valid roles."""
        try:
            role = cls[value.strip().upper()]
        except (KeyError, AttributeError):
            role = cls.NONE
        if role is cls.NONE:
            valid = ", ".join(r.label for r in cls.grantable())
            raise ValueError(f"unknown role {value!r} (expected one of: {valid})") from None
        return role

    def __str__(self) -> str:
        return self.label


_VIEWER_METHODS = (
    *sorted(READ_ONLY_METHODS),
    "task_history",
    "system.listMethods",
    "system.methodHelp",
    "system.methodSignature",
    "system.getCapabilities",
    "system.health",
    # The envelope needs only viewer; each entry inside it is authorized on its own.
    "system.multicall",
)
_WORKER_METHODS = (
    "add_task",
    "add_worker",
    "add_task_batcher",
    "announce_scheduling_failure",
    "get_work",
    "ping",
    "set_task_status_message",
    "set_task_progress_percentage",
    "decrease_running_task_resources",
    "add_scheduler_message_response",
    "get_scheduler_message_response",
    "report_task_statistics",
)
_OPERATOR_METHODS = (
    "mark_as_done",
    "re_enable_task",
    "forgive_failures",
    "disable_worker",
    "prune",
    "pause",
    "unpause",
    "set_worker_processes",
    "send_scheduler_message",
    "update_resources",
    "update_resource",
)
_ADMIN_METHODS = ("audit_search",)


def _table() -> dict[str, Role]:
    table: dict[str, Role] = {}
    for role, names in (
        (Role.VIEWER, _VIEWER_METHODS),
        (Role.WORKER, _WORKER_METHODS),
        (Role.OPERATOR, _OPERATOR_METHODS),
        (Role.ADMIN, _ADMIN_METHODS),
    ):
        for name in names:
            if name in table:
                raise AssertionError(f"method {name} listed twice")
            table[name] = role
    return table


METHOD_ROLES: MappingProxyType[str, Role] = MappingProxyType(_table())
"""Minimum role per XML-RPC method (read-only). Which worker ids and tasks a worker-role caller
may act on is decided in :mod:`xrsched.service.ownership`, not here."""


def required_role(method: str) -> Role:
    """The minimum role for ``method``; methods not in the table require :attr:`Role.ADMIN`."""
    return METHOD_ROLES.get(method, Role.ADMIN)


def allowed(role: Role, method: str) -> bool:
    """Whether ``role`` may call ``method``.

    Unknown methods are admin-only (fail closed: a method someone registers but forgets to list
    here is never open to lesser roles). The RPC layer should answer -32601 for names it does
    not know before asking, so admins get the usual fault for a typo.
    """
    return role >= required_role(method)
