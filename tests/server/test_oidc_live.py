"""Identity-provider JWTs against a real server over TLS, with the key set served over HTTPS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.auth.oidc.idp import AUDIENCE, ISSUER, JwksServer, SigningKey, claims, sign
from tests.auth.oidc.test_verifier import forged
from tests.server.test_api_endpoint import api
from tests.waiting import wait_for
from xrsched.client.errors import AuthenticationFailed, Forbidden
from xrsched.client.remote import RemoteScheduler
from xrsched.health import parse_xml

KW = {"__starstar": True}
ROLES = {"sched-admins": "admin", "data-eng": "operator", "etl-bots": "worker", "readers": "viewer"}
XRSCHED = str(Path(sys.executable).parent / "xrsched")


@pytest.fixture
def rsa_key() -> SigningKey:
    return SigningKey.rsa("k1")


@pytest.fixture
def idp(dev_certs, rsa_key) -> Iterator[JwksServer]:
    server = JwksServer(str(dev_certs.server_cert), str(dev_certs.server_key)).start()
    server.serve(rsa_key)
    yield server
    server.stop()


@pytest.fixture
def start(live_server_factory, idp, dev_certs):
    def start(**oidc):
        table = {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks": idp.url,
            "ca": str(dev_certs.ca_cert),
            "roles": ROLES,
            "min_refresh_interval": 0,
            **oidc,
        }
        return live_server_factory(oidc=table)

    return start


def status_of(error: Exception) -> int:
    if isinstance(error, xmlrpc.client.ProtocolError):
        return error.errcode
    assert isinstance(error, xmlrpc.client.Fault)
    return error.faultCode


def health(live, bearer: str | None = None) -> tuple[int, bytes]:
    _, port = live.runtime.http.server_address
    conn = http.client.HTTPSConnection("localhost", port, context=live.context(), timeout=10)
    try:
        conn.request("GET", "/health", headers={"Authorization": f"Bearer {bearer}"} if bearer else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_valid_token_works_with_its_mapped_role(start, rsa_key):
    live = start()
    worker = live.proxy(sign(rsa_key, claims("etl-1", groups=["etl-bots"])))
    worker.add_task({**KW, "task_id": "T1", "worker": "w-etl", "family": "T"})
    assert worker.get_work({**KW, "worker": "w-etl", "host": "h"})["task_id"] == "T1"
    with pytest.raises(xmlrpc.client.Fault) as denied:
        worker.mark_as_done("T1")  # operator and up
    assert denied.value.faultCode == 403
    operator = live.proxy(sign(rsa_key, claims("olga", groups=["readers", "data-eng"])))
    operator.mark_as_done("T1")
    records = [r for r in live.audit_records() if r["method"] in ("add_task", "mark_as_done")]
    assert [(r["identity"], r["role"], r["outcome"]) for r in records] == [
        ("oidc:etl-1", "worker", "ok"),
        ("oidc:etl-1", "worker", 403),
        ("oidc:olga", "operator", "ok"),
    ]


def test_api_and_multicall_take_the_same_identity(start, rsa_key):
    live = start()
    token = sign(rsa_key, claims("etl-3", groups=["etl-bots"]))
    answer = api(live, "add_task", {"task_id": "A1", "worker": "w-3"}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200, answer.body
    multi = xmlrpc.client.MultiCall(live.proxy(token))
    multi.ping("w-3")
    multi.mark_as_done("A1")
    results = multi()
    assert results[0] is not None
    with pytest.raises(xmlrpc.client.Fault) as denied:
        results[1]
    assert denied.value.faultCode == 403
    records = [(r["identity"], r["method"], r["outcome"]) for r in live.audit_records() if r["method"] != "/health"]
    assert records[-4:] == [
        ("oidc:etl-3", "add_task", "ok"),
        ("oidc:etl-3", "ping", "ok"),
        ("oidc:etl-3", "mark_as_done", 403),
        ("oidc:etl-3", "system.multicall", "ok"),
    ]


def test_our_own_tokens_still_work_next_to_jwts(start, rsa_key):
    live = start()
    assert "ping" in live.proxy(live.admin).system.listMethods()
    assert "ping" in live.basic_proxy("admin", live.admin).system.listMethods()


@pytest.mark.parametrize(
    "case", ["expired", "wrong audience", "wrong issuer", "bad signature", "alg none", "hs256 with the public key"]
)
def test_bad_tokens_are_refused_with_401_and_audited(start, rsa_key, case):
    live = start(leeway=5)
    now = int(time.time())
    admin = {"groups": ["sched-admins"]}
    if case == "expired":
        token = sign(rsa_key, claims(**admin, exp=now - 60))
    elif case == "wrong audience":
        token = sign(rsa_key, claims(**admin, aud="other-app"))
    elif case == "wrong issuer":
        token = sign(rsa_key, claims(**admin, iss="https://evil.test"))
    elif case == "bad signature":
        token = sign(SigningKey.rsa("k1"), claims(**admin))
    elif case == "alg none":
        token = forged({"alg": "none", "kid": "k1"}, claims(**admin))
    else:
        unsigned = forged({"alg": "HS256", "kid": "k1"}, claims(**admin)).rsplit(".", 1)[0]
        mac = hmac.new(rsa_key.public_pem(), unsigned.encode(), hashlib.sha256).digest()
        token = unsigned + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(xmlrpc.client.ProtocolError) as refused:
        live.proxy(token).system.listMethods()
    assert refused.value.errcode == 401
    assert api(live, "task_list", {}, headers={"Authorization": f"Bearer {token}"}).status == 401
    assert live.audit_records()[-1]["outcome"] == 401


def test_no_mapped_role_is_403_not_viewer_and_the_audit_says_role_none(start, rsa_key):
    live = start()
    token = sign(rsa_key, claims("mallory", groups=["marketing"]))
    for call in (lambda p: p.system.listMethods(), lambda p: p.task_list("", ""), lambda p: p.ping("w-m")):
        with pytest.raises(xmlrpc.client.Fault) as denied:
            call(live.proxy(token))
        assert denied.value.faultCode == 403
        assert "oidc:mallory has no role" in denied.value.faultString
    answer = api(live, "task_list", {}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 403
    records = [r for r in live.audit_records() if r["identity"] == "oidc:mallory"]
    assert len(records) == 4
    assert {(r["role"], r["outcome"]) for r in records} == {("none", 403)}
    assert "w-m" not in live.runtime.service.core.workers  # refused calls claim nothing


def test_worker_ids_belong_to_the_subject_that_first_used_them(start, rsa_key):
    live = start()
    alice = live.proxy(sign(rsa_key, claims("alice", groups=["etl-bots"])))
    bob = live.proxy(sign(rsa_key, claims("bob", groups=["etl-bots"])))
    alice.add_worker("w-shared", {})
    with pytest.raises(xmlrpc.client.Fault) as denied:
        bob.ping("w-shared")
    assert denied.value.faultCode == 403
    # A fresh token of the same subject is the same owner.
    alice_again = live.proxy(sign(rsa_key, claims("alice", groups=["etl-bots"], jti="second")))
    alice_again.ping("w-shared")
    # The periodic release of revoked claims keeps those of subjects with a valid worker token.
    live.runtime.release_revoked_claims()
    with pytest.raises(xmlrpc.client.Fault):
        bob.ping("w-shared")
    pings = [(r["identity"], r["outcome"]) for r in live.audit_records() if r["method"] == "ping"]
    assert pings == [("oidc:bob", 403), ("oidc:alice", "ok"), ("oidc:bob", 403)]


def test_a_key_rotation_is_picked_up_without_a_restart(start, idp, rsa_key):
    live = start(min_refresh_interval=1)
    assert live.proxy(sign(rsa_key, claims(groups=["readers"]))).system.listMethods()
    new_key = SigningKey.ec("e2")
    idp.serve(rsa_key, new_key)
    time.sleep(1.1)  # past the refresh-rate bound, so the unknown kid may trigger a fetch
    assert live.proxy(sign(new_key, claims(groups=["readers"]))).system.listMethods()


def test_a_flood_of_unknown_kids_does_not_flood_the_key_server(start, idp, rsa_key):
    live = start(min_refresh_interval=60)
    fetched = idp.requests
    for i in range(40):
        with pytest.raises(xmlrpc.client.ProtocolError) as refused:
            live.proxy(sign(rsa_key, claims(groups=["readers"]), kid=f"bogus-{i}")).system.listMethods()
        assert refused.value.errcode == 401
    assert idp.requests == fetched


def test_a_key_server_that_is_down_keeps_cached_keys_and_degrades_health(start, idp, rsa_key):
    live = start(refresh_interval=1, min_refresh_interval=0)
    status, document = health(live)
    report = parse_xml(document)
    assert (status, report.status) == (200, "ok")
    assert report.oidc is not None and report.oidc.keys == 1 and report.oidc.refresh_ok
    assert b'<oidc configured="true" keys="1" refresh-ok="true" last-refresh="' in document

    idp.stop()
    report = wait_for(
        lambda: (r := parse_xml(health(live)[1])).status == "degraded" and r, 20, "health to turn degraded"
    )
    assert report.oidc is not None and (report.oidc.keys, report.oidc.refresh_ok) == (1, False)
    assert "oidc: key set refresh failed; using 1 cached key(s)" in report.reasons
    assert live.proxy(sign(rsa_key, claims("still", groups=["readers"]))).system.health()["oidc"] == {
        "configured": True,
        "keys": 1,
        "refresh_ok": False,
        "last_refresh": pytest.approx(report.oidc.last_refresh.timestamp(), abs=2),
    }

    _, port = live.runtime.http.server_address
    probe = subprocess.run(
        [XRSCHED, "health", f"localhost:{port}", "--ca", str(live.ca)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 1, probe.stdout + probe.stderr
    assert "DEGRADED" in probe.stdout
    assert "oidc keys=1 refresh-failed=" in probe.stdout


def test_a_health_that_requires_a_token_takes_a_jwt(live_server_factory, idp, dev_certs, rsa_key):
    table = {"issuer": ISSUER, "audience": AUDIENCE, "jwks": idp.url, "ca": str(dev_certs.ca_cert), "roles": ROLES}
    live = live_server_factory(oidc=table, health_requires_token=True)
    assert health(live)[0] == 401
    assert health(live, sign(rsa_key, claims(groups=["readers"])))[0] == 200
    assert health(live, sign(rsa_key, claims(groups=["readers"], aud="other")))[0] == 401


def test_health_without_oidc_has_no_oidc_element(live_server):
    status, document = health(live_server)
    assert status == 200 and b"<oidc" not in document
    assert parse_xml(document).oidc is None


def test_an_unreadable_jwks_file_stops_the_server_with_one_line(tmp_path, env):
    config = tmp_path / "server.toml"
    config.write_text(f'[oidc]\nissuer = "{ISSUER}"\naudience = "{AUDIENCE}"\njwks = "{tmp_path / "nope.json"}"\n')
    server = str(Path(sys.executable).parent / "xrsched-server")
    result = subprocess.run(
        [server, "--config", str(config), "--port", "0", "--state-path", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"xrsched-server: oidc: JWKS file {tmp_path / 'nope.json'}: No such file or directory"
    )


def test_the_xrsched_client_carries_a_jwt_from_its_token_file(start, rsa_key, tmp_path):
    live = start()
    token_file = tmp_path / "token"
    token_file.write_text(sign(rsa_key, claims("etl-2", groups=["etl-bots"])) + "\n")
    with RemoteScheduler(live.url, token_file=token_file, ca=live.ca, environ={}, retries=0) as client:
        client.add_worker("w-etl-2", {})
        with pytest.raises(Forbidden):
            client.prune()
    token_file.write_text(sign(rsa_key, claims("etl-2", aud="other")))
    client = RemoteScheduler(live.url, token_file=token_file, ca=live.ca, environ={}, retries=0)
    with client, pytest.raises(AuthenticationFailed):
        client.ping("w-etl-2")


@pytest.mark.parametrize(
    ("groups", "audience", "verdict"),
    [
        (["readers"], AUDIENCE, "token accepted"),
        (["marketing"], AUDIENCE, "token accepted but granted no role (fault 403)"),
        (["readers"], "other", "token REFUSED"),
    ],
)
def test_xrsched_health_checks_a_jwt(start, rsa_key, groups, audience, verdict):
    live = start()
    _, port = live.runtime.http.server_address
    token = sign(rsa_key, claims(groups=groups, aud=audience))
    probe = subprocess.run(
        [XRSCHED, "health", f"localhost:{port}", "--ca", str(live.ca), "--token", token],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert probe.stdout.rstrip().split(" - ")[-1].startswith(verdict), probe.stdout
