"""Token rotation against a real server: grace, audit marks, expiry health, clients' token files."""

from __future__ import annotations

import datetime as dt
import time
import urllib.request
import xmlrpc.client

import pytest

from tests.waiting import wait_for
from xrsched.auth import add_token, rotate_token
from xrsched.client import RemoteScheduler


def refused(proxy) -> bool:
    try:
        proxy.count_pending("w")
    except xmlrpc.client.ProtocolError as exc:
        return exc.errcode == 401
    return False


def test_old_secret_works_during_the_grace_is_marked_in_the_audit_then_stops(live_server):
    old = live_server.token("ci", "worker")
    new = rotate_token(live_server.tokens_path, "ci", 3.0)
    live_server.runtime.reload()
    old_proxy, new_proxy = live_server.proxy(old), live_server.proxy(new)
    old_proxy.count_pending("w")
    new_proxy.count_pending("w")
    records = [r for r in live_server.audit_records() if r["identity"] == "token:ci"]
    assert [r.get("rotation") for r in records[-2:]] == ["previous", None]
    # The grace ends by itself: no reload, no signal.
    wait_for(lambda: refused(old_proxy), 10, "the old secret to stop working")
    new_proxy.count_pending("w")


def write_token(path, secret: str) -> None:
    staged = path.with_name(path.name + ".new")
    staged.write_text(secret + "\n")
    staged.chmod(0o600)
    staged.rename(path)


@pytest.fixture
def client_with_token_file(live_server, tmp_path):
    made = []

    def make(secret: str) -> RemoteScheduler:
        token_file = tmp_path / "token"
        write_token(token_file, secret)
        client = RemoteScheduler(live_server.url, token_file=token_file, ca=live_server.ca, environ={}, retries=0)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_a_client_takes_the_new_secret_within_a_second_of_the_file_changing(live_server, client_with_token_file):
    old = live_server.token("ci", "worker")
    client = client_with_token_file(old)
    new = rotate_token(live_server.tokens_path, "ci", 3600.0)
    live_server.runtime.reload()
    client.count_pending("w")
    write_token(client.transport.token_watch.path, new)
    time.sleep(1.1)
    client.count_pending("w")
    records = [r for r in live_server.audit_records() if r["identity"] == "token:ci"]
    assert [r.get("rotation") for r in records[-2:]] == ["previous", None]


def test_a_client_rereads_its_token_file_after_a_401(live_server, client_with_token_file):
    old = live_server.token("ci", "worker")
    client = client_with_token_file(old)
    client.transport.token_watch.interval = 3600.0  # only the 401 makes it look
    client.count_pending("w")
    new = rotate_token(live_server.tokens_path, "ci", 0)
    live_server.runtime.reload()
    write_token(client.transport.token_watch.path, new)
    assert client.count_pending("w") is not None  # refused once, re-read, sent again
    outcomes = [r["outcome"] for r in live_server.audit_records()[-2:]]
    assert outcomes == [401, "ok"]


def test_a_token_file_that_did_not_change_still_fails_on_401(live_server, client_with_token_file):
    from xrsched.client import AuthenticationFailed

    client = client_with_token_file(live_server.token("ci", "worker"))
    rotate_token(live_server.tokens_path, "ci", 0)
    live_server.runtime.reload()
    with pytest.raises(AuthenticationFailed):
        client.count_pending("w")


def test_health_is_degraded_while_a_token_expires_soon(live_server_factory):
    server = live_server_factory(warn_expiry="3d")
    admin = server.proxy(server.admin)
    assert admin.system.health()["status"] == "ok"
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    add_token(server.tokens_path, "ci-7", "worker", soon)
    add_token(server.tokens_path, "later", "worker", dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
    rotate_token(server.tokens_path, "later", 3600.0)  # a rotation's grace is no expiry
    server.runtime.reload()
    health = admin.system.health()
    assert health["status"] == "degraded"
    assert [reason for reason in health["reasons"] if "token" in reason] == [
        f"token ci-7 expires {soon:%Y-%m-%dT%H:%M:%SZ}"
    ]
    url = server.url.replace("/RPC2", "/health")
    with urllib.request.urlopen(url, context=server.context(), timeout=10) as response:
        document = response.read().decode()
    assert 'status="degraded"' in document and "<reason>token ci-7 expires" in document


def test_health_expiry_warning_can_be_turned_off(live_server_factory):
    server = live_server_factory(warn_expiry="0")
    add_token(server.tokens_path, "ci-7", "worker", dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    server.runtime.reload()
    assert server.proxy(server.admin).system.health()["status"] == "ok"
