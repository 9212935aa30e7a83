"""The role table: order, coverage of Luigi's method names, fail-closed default."""

from __future__ import annotations

import pytest

from xrsched.auth.roles import METHOD_ROLES, Role, allowed, required_role
from xrsched.service.ownership import TASK_CHANGING_METHODS, WORKER_ARGUMENT_METHODS


def _words(text: str) -> list[str]:
    return text.split()


VIEWER = _words("""task_list worker_list resource_list task_search graph dep_graph inverse_dep_graph
fetch_error overview task_page task_info has_task_history task_history
is_pause_enabled is_paused get_task_status_message
get_task_progress_percentage get_running_task_resources count_pending system.listMethods
system.methodHelp system.methodSignature system.getCapabilities system.health system.multicall""")
WORKER = _words("""add_task add_worker add_task_batcher announce_scheduling_failure get_work ping
set_task_status_message set_task_progress_percentage decrease_running_task_resources
add_scheduler_message_response get_scheduler_message_response report_task_statistics""")
OPERATOR = _words("""mark_as_done re_enable_task forgive_failures disable_worker prune pause unpause
set_worker_processes send_scheduler_message update_resources update_resource""")
ADMIN = ["audit_search"]


def test_roles_are_ordered():
    assert Role.NONE < Role.VIEWER < Role.WORKER < Role.OPERATOR < Role.ADMIN
    assert [r.label for r in Role.grantable()] == ["viewer", "worker", "operator", "admin"]
    assert str(Role.OPERATOR) == "operator"


@pytest.mark.parametrize("text", ["admin", "ADMIN", " Admin "])
def test_parse_is_case_insensitive(text):
    assert Role.parse(text) is Role.ADMIN


def test_parse_names_the_valid_roles():
    with pytest.raises(ValueError, match="viewer, worker, operator, admin"):
        Role.parse("root")


@pytest.mark.parametrize("text", ["none", "NONE"])
def test_the_no_role_role_cannot_be_granted(text):
    with pytest.raises(ValueError, match=r"unknown role .*expected one of: viewer, worker, operator, admin\)"):
        Role.parse(text)


@pytest.mark.parametrize("method", [*sorted(METHOD_ROLES), "no.such.method"])
def test_the_no_role_role_may_call_nothing(method):
    assert not allowed(Role.NONE, method)


def test_table_matches_the_contract():
    expected = {m: Role.VIEWER for m in VIEWER}
    expected |= {m: Role.WORKER for m in WORKER}
    expected |= {m: Role.OPERATOR for m in OPERATOR}
    expected |= {m: Role.ADMIN for m in ADMIN}
    assert dict(METHOD_ROLES) == expected


def test_table_is_read_only():
    with pytest.raises(TypeError):
        METHOD_ROLES["prune"] = Role.VIEWER  # type: ignore[index]


#: Method -> minimum role, written out by hand from DESIGN §3 (not derived from the code).
MINIMUM_ROLE = {
    "task_list": "viewer",
    "worker_list": "viewer",
    "resource_list": "viewer",
    "task_search": "viewer",
    "graph": "viewer",
    "dep_graph": "viewer",
    "inverse_dep_graph": "viewer",
    "fetch_error": "viewer",
    "overview": "viewer",
    "task_page": "viewer",
    "task_info": "viewer",
    "has_task_history": "viewer",
    "task_history": "viewer",
    "is_pause_enabled": "viewer",
    "is_paused": "viewer",
    "get_task_status_message": "viewer",
    "get_task_progress_percentage": "viewer",
    "get_running_task_resources": "viewer",
    "count_pending": "viewer",
    "system.listMethods": "viewer",
    "system.methodHelp": "viewer",
    "system.methodSignature": "viewer",
    "system.getCapabilities": "viewer",
    "system.health": "viewer",
    "system.multicall": "viewer",
    "add_task": "worker",
    "add_worker": "worker",
    "add_task_batcher": "worker",
    "announce_scheduling_failure": "worker",
    "get_work": "worker",
    "ping": "worker",
    "set_task_status_message": "worker",
    "set_task_progress_percentage": "worker",
    "decrease_running_task_resources": "worker",
    "add_scheduler_message_response": "worker",
    "get_scheduler_message_response": "worker",
    "report_task_statistics": "worker",
    "mark_as_done": "operator",
    "re_enable_task": "operator",
    "forgive_failures": "operator",
    "disable_worker": "operator",
    "prune": "operator",
    "pause": "operator",
    "unpause": "operator",
    "set_worker_processes": "operator",
    "send_scheduler_message": "operator",
    "update_resources": "operator",
    "update_resource": "operator",
    "audit_search": "admin",
    "drop_all_tables": "admin",  # not a method: unknown names are admin-only
}
#: Minimum role -> the roles that may call such a method, also by hand.
CALLERS = {
    "viewer": {"viewer", "worker", "operator", "admin"},
    "worker": {"worker", "operator", "admin"},
    "operator": {"operator", "admin"},
    "admin": {"admin"},
}


def test_the_hand_written_table_covers_every_method():
    assert set(METHOD_ROLES) == set(MINIMUM_ROLE) - {"drop_all_tables"}


@pytest.mark.parametrize("method", sorted(MINIMUM_ROLE))
def test_each_role_may_call_exactly_the_methods_of_its_rank_and_below(method):
    may_call = {role.label for role in Role if allowed(role, method)}
    assert may_call == CALLERS[MINIMUM_ROLE[method]]
    assert required_role(method).label == MINIMUM_ROLE[method]


def test_examples():
    assert allowed(Role.VIEWER, "task_list")
    assert not allowed(Role.VIEWER, "add_task")
    assert allowed(Role.WORKER, "get_work")
    assert not allowed(Role.WORKER, "mark_as_done")
    assert allowed(Role.OPERATOR, "prune")
    assert not allowed(Role.WORKER, "update_resources")
    assert allowed(Role.OPERATOR, "update_resource")
    assert not allowed(Role.OPERATOR, "audit_search")


def test_unknown_methods_are_admin_only():
    assert required_role("drop_all_tables") is Role.ADMIN
    assert not allowed(Role.OPERATOR, "drop_all_tables")
    assert allowed(Role.ADMIN, "drop_all_tables")


def test_ownership_rules_name_only_methods_whose_minimum_role_is_worker():
    """A read method must never claim a worker id (issue 18: a viewer's ``count_pending`` did);
    an operator method is unrestricted anyway. So the enforced sets hold worker methods only."""
    enforced = WORKER_ARGUMENT_METHODS | TASK_CHANGING_METHODS
    assert {m: MINIMUM_ROLE[m] for m in enforced} == {m: "worker" for m in enforced}
    assert not WORKER_ARGUMENT_METHODS & TASK_CHANGING_METHODS
    assert "count_pending" not in enforced
