"""luigid's ``/api/<method>`` on the assembled server over real TLS: codec, limits, auth, roles,
ownership, audit, GET for read-only methods only, cross-site refusal and ``[cors]``."""

from __future__ import annotations

import http.client
import json
import logging
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pytest

from tests.server.conftest import LiveServer

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        assert self.headers["Content-Type"].startswith("application/json"), self.body
        return json.loads(self.body)


def api(
    live: LiveServer,
    method: str,
    args: dict | None = None,
    *,
    secret: str | None = None,
    token_id: str = "admin",
    verb: str = "POST",
    headers: dict[str, str] | None = None,
    raw: str | None = None,
) -> Answer:
    """One request to ``/api/<method>`` with the credentials in HTTP Basic, as Luigi sends them."""
    _, port = live.runtime.http.server_address
    conn = http.client.HTTPSConnection("localhost", port, context=live.context(), timeout=10)
    data = raw if raw is not None else (json.dumps(args) if args is not None else None)
    sent = {"Authorization": live.basic(token_id, live.admin if secret is None else secret), **(headers or {})}
    try:
        if verb == "POST":
            body = urlencode({"data": data}) if data is not None else ""
            conn.request("POST", f"/api/{method}", body=body, headers={**FORM, **sent})
        else:
            query = f"?data={quote(data)}" if data is not None else ""
            conn.request(verb, f"/api/{method}{query}", headers=sent)
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        conn.close()


def test_post_form_data_answers_response_in_json(live_server):
    assert api(live_server, "add_worker", {"worker": "w1", "info": {"host": "h"}}).json() == {"response": None}
    api(live_server, "add_task", {"worker": "w1", "task_id": "T_1", "family": "T", "params": {"x": "1"}})
    reply = api(live_server, "get_work", {"worker": "w1", "host": "h", "current_tasks": None}).json()["response"]
    assert reply["task_id"] == "T_1"
    assert reply["task_module"] is None  # null where Luigi has None (XML-RPC leaves the member out)


def test_get_with_data_and_missing_data_means_no_arguments(live_server):
    api(live_server, "add_task", {"worker": "w1", "task_id": "T_1", "family": "T"})
    listed = api(live_server, "task_list", {"status": "PENDING", "upstream_status": ""}, verb="GET").json()
    assert list(listed["response"]) == ["T_1"]
    assert api(live_server, "worker_list", verb="GET").json()["response"][0]["name"] == "w1"
    assert api(live_server, "is_paused").json() == {"response": {"paused": False}}


def test_get_refuses_a_method_that_changes_state(live_server):
    answer = api(live_server, "add_task", {"worker": "w1", "task_id": "T_1"}, verb="GET")
    assert answer.status == 405
    assert answer.headers["Allow"] == "POST"
    assert "send it as POST" in answer.json()["error"]["message"]
    calls = [{"methodName": "add_task", "params": [{"__starstar": True, "worker": "w1", "task_id": "T_1"}]}]
    assert api(live_server, "system.multicall", {"calls": calls}, verb="GET").status == 405
    assert api(live_server, "task_list", {"status": "", "upstream_status": ""}).json() == {"response": {}}


def test_unknown_method_is_404_and_bad_arguments_400_with_the_parameter_named(live_server):
    missing = api(live_server, "no_such_method", {})
    assert missing.status == 404
    assert missing.json()["error"]["code"] == -32601
    wrong = api(live_server, "add_task", {"worker": "w1", "task_id": 7})
    assert wrong.status == 400
    assert "'task_id'" in wrong.json()["error"]["message"]
    not_json = api(live_server, "ping", raw="{worker")
    assert not_json.status == 400 and "not valid JSON" in not_json.json()["error"]["message"]
    not_object = api(live_server, "ping", raw="[1]")
    assert not_object.status == 400 and "JSON object" in not_object.json()["error"]["message"]


def test_deep_or_huge_json_is_refused_before_parsing(live_server):
    deep = api(live_server, "ping", raw='{"worker": ' + "[" * 50_000 + "]" * 50_000 + "}")
    assert deep.status == 400
    assert "nested deeper than 64" in deep.json()["error"]["message"]
    many = api(live_server, "ping", raw='{"worker": [' + ",".join(["0"] * 100_001) + "]}")
    assert many.status == 400
    assert "more than 100000 values" in many.json()["error"]["message"]
    # Brackets inside strings are text, not nesting.
    assert api(live_server, "ping", {"worker": "[" * 100}).status == 200


def test_body_over_the_limit_is_413(live_server_factory):
    live = live_server_factory(max_request_bytes=2048)
    assert api(live, "ping", {"worker": "x" * 4000}).status == 413


def test_wrong_token_is_401_at_once_and_logged_once_per_peer_and_token(live_server, caplog):
    caplog.set_level(logging.WARNING, logger="xrsched.server")
    for _ in range(3):  # Luigi's three attempts
        answer = api(live_server, "ping", {"worker": "w"}, token_id="luigi", secret="wrong-secret-1234567890")
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="xrsched"'
        assert b"https://TOKEN_ID:SECRET@host:port/" in answer.body
    refusals = [r.getMessage() for r in caplog.records if "refused credentials" in r.getMessage()]
    assert len(refusals) == 1
    assert "token id 'luigi'" in refusals[0] and "wrong-secret" not in refusals[0]
    api(live_server, "ping", {"worker": "w"}, token_id="other", secret="wrong-secret-1234567890")
    assert sum("refused credentials" in r.getMessage() for r in caplog.records) == 2
    audited = [r for r in live_server.audit_records() if r["outcome"] == 401]
    assert len(audited) == 4


def test_roles_ownership_and_audit_are_those_of_xmlrpc(live_server):
    viewer = live_server.token("dash", "viewer")
    refused = api(live_server, "add_task", {"worker": "w", "task_id": "T_1"}, token_id="dash", secret=viewer)
    assert refused.status == 403 and "worker role" in refused.json()["error"]["message"]
    team_a = live_server.token("team-a", "worker")
    team_b = live_server.token("team-b", "worker")
    assert api(live_server, "add_worker", {"worker": "wa", "info": {}}, token_id="team-a", secret=team_a).status == 200
    stolen = api(live_server, "ping", {"worker": "wa"}, token_id="team-b", secret=team_b)
    assert stolen.status == 403
    records = live_server.audit_records()
    assert [(r["method"], r["outcome"], r["identity"]) for r in records[-3:]] == [
        ("add_task", 403, "token:dash"),
        ("add_worker", "ok", "token:team-a"),
        ("ping", 403, "token:team-b"),
    ]


def test_an_internal_error_is_500_with_an_incident_id_and_no_traceback(live_server, caplog):
    def explode() -> None:
        """A method that fails the way a bug would."""
        raise KeyError("internal detail")

    live_server.runtime.app.dispatcher.register_function(explode, "explode")
    answer = api(live_server, "explode", {})
    assert answer.status == 500
    message = answer.json()["error"]["message"]
    assert message.startswith("internal error; incident ")
    assert b"internal detail" not in answer.body and b"Traceback" not in answer.body
    incident = message.rsplit(" ", 1)[1]
    assert any(incident in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}],
)
def test_a_cross_site_post_is_refused(live_server, headers):
    answer = api(live_server, "add_worker", {"worker": "w", "info": {}}, headers=headers)
    assert answer.status == 403
    assert b"cross-site request refused" in answer.body
    assert api(live_server, "worker_list", verb="GET").json() == {"response": []}


def test_a_post_from_the_server_own_origin_or_without_origin_is_served(live_server):
    _, port = live_server.runtime.http.server_address
    same = api(live_server, "add_worker", {"worker": "w", "info": {}}, headers={"Origin": f"https://localhost:{port}"})
    assert same.status == 200
    assert "Access-Control-Allow-Origin" not in same.headers  # no [cors]: no CORS headers at all
    assert api(live_server, "ping", {"worker": "w"}, headers={"Sec-Fetch-Site": "same-origin"}).status == 200


def test_cors_settings_allow_an_origin_with_luigids_keys(live_server_factory):
    # As the TOML [cors] table (luigid's keys) reaches the loader.
    live = live_server_factory(
        cors={"enabled": True, "allowed_origins": ["https://dash.example", "*"], "allow_credentials": True}
    )
    origin = {"Origin": "https://dash.example"}
    allowed = api(live, "add_worker", {"worker": "w", "info": {}}, headers=origin)
    assert allowed.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://dash.example"
    assert allowed.headers["Vary"] == "Origin"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert api(live, "add_worker", {"worker": "w"}, headers={"Origin": "https://other.example"}).status == 403
    preflight = api(live, "add_worker", verb="OPTIONS", headers=origin)
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    assert preflight.headers["Access-Control-Max-Age"] == "86400"
    assert (
        api(live, "add_worker", verb="OPTIONS", headers={"Origin": "https://other.example"}).headers[
            "Access-Control-Allow-Origin"
        ]
        is None
    )


def test_a_repeated_request_id_gets_the_first_answer(live_server):
    for task_id in ("T_1", "T_2"):
        api(live_server, "add_task", {"worker": "w1", "task_id": task_id, "family": "T"})
    first = api(live_server, "get_work", {"worker": "w1", "host": "h", "__request_id": "r-1"}).json()
    again = api(live_server, "get_work", {"worker": "w1", "host": "h", "__request_id": "r-1"}).json()
    assert first == again and first["response"]["task_id"] in ("T_1", "T_2")
    running = api(live_server, "task_list", {"status": "RUNNING", "upstream_status": ""}).json()["response"]
    assert list(running) == [first["response"]["task_id"]]


def test_other_bodies_and_missing_credentials_are_refused_over_http(live_server):
    _, port = live_server.runtime.http.server_address
    conn = http.client.HTTPSConnection("localhost", port, context=live_server.context(), timeout=10)
    try:
        conn.request("GET", "/api/task_list")
        response = conn.getresponse()
        assert (response.status, response.getheader("WWW-Authenticate")) == (401, 'Basic realm="xrsched"')
        response.read()
        headers = {"Authorization": live_server.basic("admin", live_server.admin), "Content-Type": "application/json"}
        conn.request("POST", "/api/ping", body=json.dumps({"worker": "w"}), headers=headers)
        response = conn.getresponse()
        assert response.status == 415
        assert b"form field 'data'" in response.read()
        conn.request("PUT", "/api/ping", body=b"", headers=headers)
        response = conn.getresponse()
        assert (response.status, response.getheader("Allow")) == (405, "GET, HEAD, POST, OPTIONS")
        response.read()
    finally:
        conn.close()
