"""Every method of docs/api.rst, called by each role on a live server: what it may change.

The server holds another team's worker ``w-prod`` (claimed by the worker token ``other``) running
``P1`` with ``P2`` pending. Each case names the method, its arguments and what kind of call it is;
the expected outcome per role follows from the kind (DESIGN §3):

* ``read``: every role may call it and nothing changes: no task, no worker record (not even its
  ``last_active``), no worker-id claim (issue 18: a viewer's ``count_pending(worker=...)`` claimed
  the id and locked the real worker out).
* ``foreign``: a worker method naming another token's worker id or task: a viewer is refused
  for its role, a worker token for ownership, both with nothing changed; operators and admins
  act for anyone, and never claim a worker id.
* ``own``: a worker method on the caller's own fresh worker id: a worker token claims that id
  (and nothing else); operators and admins claim nothing.
* ``foreign-read``: a worker-role method that only reads another token's task; changes nothing.
* ``control``/``admin``: refused below operator/admin with nothing changed.

The state is read before and after every call through an admin token and the server's claims.
"""

from __future__ import annotations

import re
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

API = Path(__file__).resolve().parents[2] / "docs" / "api.rst"
KW = {"__starstar": True}
ROLES = ("viewer", "worker", "operator", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
#: The lowest role each kind of case needs.
NEEDS = {
    "read": "viewer",
    "foreign-read": "worker",
    "foreign": "worker",
    "own": "worker",
    "control": "operator",
    "admin": "admin",
}


@dataclass(frozen=True)
class Case:
    method: str
    params: tuple[Any, ...]
    kind: str
    #: Worker ids this call may claim for a worker token (``own`` cases).
    claims: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.method}{self.params!r}"


def kw(**members: Any) -> tuple[Any, ...]:
    return ({**KW, **members},)


CASES = (
    # Reads, including those that name a worker or a task of another token.
    Case("count_pending", ("w-prod",), "read"),
    Case("count_pending", ("w-nobody",), "read"),
    Case("task_list", ("", ""), "read"),
    Case("worker_list", (), "read"),
    Case("resource_list", (), "read"),
    Case("task_search", ("P",), "read"),
    Case("graph", (), "read"),
    Case("dep_graph", ("P1",), "read"),
    Case("inverse_dep_graph", ("P1",), "read"),
    Case("fetch_error", ("P1",), "read"),
    Case("overview", (), "read"),
    Case("task_page", kw(search="P", limit=5), "read"),
    Case("task_info", ("P1",), "read"),
    Case("has_task_history", (), "read"),
    Case("task_history", ("P1",), "read"),
    Case("is_pause_enabled", (), "read"),
    Case("is_paused", (), "read"),
    Case("get_task_status_message", ("P1",), "read"),
    Case("get_task_progress_percentage", ("P1",), "read"),
    Case("get_running_task_resources", ("P1",), "read"),
    Case("system.listMethods", (), "read"),
    Case("system.methodHelp", ("ping",), "read"),
    Case("system.methodSignature", ("ping",), "read"),
    Case("system.getCapabilities", (), "read"),
    Case("system.health", (), "read"),
    Case("system.multicall", ([{"methodName": "count_pending", "params": ["w-prod"]}],), "read"),
    # Worker methods aimed at another token's worker id or task.
    Case("ping", ("w-prod",), "foreign"),
    Case("add_worker", ("w-prod", {}), "foreign"),
    Case("get_work", kw(worker="w-prod", host="h"), "foreign"),
    Case("add_task", kw(task_id="P2", worker="w-prod", family="P"), "foreign"),
    Case("add_task", kw(task_id="P1", worker="w-mine", status="DONE"), "foreign"),
    Case("add_task", kw(task_id="P1", worker="w-mine", status="FAILED", expl="x"), "foreign"),
    Case("add_task_batcher", ("w-prod", "P", ["x"]), "foreign"),
    Case("announce_scheduling_failure", kw(task_name="P1", family="P", worker="w-prod"), "foreign"),
    Case("set_task_status_message", ("P1", "hijacked"), "foreign"),
    Case("set_task_progress_percentage", ("P1", 99), "foreign"),
    Case("decrease_running_task_resources", ("P1", {"r": 1}), "foreign"),
    Case("add_scheduler_message_response", ("P1", "m1", "yes"), "foreign"),
    Case("report_task_statistics", ("P1", {"rows": 1}), "foreign"),
    Case("get_scheduler_message_response", ("P1", "m1"), "foreign-read"),
    Case("system.multicall", ([{"methodName": "ping", "params": ["w-prod"]}],), "foreign"),
    # Worker methods on the caller's own, fresh worker id.
    Case("ping", ("w-new",), "own", claims=("w-new",)),
    Case("add_worker", ("w-new2", {"host": "h"}), "own", claims=("w-new2",)),
    Case("add_task", kw(task_id="M1", worker="w-new3", family="M"), "own", claims=("w-new3",)),
    Case("get_work", kw(worker="w-new4", host="h"), "own", claims=("w-new4",)),
    # Operator and admin methods.
    Case("mark_as_done", ("P2",), "control"),
    Case("re_enable_task", ("P2",), "control"),
    Case("forgive_failures", ("P2",), "control"),
    Case("disable_worker", ("w-idle",), "control"),
    Case("prune", (), "control"),
    Case("pause", (), "control"),
    Case("unpause", (), "control"),
    Case("set_worker_processes", ("w-prod", 2), "control"),
    Case("send_scheduler_message", ("w-prod", "P1", "hello"), "control"),
    Case("update_resource", ("r", 3), "control"),
    Case("update_resources", kw(r=4), "control"),
    Case("audit_search", kw(limit=5), "admin"),
)


def documented_methods() -> set[str]:
    return set(re.findall(r"\n([A-Za-z_.]+)\n-+\n", API.read_text()))


def test_the_matrix_covers_every_documented_method():
    assert documented_methods() - {case.method for case in CASES} == set()
    assert len(documented_methods()) > 40


def world(live_server, caller_role: str):
    """Start the world: another team's worker runs P1 and holds P2; return the caller's proxy
    and the other team's."""
    other = live_server.proxy(live_server.token("other", "worker"))
    other.add_task({**KW, "task_id": "P1", "worker": "w-prod", "family": "P", "priority": 10, "accepts_messages": True})
    other.add_task({**KW, "task_id": "P2", "worker": "w-prod", "family": "P"})
    assert other.get_work({**KW, "worker": "w-prod", "host": "prod"})["task_id"] == "P1"
    other.set_task_status_message("P1", "working")
    other.ping("w-idle")
    caller = live_server.proxy(live_server.token(f"as-{caller_role}", caller_role))
    if caller_role == "worker":
        caller.ping("w-mine")  # the caller's own id, which it uses to try reporting on P1
    return caller, other


def snapshot(live_server, admin) -> dict[str, Any]:
    """Everything a call could change that these cases reach, read without changing it."""
    return {
        "tasks": admin.task_list("", "", False),
        "workers": admin.worker_list(),
        "paused": admin.is_paused(),
        "resources": admin.resource_list(),
        "p1_resources": admin.get_running_task_resources("P1"),
        "p1_history": admin.task_history("P1"),
        "answer": admin.get_scheduler_message_response("P1", "m1"),
        "claims": live_server.runtime.service.claims(),
    }


def outcome(proxy, case: Case) -> tuple[str, int | None, str]:
    """("ok"|"fault", code, text); a single-entry multicall reports its entry."""
    try:
        result = getattr(proxy, case.method)(*case.params)
    except xmlrpc.client.Fault as fault:
        return "fault", fault.faultCode, fault.faultString
    if case.method == "system.multicall" and isinstance(result[0], dict) and "faultCode" in result[0]:
        return "fault", result[0]["faultCode"], result[0]["faultString"]
    return "ok", None, ""


def expected(case: Case, role: str) -> str:
    """ "ok", "role" (refused for the role) or "owner" (refused by the ownership rules)."""
    if RANK[role] < RANK[NEEDS[case.kind]]:
        return "role"
    if case.kind == "foreign" and role == "worker":
        return "owner"
    return "ok"


def without_own_claims(claims: dict[str, str], case: Case) -> dict[str, str]:
    return {worker: owner for worker, owner in claims.items() if worker not in case.claims}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_changes_only_what_it_may(live_server, role):
    caller, other = world(live_server, role)
    admin = live_server.proxy(live_server.admin)
    principal = f"token:as-{role}"
    checked = 0
    for case in CASES:
        before = snapshot(live_server, admin)
        verdict, code, text = outcome(caller, case)
        after = snapshot(live_server, admin)
        want = expected(case, role)
        if want == "ok":
            assert verdict == "ok", f"{role} {case}: {code} {text}"
        else:
            assert (verdict, code) == ("fault", 403), f"{role} {case}: {verdict} {code} {text}"
            if want == "role":
                assert "role" in text, f"{role} {case}: {text}"
            else:
                assert re.search(r"another token|not held|may not", text), f"{role} {case}: {text}"
        if want != "ok" or case.kind in ("read", "foreign-read"):
            assert after == before, f"{role} {case} changed the state"
        elif role == "worker" and case.kind == "own":
            gained = {w: o for w, o in after["claims"].items() if w not in before["claims"]}
            assert gained == {w: principal for w in case.claims}, f"{role} {case}"
        else:
            assert after["claims"] == before["claims"], f"{role} {case} claimed a worker id"
        assert without_own_claims(after["claims"], case) == without_own_claims(before["claims"], case)
        checked += 1
    assert checked == len(CASES)
    # The other team's worker still works after everything the caller tried.
    assert "rpc_messages" in other.ping("w-prod")
    assert live_server.runtime.service.claims()["w-prod"] == "token:other"
