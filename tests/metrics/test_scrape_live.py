"""GET /metrics on a real server over real TLS: auth, call counts, label bounds, connections, errors."""

from __future__ import annotations

import json
import re
import resource
import socket
import ssl
import time
import urllib.request
import xmlrpc.client

import pytest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder

from tests.metrics.conftest import scrape
from xrsched.metrics.luigi_names import MAX_FAMILIES


def host_port(server) -> tuple[str, int]:
    host, port = server.url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    return host, int(port)


# -- who may scrape ---------------------------------------------------------------------------


def test_a_scrape_without_a_valid_token_gets_401_and_is_audited(live_server):
    missing = scrape(live_server)
    assert missing.status == 401
    assert missing.headers.get("WWW-Authenticate", "").startswith("Basic")
    assert "luigi_" not in missing.text and "xrsched_" not in missing.text
    wrong = scrape(live_server, "not-a-token")
    assert wrong.status == 401
    refused = [r for r in live_server.audit_records() if r["method"] == "GET /metrics"]
    assert [r["outcome"] for r in refused] == [401, 401]

    found = scrape(live_server, live_server.token("prom", "viewer"))
    assert found.status == 200
    assert found.content_type == CONTENT_TYPE_PLAIN_0_0_4  # prometheus_client's answer to no Accept
    assert found.headers["Cache-Control"] == "no-store"
    assert found.value("xrsched_auth_failures_total", reason="no_credentials") == 1
    assert found.value("xrsched_auth_failures_total", reason="invalid_token") == 1
    assert found.value("xrsched_http_refusals_total", status="401") == 2


def test_every_role_may_scrape_and_head_sends_no_body(live_server):
    for role in ("viewer", "worker", "operator"):
        assert scrape(live_server, live_server.token(f"t-{role}", role)).status == 200
    assert scrape(live_server, live_server.admin).status == 200
    head = scrape(live_server, live_server.admin, head=True)
    assert head.status == 200 and head.text == ""


def test_metrics_auth_none_opens_the_endpoint(live_server_factory):
    server = live_server_factory(metrics_auth="none")
    found = scrape(server)
    assert found.status == 200
    assert found.value("xrsched_tasks", status="PENDING") == 0
    assert found.value("xrsched_auth_failures_total", reason="no_credentials") == 0  # nothing was asked
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        server.proxy().ping("w")  # the rest of the API still asks for a token
    assert info.value.errcode == 401


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(live_server):
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"  # Prometheus 2
    found = scrape(live_server, live_server.admin, accept=accept)
    assert found.status == 200
    assert found.content_type == choose_encoder(accept)[1]
    assert found.content_type.startswith("application/openmetrics-text; version=1.0.0")
    assert found.text.endswith("# EOF\n")


def test_other_methods_on_metrics_get_405(live_server):
    request = urllib.request.Request(live_server.url.replace("/RPC2", "/metrics"), data=b"", method="POST")
    request.add_header("Authorization", f"Bearer {live_server.admin}")
    context = live_server.context()
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, context=context, timeout=10)
    assert info.value.code == 405
    assert info.value.headers["Allow"] == "GET, HEAD"


# -- calls and outcomes -----------------------------------------------------------------------


def test_call_counts_and_outcomes_match_the_calls_made(live_server):
    admin = live_server.proxy(live_server.admin)
    viewer_secret = live_server.token("look", "viewer")
    viewer = live_server.proxy(viewer_secret)
    for _ in range(3):
        admin.ping("w1")
    for _ in range(2):
        with pytest.raises(xmlrpc.client.Fault):
            admin.no_such_method()
    with pytest.raises(xmlrpc.client.Fault) as bad:
        admin.ping("w1", "extra", "more")  # too many parameters
    assert bad.value.faultCode == -32602
    with pytest.raises(xmlrpc.client.Fault) as denied:
        viewer.add_task({"__starstar": True, "task_id": "T", "worker": "w2"})
    assert denied.value.faultCode == 403
    multi = xmlrpc.client.MultiCall(admin)
    multi.ping("w1")
    multi.ping("w1")
    multi.task_list("", "")
    list(multi())
    request = urllib.request.Request(live_server.url.replace("/RPC2", "/api/ping"), data=b'data={"worker":"w3"}')
    request.add_header("Authorization", f"Bearer {live_server.admin}")
    with urllib.request.urlopen(request, context=live_server.context(), timeout=10) as answer:
        assert json.load(answer) == {"response": {"rpc_messages": []}}

    found = scrape(live_server, viewer_secret)
    assert found.value("xrsched_rpc_calls_total", method="ping", outcome="ok") == 3 + 2 + 1  # multicall, /api/
    assert found.value("xrsched_rpc_calls_total", method="(unknown)", outcome="-32601") == 2
    assert found.value("xrsched_rpc_calls_total", method="ping", outcome="-32602") == 1
    assert found.value("xrsched_rpc_calls_total", method="add_task", outcome="403") == 1
    assert found.value("xrsched_rpc_calls_total", method="task_list", outcome="ok") == 1
    assert found.value("xrsched_rpc_calls_total", method="system.multicall", outcome="ok") == 1
    assert found.value("xrsched_rpc_call_duration_seconds_count", method="ping") == 7
    assert found.value("xrsched_rpc_call_duration_seconds_bucket", method="ping", le="+Inf") == 7
    assert 0 < found.value("xrsched_rpc_call_duration_seconds_sum", method="ping") < 7


def test_unknown_method_names_cannot_grow_the_series(live_server):
    admin = live_server.proxy(live_server.admin)
    multi = xmlrpc.client.MultiCall(admin)
    for i in range(300):
        getattr(multi, f"made_up_{i}")()
    assert all(isinstance(r, dict) or r is None for r in multi().results)
    for i in range(20):  # the same through luigid's JSON endpoint
        request = urllib.request.Request(live_server.url.replace("/RPC2", f"/api/junk{i}"), data=b"data={}")
        request.add_header("Authorization", f"Bearer {live_server.admin}")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, context=live_server.context(), timeout=10)
    found = scrape(live_server, live_server.admin)
    methods = found.label_values("xrsched_rpc_calls_total", "method")
    assert not any(name.startswith(("made_up", "junk")) for name in methods)
    assert found.value("xrsched_rpc_calls_total", method="(unknown)", outcome="-32601") == 320
    assert len(found.label_values("xrsched_rpc_call_duration_seconds_count", "method")) == len(methods)
    assert len(methods) <= 3  # (unknown), system.multicall and nothing else


def test_families_past_the_bound_share_one_series(live_server):
    admin = live_server.proxy(live_server.admin)
    for start in (0, 520):  # 1,040 families in two multicalls (the bound is 1,000)
        multi = xmlrpc.client.MultiCall(admin)
        for i in range(start, start + 520):
            multi.add_task({"__starstar": True, "task_id": f"T{i}", "worker": "w", "family": f"Fam{i}",
                            "status": "DONE"})  # fmt: skip
        assert all(result is True for result in multi())
    found = scrape(live_server, live_server.admin)
    families = found.label_values("luigi_task_done_total", "family")
    assert len(families) == MAX_FAMILIES + 1
    assert families == {f"Fam{i}" for i in range(MAX_FAMILIES)} | {"(other)"}  # the first ones keep theirs
    assert found.value("luigi_task_done_total", family="(other)") == 40


# -- connections ------------------------------------------------------------------------------


def test_open_connections_and_refused_ones_by_reason(live_server):
    address = host_port(live_server)
    with socket.create_connection(address, timeout=5) as plain:
        plain.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert plain.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection(address, timeout=5) as garbage:
        garbage.sendall(b"\x16\x03\x01\x00\x05hello")  # a TLS record that is no ClientHello
        garbage.recv(100)
    context = live_server.context()
    held = [context.wrap_socket(socket.create_connection(address, timeout=5), server_hostname="localhost")
            for _ in range(3)]  # fmt: skip
    try:
        found = wait_for(lambda s: s.value("xrsched_connections_open") >= 4, live_server)
        assert found.value("xrsched_connections_refused_total", reason="plain_http") == 1
        assert found.value("xrsched_connections_refused_total", reason="handshake") == 1
        assert found.value("xrsched_connections_refused_total", reason="busy") == 0
    finally:
        for sock in held:
            sock.close()
    assert wait_for(lambda s: s.value("xrsched_connections_open") == 1, live_server)


def test_a_newcomer_refused_while_every_slot_is_busy_is_counted(live_server_factory):
    server = live_server_factory(max_connections=1)
    address = host_port(server)
    context = server.context()
    busy = context.wrap_socket(socket.create_connection(address, timeout=5), server_hostname="localhost")
    busy.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n")  # half a request: the only slot is busy
    time.sleep(0.2)
    newcomer = context.wrap_socket(socket.create_connection(address, timeout=10), server_hostname="localhost")
    newcomer.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert newcomer.recv(100).startswith(b"HTTP/1.1 503")
    newcomer.close()
    busy.close()
    found = wait_for(lambda s: s.status == 200, server)
    # At least ours: on a loaded machine a scrape may itself have met the slot still busy.
    assert found.value("xrsched_connections_refused_total", reason="busy") >= 1


def wait_for(condition, server, timeout: float = 10.0):
    """Scrape until ``condition(scrape)`` holds; return that scrape (fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = scrape(server, server.admin)
        except (OSError, ssl.SSLError):
            found = None
        if found is not None and found.status == 200 and condition(found):
            return found
        assert time.monotonic() < deadline, found.text if found else "no answer"
        time.sleep(0.1)


# -- the server's own troubles ----------------------------------------------------------------


def test_store_errors_and_commit_times(live_server):
    admin = live_server.proxy(live_server.admin)
    admin.add_task({"__starstar": True, "task_id": "before", "worker": "w"})
    writer = live_server.runtime.store.writer_pid  # the server's SQLite writes run in this process
    limits = resource.prlimit(writer, resource.RLIMIT_FSIZE)
    resource.prlimit(writer, resource.RLIMIT_FSIZE, (1, limits[1]))  # a real write error: "disk I/O error"
    try:
        with pytest.raises(xmlrpc.client.ProtocolError) as info:
            admin.add_task({"__starstar": True, "task_id": "during", "worker": "w", "params": {"x": "y" * 200_000}})
        assert info.value.errcode == 503
    finally:
        resource.prlimit(writer, resource.RLIMIT_FSIZE, limits)
    found = scrape(live_server, live_server.admin)
    assert found.value("xrsched_store_errors_total") >= 1
    assert found.value("xrsched_store_commit_duration_seconds_count") >= 1
    assert found.value("xrsched_http_refusals_total", status="503") == 1


def test_audit_records_lost_are_counted(live_server):
    admin = live_server.proxy(live_server.admin)
    live_server.audit_path.unlink()
    live_server.audit_path.mkdir()  # unwritable even for root
    live_server.runtime.reload()
    admin.ping("w")
    admin.ping("w")
    live_server.audit_path.rmdir()
    found = scrape(live_server, live_server.admin)
    assert found.value("xrsched_audit_write_errors_total") == 2


def test_two_servers_in_one_process_count_apart(live_server_factory):
    first, second = live_server_factory(), live_server_factory()
    first.proxy(first.admin).ping("w")
    assert scrape(first, first.admin).value("xrsched_rpc_calls_total", method="ping", outcome="ok") == 1
    assert scrape(second, second.admin).value("xrsched_rpc_calls_total", method="ping", outcome="ok") == 0


# -- the per-call families after a known sequence ---------------------------------------------


def test_per_call_families_count_a_known_sequence(live_server):
    """Three tasks in two families, four asks (one finds nothing), two reports DONE, one FAILED."""
    admin = live_server.proxy(live_server.admin)
    for task_id, family in (("Load_1", "Load"), ("Load_2", "Load"), ("Sum_1", "Sum")):
        admin.add_task({"__starstar": True, "task_id": task_id, "worker": "w", "family": family,
                        "retry_policy_dict": {"retry_count": 5}})  # fmt: skip
    given = [admin.get_work({"__starstar": True, "worker": "w"}).get("task_id") for _ in range(4)]
    assert sorted(given[:3]) == ["Load_1", "Load_2", "Sum_1"] and given[3] is None
    for task_id, status in (("Load_1", "DONE"), ("Load_2", "DONE"), ("Sum_1", "FAILED")):
        admin.add_task({"__starstar": True, "task_id": task_id, "worker": "w", "status": status})

    found = scrape(live_server, live_server.admin)
    assert found.value("luigi_task_started_total", family="Load") == 2
    assert found.value("luigi_task_started_total", family="Sum") == 1
    assert found.value("luigi_task_done_total", family="Load") == 2
    assert found.value("luigi_task_failed_total", family="Sum") == 1
    assert found.label_values("luigi_task_done_total", "family") == {"Load"}
    assert found.label_values("luigi_task_disabled_total", "family") == set()
    assert found.label_values("luigi_task_execution_time_seconds", "family") == {"Load", "Sum"}
    assert found.label_values("luigi_task_started_created", "family") == {"Load", "Sum"}
    assert 0 <= found.value("luigi_task_execution_time_seconds", family="Load") < 30
    assert found.value("xrsched_rpc_calls_total", method="get_work", outcome="ok") == 4
    assert found.value("xrsched_rpc_calls_total", method="add_task", outcome="ok") == 6
    assert found.value("xrsched_rpc_call_duration_seconds_count", method="add_task") == 6
    buckets = [found.value("xrsched_get_work_duration_seconds_bucket", le=le) for le in LE]
    assert buckets == sorted(buckets) and buckets[-1] == 4  # cumulative, every ask counted once
    assert found.value("xrsched_get_work_duration_seconds_count") == 4
    assert 0 < found.value("xrsched_get_work_duration_seconds_sum") < 4 * 10
    assert found.value("xrsched_get_work_duration_seconds_created") > 1.7e9
    declared = [line for line in found.text.splitlines() if line.startswith("# ") and PER_CALL.match(line.split()[2])]
    assert declared == PER_CALL_DECLARATIONS


#: The bounds of the call and get_work histograms as scraped (``le`` labels).
LE = ("0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0",
      "10.0", "+Inf")  # fmt: skip
PER_CALL = re.compile(r"^(luigi_task_|xrsched_get_work_|xrsched_rpc_call)")
#: HELP and TYPE of the per-call families in a scrape, as main's prometheus_client objects declared them.
PER_CALL_DECLARATIONS = [
    "# HELP luigi_task_started_total Tasks handed out to a worker by get_work.",
    "# TYPE luigi_task_started_total counter",
    "# HELP luigi_task_started_created Tasks handed out to a worker by get_work.",
    "# TYPE luigi_task_started_created gauge",
    "# HELP luigi_task_done_total Tasks that became DONE.",
    "# TYPE luigi_task_done_total counter",
    "# HELP luigi_task_done_created Tasks that became DONE.",
    "# TYPE luigi_task_done_created gauge",
    "# HELP luigi_task_failed_total Tasks that became FAILED (not counting failures that disabled them).",
    "# TYPE luigi_task_failed_total counter",
    "# HELP luigi_task_failed_created Tasks that became FAILED (not counting failures that disabled them).",
    "# TYPE luigi_task_failed_created gauge",
    "# HELP luigi_task_disabled_total Tasks that became DISABLED.",
    "# TYPE luigi_task_disabled_total counter",
    "# HELP luigi_task_execution_time_seconds Length of the last run of a task of this family that ended.",
    "# TYPE luigi_task_execution_time_seconds gauge",
    "# HELP xrsched_rpc_calls_total Method calls (XML-RPC, multicall entries, /api/) by method and outcome.",
    "# TYPE xrsched_rpc_calls_total counter",
    "# HELP xrsched_rpc_call_duration_seconds Time to check, run and encode one method call.",
    "# TYPE xrsched_rpc_call_duration_seconds histogram",
    "# HELP xrsched_get_work_duration_seconds Time get_work spends in the scheduler: waiting for its lock and "
    "choosing a task.",
    "# TYPE xrsched_get_work_duration_seconds histogram",
    "# HELP xrsched_get_work_duration_seconds_created Time get_work spends in the scheduler: waiting for its lock "
    "and choosing a task.",
    "# TYPE xrsched_get_work_duration_seconds_created gauge",
]
