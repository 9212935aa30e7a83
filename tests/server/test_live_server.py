"""The assembled server over real TLS: auth, roles, ownership, multicall audit, health."""

from __future__ import annotations

import http.client
import ssl
import xmlrpc.client

import pytest


def test_admin_drives_a_task_through_its_life(live_server):
    proxy = live_server.proxy(live_server.admin)
    kwargs = {"__starstar": True}
    assert proxy.ping({**kwargs, "worker": "w1"}) == {"rpc_messages": []}
    proxy.add_task({**kwargs, "task_id": "T1", "worker": "w1", "family": "T", "params": {"x": "1"}})
    reply = proxy.get_work({**kwargs, "worker": "w1", "host": "h"})
    assert reply["task_id"] == "T1"
    assert reply["task_params"] == {"x": "1"}
    assert "task_module" not in reply  # nil-free: None members are left out
    proxy.add_task({**kwargs, "task_id": "T1", "worker": "w1", "status": "DONE"})
    listed = proxy.task_list("DONE", "")
    assert listed["T1"]["status"] == "DONE"


def test_missing_or_wrong_token_gets_401_with_basic_challenge(live_server):
    _, port = live_server.runtime.http.server_address
    conn = http.client.HTTPSConnection("localhost", port, context=live_server.context(), timeout=5)
    body = b"<?xml version='1.0'?><methodCall><methodName>ping</methodName><params/></methodCall>"
    conn.request("POST", "/RPC2", body=body, headers={"Content-Type": "text/xml"})
    response = conn.getresponse()
    assert response.status == 401
    assert response.getheader("WWW-Authenticate") == 'Basic realm="xrsched"'
    response.read()
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        live_server.proxy("not-a-token").ping("w")
    assert info.value.errcode == 401


def test_basic_auth_with_token_id_and_secret(live_server):
    secret = live_server.token("ops", "operator")
    proxy = live_server.basic_proxy("ops", secret)
    assert proxy.is_paused() == {"paused": False}


def test_viewer_may_read_but_not_write(live_server):
    secret = live_server.token("dash", "viewer")
    proxy = live_server.proxy(secret)
    assert proxy.task_list("", "") == {}
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.add_task("T", "PENDING", True, [], [], "", {}, 0, "F", "", {}, {}, False, False, "", "w")
    assert info.value.faultCode == 403
    assert "worker role" in info.value.faultString


def test_worker_token_cannot_touch_another_teams_task(live_server):
    team_a = live_server.proxy(live_server.token("team-a", "worker"))
    team_b = live_server.proxy(live_server.token("team-b", "worker"))
    team_a.add_task({"__starstar": True, "task_id": "A1", "worker": "wa", "family": "A"})
    with pytest.raises(xmlrpc.client.Fault) as info:
        team_b.add_task({"__starstar": True, "task_id": "A1", "worker": "wb", "status": "FAILED"})
    assert info.value.faultCode == 403
    with pytest.raises(xmlrpc.client.Fault) as info:
        team_b.ping({"__starstar": True, "worker": "wa"})
    assert info.value.faultCode == 403
    assert "another token" in info.value.faultString


def test_multicall_entries_are_audited_one_by_one(live_server):
    proxy = live_server.proxy(live_server.admin)
    multi = xmlrpc.client.MultiCall(proxy)
    multi.ping({"__starstar": True, "worker": "w"})
    multi.add_task({"__starstar": True, "task_id": "M1", "worker": "w"})
    multi.no_such_method()
    results = multi()
    assert results[0] == {"rpc_messages": []}
    with pytest.raises(xmlrpc.client.Fault) as info:
        results[2]
    assert info.value.faultCode == -32601
    records = [r for r in live_server.audit_records() if r.get("method") in ("ping", "add_task", "system.multicall")]
    assert [r["method"] for r in records][-3:] == ["ping", "add_task", "system.multicall"]
    assert all(r["outcome"] == "ok" for r in records[-3:])
    assert all(r["identity"].endswith("admin") for r in records[-3:])
    text = live_server.audit_path.read_text()
    assert live_server.admin not in text  # never a secret


def test_health_is_open_and_structured(live_server):
    _, port = live_server.runtime.http.server_address
    conn = http.client.HTTPSConnection("localhost", port, context=live_server.context(), timeout=5)
    conn.request("GET", "/health")
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("application/xml")
    assert b'<health status="ok"' in body
    assert b'<tls enabled="true" not-after=' in body
    struct = live_server.proxy(live_server.admin).system.health()
    assert struct["status"] == "ok" and struct["scheduler"]["tasks"] == 0


def test_introspection_reports_real_signatures(live_server):
    proxy = live_server.proxy(live_server.admin)
    names = proxy.system.listMethods()
    assert {"add_task", "get_work", "system.multicall", "system.health"} <= set(names)
    signature = proxy.system.methodSignature("get_work")
    assert signature[0][0] == "struct"
    assert "Hand" in proxy.system.methodHelp("get_work")


def test_token_rotation_without_restart(live_server):
    from xrsched.auth import revoke_token

    secret = live_server.token("rotating", "viewer")
    proxy = live_server.proxy(secret)
    assert proxy.is_paused() == {"paused": False}
    revoke_token(live_server.tokens_path, "rotating")
    live_server.runtime.reload()
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        proxy.is_paused()
    assert info.value.errcode == 401


def test_untrusted_certificate_is_refused_by_a_verifying_client(live_server):
    proxy = __import__("xmlrpc.client").client.ServerProxy(live_server.url, context=ssl.create_default_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        proxy.ping("w")


def test_retried_call_with_the_same_request_id_gets_the_first_answer(live_server):
    proxy = live_server.proxy(live_server.admin)
    for task_id in ("R1", "R2"):
        proxy.add_task({"__starstar": True, "task_id": task_id, "worker": "w"})
    call = {"__starstar": True, "worker": "w", "__request_id": "retry-me"}
    first = proxy.get_work(call)
    assert proxy.get_work(call) == first
    running = proxy.task_list("RUNNING", "")
    assert list(running) == [first["task_id"]]
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.get_work({**call, "__request_id": "bad id with spaces"})
    assert info.value.faultCode == -32602


def test_client_certificate_mapped_in_the_tokens_file_authenticates(live_server_factory, dev_certs):
    from xrsched.auth import map_certificate

    server = live_server_factory(tls_client_ca=str(dev_certs.ca_cert))
    map_certificate(server.tokens_path, dev_certs.client_cn, "operator", identity="ci-robot")
    server.runtime.reload()
    context = server.context()
    context.load_cert_chain(str(dev_certs.client_cert), str(dev_certs.client_key))
    proxy = xmlrpc.client.ServerProxy(server.url, context=context)  # no token at all
    proxy.pause()
    assert proxy.is_paused() == {"paused": True}
    records = [r for r in server.audit_records() if r.get("method") == "pause"]
    assert records[-1]["identity"].endswith("ci-robot") and records[-1]["role"] == "operator"
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.audit_search()  # admin only
    assert info.value.faultCode == 403
    # Without the certificate (and without a token) the same server answers 401.
    with pytest.raises(xmlrpc.client.ProtocolError) as refused:
        xmlrpc.client.ServerProxy(server.url, context=server.context()).is_paused()
    assert refused.value.errcode == 401
