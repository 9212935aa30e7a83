"""The health document (DESIGN §5): shape, escaping, struct form, parsing back, status rules."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xrsched.health import (
    HealthDocumentError,
    HealthReport,
    SchedulerCounts,
    StoreHealth,
    TlsHealth,
    assess,
    parse_xml,
    to_struct,
    to_xml,
)

EXPIRY = dt.datetime(2027, 11, 22, tzinfo=dt.UTC)
SAMPLE = HealthReport(
    status="ok",
    version="1.2.3",
    uptime_seconds=1234.5,
    scheduler=SchedulerCounts(tasks=120, pending=30, running=4, failed=1, disabled=0, workers=3),
    store=StoreHealth(kind="sqlite", ok=True),
    tls=TlsHealth(enabled=True, not_after=EXPIRY),
)


def test_document_has_exactly_the_design_shape():
    assert to_xml(SAMPLE).decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<health status="ok" version="1.2.3">\n'
        '  <uptime seconds="1234.5"/>\n'
        '  <scheduler tasks="120" pending="30" running="4" failed="1" disabled="0" workers="3"/>\n'
        '  <store kind="sqlite" ok="true"/>\n'
        '  <tls enabled="true" not-after="2027-11-22T00:00:00Z"/>\n'
        "</health>\n"
    )


def test_reasons_and_hostile_text_are_escaped():
    report = HealthReport(
        status="degraded",
        version='1"<&>\n',
        uptime_seconds=0,
        store=StoreHealth(kind="a&b", ok=False),
        reasons=("</reason><x>", "nul\x00byte"),
    )
    document = to_xml(report)
    assert b"<reasons>" in document and b"&lt;/reason&gt;&lt;x&gt;" in document
    back = parse_xml(document)
    assert back.version == '1"<&>\n'
    assert back.store.kind == "a&b"
    assert back.reasons == ("</reason><x>", "nul?byte")


def test_no_tls_means_no_not_after():
    document = to_xml(HealthReport(status="ok", version="1", uptime_seconds=1.0))
    assert b'<tls enabled="false"/>' in document
    assert parse_xml(document).tls == TlsHealth(enabled=False, not_after=None)


def test_struct_is_nil_free_and_uses_epoch_doubles():
    struct = to_struct(SAMPLE)
    assert struct["tls"] == {"enabled": True, "not_after": EXPIRY.timestamp()}
    assert struct["scheduler"]["tasks"] == 120
    assert struct["store"] == {"kind": "sqlite", "ok": True}
    assert "not_after" not in to_struct(HealthReport(status="ok", version="1", uptime_seconds=0))["tls"]

    def walk(value):
        assert value is not None
        if isinstance(value, dict):
            for member in value.values():
                walk(member)
        elif isinstance(value, list):
            for member in value:
                walk(member)

    walk(struct)


def test_http_status_follows_the_design():
    statuses = ("ok", "degraded", "down")
    codes = [HealthReport(status=s, version="1", uptime_seconds=0).http_status for s in statuses]
    assert codes == [200, 200, 503]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "fine"}, "status"),
        ({"uptime_seconds": float("nan")}, "uptime"),
        ({"uptime_seconds": -1}, "uptime"),
    ],
)
def test_invalid_reports_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HealthReport(**({"status": "ok", "version": "1", "uptime_seconds": 0} | kwargs))


NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_assess_rules():
    good_store = StoreHealth("sqlite", True)
    far = TlsHealth(True, NOW + dt.timedelta(days=200))
    assert assess(good_store, far, NOW) == ("ok", ())
    assert assess(StoreHealth("sqlite", False), far, NOW) == ("degraded", ("sqlite store reports errors",))
    soon = TlsHealth(True, NOW + dt.timedelta(days=5, hours=1))
    assert assess(good_store, soon, NOW) == ("degraded", ("server certificate expires in 5 days",))
    expired = TlsHealth(True, (NOW - dt.timedelta(days=1)).replace(tzinfo=None))  # naive means UTC
    assert assess(good_store, expired, NOW)[1] == ("server certificate has expired",)
    assert assess(good_store, TlsHealth(False), NOW) == ("ok", ())
    assert assess(good_store, far, NOW, draining=True)[0] == "down"
    assert assess(good_store, far, NOW, problems=("leader lost",)) == ("degraded", ("leader lost",))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<health",
        b"<status/>",
        b'<health status="ok" version="1"><uptime seconds="x"/></health>',
        b'<health status="meh" version="1"><uptime seconds="1"/><scheduler tasks="1" pending="0" running="0"'
        b' failed="0" disabled="0" workers="0"/><store kind="m" ok="true"/><tls enabled="false"/></health>',
        b'<health status="ok" version="1"><uptime seconds="1"/><scheduler tasks="-1" pending="0" running="0"'
        b' failed="0" disabled="0" workers="0"/><store kind="m" ok="true"/><tls enabled="false"/></health>',
        b'<health status="ok" version="1"><uptime seconds="1"/><scheduler tasks="1" pending="0" running="0"'
        b' failed="0" disabled="0" workers="0"/><store kind="m" ok="yes"/><tls enabled="false"/></health>',
        b'<?xml version="1.0"?><!DOCTYPE h [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><health status="&b;"/>',
        b"<health>" + b"x" * 70_000 + b"</health>",
    ],
)
def test_bad_documents_are_refused(data):
    with pytest.raises(HealthDocumentError):
        parse_xml(data)


counts = st.integers(min_value=0, max_value=2**40)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(
    status=st.sampled_from(["ok", "degraded", "down"]),
    version=text,
    uptime=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    numbers=st.lists(counts, min_size=6, max_size=6),
    kind=text,
    store_ok=st.booleans(),
    not_after=st.none() | st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2200, 1, 1)),
    reasons=st.lists(text, max_size=3),
)
def test_document_round_trips(status, version, uptime, numbers, kind, store_ok, not_after, reasons):
    expiry = not_after.replace(microsecond=0, tzinfo=dt.UTC) if not_after else None
    report = HealthReport(
        status=status,
        version=version,
        uptime_seconds=uptime,
        scheduler=SchedulerCounts(*numbers),
        store=StoreHealth(kind, store_ok),
        tls=TlsHealth(expiry is not None, expiry),
        reasons=tuple(reasons),
    )
    back = parse_xml(to_xml(report))
    assert abs(back.uptime_seconds - round(uptime, 1)) < 0.051
    assert back.scheduler == report.scheduler and back.store.ok == store_ok and back.tls == report.tls
    assert back.status == status


def test_ha_element_round_trips_and_is_absent_without_ha():
    from xrsched.health import HaHealth

    report = HealthReport(
        status="standby",
        version="1",
        uptime_seconds=1,
        store=StoreHealth(kind="postgresql", ok=True),
        ha=HaHealth(role="standby", epoch=3, leader_url="https://a:8082/RPC2"),
    )
    document = to_xml(report)
    assert b'  <ha role="standby" epoch="3" leader="https://a:8082/RPC2"/>\n' in document
    assert parse_xml(document) == report
    assert to_struct(report)["ha"] == {"role": "standby", "epoch": 3, "leader_url": "https://a:8082/RPC2"}
    nobody = HealthReport(status="standby", version="1", uptime_seconds=1, ha=HaHealth(role="standby", epoch=0))
    assert b'<ha role="standby" epoch="0"/>' in to_xml(nobody)
    assert parse_xml(to_xml(nobody)).ha == HaHealth(role="standby", epoch=0, leader_url=None)
    assert "leader_url" not in to_struct(nobody)["ha"]  # no None members
    assert "ha" not in to_struct(SAMPLE) and b"<ha" not in to_xml(SAMPLE)


@pytest.mark.parametrize(
    "element",
    [b'<ha role="boss" epoch="1"/>', b'<ha role="leader" epoch="-1"/>', b'<ha role="leader"/>'],
)
def test_a_bad_ha_element_is_refused(element):
    document = to_xml(SAMPLE).replace(b"</health>", element + b"</health>")
    with pytest.raises(HealthDocumentError):
        parse_xml(document)


def test_assess_says_standby_unless_degraded_or_down():
    from xrsched.health import HaHealth

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    standby, leader = HaHealth(role="standby"), HaHealth(role="leader", epoch=2)
    tls = TlsHealth()
    assert assess(StoreHealth(), tls, now, ha=standby) == ("standby", ())
    assert assess(StoreHealth(), tls, now, ha=leader) == ("ok", ())
    assert assess(StoreHealth(kind="postgresql", ok=False), tls, now, ha=standby)[0] == "degraded"
    assert assess(StoreHealth(), tls, now, ha=standby, draining=True)[0] == "down"
    assert HealthReport(status="standby", version="1", uptime_seconds=0).http_status == 200
