"""The role table: order, coverage of Luigi's method names, fail-closed default."""

from __future__ import annotations

import pytest

from xrsched.auth.roles import (
    METHOD_ROLES,
    TASK_SCOPED_METHODS,
    WORKER_SCOPED_METHODS,
    Role,
    allowed,
    required_role,
)


def _words(text: str) -> list[str]:
    return text.split()


VIEWER = _words("""task_list worker_list resource_list task_search graph dep_graph inverse_dep_graph
fetch_error has_task_history task_history is_pause_enabled is_paused get_task_status_message
get_task_progress_percentage get_running_task_resources count_pending system.listMethods
system.methodHelp system.methodSignature system.getCapabilities system.health system.multicall""")
WORKER = _words("""add_task add_worker add_task_batcher announce_scheduling_failure get_work ping
set_task_status_message set_task_progress_percentage decrease_running_task_resources
add_scheduler_message_response get_scheduler_message_response report_task_statistics""")
OPERATOR = _words("""mark_as_done re_enable_task forgive_failures disable_worker prune pause unpause
set_worker_processes send_scheduler_message""")
ADMIN = ["update_resources", "update_resource"]


def test_roles_are_ordered():
    assert Role.VIEWER < Role.WORKER < Role.OPERATOR < Role.ADMIN
    assert [r.label for r in Role] == ["viewer", "worker", "operator", "admin"]
    assert str(Role.OPERATOR) == "operator"


@pytest.mark.parametrize("text", ["admin", "ADMIN", " Admin "])
def test_parse_is_case_insensitive(text):
    assert Role.parse(text) is Role.ADMIN


def test_parse_names_the_valid_roles():
    with pytest.raises(ValueError, match="viewer, worker, operator, admin"):
        Role.parse("root")


def test_table_matches_the_contract():
    expected = {m: Role.VIEWER for m in VIEWER}
    expected |= {m: Role.WORKER for m in WORKER}
    expected |= {m: Role.OPERATOR for m in OPERATOR}
    expected |= {m: Role.ADMIN for m in ADMIN}
    assert dict(METHOD_ROLES) == expected


def test_table_is_read_only():
    with pytest.raises(TypeError):
        METHOD_ROLES["prune"] = Role.VIEWER  # type: ignore[index]


@pytest.mark.parametrize("method", sorted(VIEWER + WORKER + OPERATOR + ADMIN))
def test_each_role_may_call_exactly_the_methods_at_or_below_it(method):
    needed = METHOD_ROLES[method]
    for role in Role:
        assert allowed(role, method) is (role >= needed)


def test_examples():
    assert allowed(Role.VIEWER, "task_list")
    assert not allowed(Role.VIEWER, "add_task")
    assert allowed(Role.WORKER, "get_work")
    assert not allowed(Role.WORKER, "mark_as_done")
    assert allowed(Role.OPERATOR, "prune")
    assert not allowed(Role.OPERATOR, "update_resources")
    assert allowed(Role.ADMIN, "update_resource")


def test_unknown_methods_are_admin_only():
    assert required_role("drop_all_tables") is Role.ADMIN
    assert not allowed(Role.OPERATOR, "drop_all_tables")
    assert allowed(Role.ADMIN, "drop_all_tables")


def test_scoped_methods_are_worker_methods():
    assert set(WORKER_SCOPED_METHODS) == {
        "add_task",
        "add_worker",
        "add_task_batcher",
        "announce_scheduling_failure",
        "get_work",
        "ping",
    }
    assert all(METHOD_ROLES[m] is Role.WORKER for m in WORKER_SCOPED_METHODS | TASK_SCOPED_METHODS)
    assert not WORKER_SCOPED_METHODS & TASK_SCOPED_METHODS
