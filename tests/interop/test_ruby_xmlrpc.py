"""Ruby's xmlrpc library (Debian ruby + ruby-xmlrpc: XMLRPC::Client over Net::HTTP) vs the real server."""

from __future__ import annotations

import pytest

from tests.interop.conftest import CLIENTS, WRONG_SECRET, Tool, check_session, run_client, run_client_failing

RUBY = Tool(
    program="ruby",
    check=["-rxmlrpc/client", "-rjson", "-ropenssl", "-e", "nil"],
    packages="ruby ruby-xmlrpc",
)
CLIENT = CLIENTS / "ruby_client.rb"


@pytest.mark.parametrize("auth", ["bearer", "basic"])
def test_ruby_xmlrpc_client(live_server, auth):
    """ping, add_task (keyword struct), task_list, system.multicall and two faults, over verified TLS.

    ``bearer``: an extra ``Authorization: Bearer`` header; ``basic``: XMLRPC::Client's
    user/password, sent with the first request (no challenge round trip).
    """
    ruby = RUBY.require()
    token_id, worker, prefix = f"ruby-{auth}", f"ruby-w-{auth}", f"Ruby{auth.title()}"
    secret = live_server.token(token_id, "worker")
    command = [ruby, str(CLIENT), live_server.url, str(live_server.ca), token_id, auth, worker, prefix]
    out = run_client(command, secret)
    check_session(out, live_server, token_id=token_id, worker=worker, prefix=prefix, true=True)
    # XMLRPC::Client#multicall2 unpacks the one-element arrays.
    assert out["multicall"] == [{"rpc_messages": []}, True]
    assert not [r for r in live_server.audit_records() if r["outcome"] == 401]
    text = live_server.audit_path.read_text()
    assert secret not in text and live_server.admin not in text


@pytest.mark.parametrize("auth", ["bearer", "basic"])
def test_ruby_client_refuses_an_unknown_ca_and_is_refused_without_the_secret(live_server, foreign_ca, auth):
    ruby = RUBY.require()
    secret = live_server.token("ruby-neg", "worker")
    args = ["ruby-neg", auth, "ruby-w-neg", "RubyNeg"]
    trusted, untrusted = str(live_server.ca), str(foreign_ca)
    stderr = run_client_failing([ruby, str(CLIENT), live_server.url, untrusted, *args], secret)
    assert "certificate verify failed" in stderr
    stderr = run_client_failing([ruby, str(CLIENT), live_server.url, trusted, *args], WRONG_SECRET)
    assert "Authorization failed" in stderr and "401" in stderr
    assert not [r for r in live_server.audit_records() if r.get("identity")]
