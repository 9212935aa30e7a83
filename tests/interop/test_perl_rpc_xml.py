"""Perl's RPC::XML::Client (Debian librpc-xml-perl, over LWP) against the real server."""

from __future__ import annotations

import pytest

from tests.interop.conftest import CLIENTS, WRONG_SECRET, Tool, check_session, run_client, run_client_failing

PERL = Tool(
    program="perl",
    check=["-MRPC::XML::Client", "-MLWP::Protocol::https", "-MJSON::PP", "-e", "1"],
    packages="perl librpc-xml-perl liblwp-protocol-https-perl",
)
CLIENT = CLIENTS / "perl_client.pl"


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_perl_rpc_xml_client(live_server, auth):
    """ping, add_task (keyword struct), task_list, system.multicall and two faults, over verified TLS.

    ``basic``: LWP sends nothing until the server's ``401`` + ``WWW-Authenticate: Basic
    realm="xrsched"`` challenge, then retries with token id and secret on the same connection.
    """
    perl = PERL.require()
    token_id, worker, prefix = f"perl-{auth}", f"perl-w-{auth}", f"Perl{auth.title()}"
    secret = live_server.token(token_id, "worker")
    command = [perl, str(CLIENT), live_server.url, str(live_server.ca), token_id, auth, worker, prefix]
    out = run_client(command, secret)
    check_session(out, live_server, token_id=token_id, worker=worker, prefix=prefix, true=1)
    # RPC::XML::Client does not unpack system.multicall's one-element arrays.
    assert out["multicall"] == [[{"rpc_messages": []}], [1]]
    refused = [r for r in live_server.audit_records() if r["outcome"] == 401]
    if auth == "basic":
        assert len(refused) == 1 and refused[0]["identity"] is None  # the challenge, answered once
    else:
        assert refused == []
    text = live_server.audit_path.read_text()
    assert secret not in text and live_server.admin not in text


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_perl_client_refuses_an_unknown_ca_and_is_refused_without_the_secret(live_server, foreign_ca, auth):
    perl = PERL.require()
    secret = live_server.token("perl-neg", "worker")
    args = ["perl-neg", auth, "perl-w-neg", "PerlNeg"]
    trusted, untrusted = str(live_server.ca), str(foreign_ca)
    stderr = run_client_failing([perl, str(CLIENT), live_server.url, untrusted, *args], secret)
    assert "certificate verify failed" in stderr
    stderr = run_client_failing([perl, str(CLIENT), live_server.url, trusted, *args], WRONG_SECRET)
    assert "Unauthorized" in stderr
    assert not [r for r in live_server.audit_records() if r.get("identity")]
