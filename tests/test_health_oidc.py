"""The ``<oidc/>`` element of the health document: rendering, reading back, and its status rules."""

from __future__ import annotations

import datetime as _dt

import pytest

from xrsched.cli.health import summarize
from xrsched.health import (
    HealthDocumentError,
    HealthReport,
    OidcHealth,
    StoreHealth,
    TlsHealth,
    assess,
    parse_xml,
    to_struct,
    to_xml,
)

NOW = _dt.datetime(2026, 12, 6, 7, 0, 0, tzinfo=_dt.UTC)
REFRESH_FAILED = "oidc: key set refresh failed; using 2 cached key(s)"
NO_KEYS = "oidc: no signing keys loaded (identity-provider tokens are refused)"


def report(oidc: OidcHealth | None) -> HealthReport:
    status, reasons = assess(StoreHealth(), TlsHealth(), NOW, oidc=oidc)
    return HealthReport(status=status, version="1.0", uptime_seconds=5.0, reasons=reasons, oidc=oidc)


def test_round_trip_with_and_without_oidc():
    for oidc in (None, OidcHealth(keys=2, refresh_ok=True, last_refresh=NOW), OidcHealth(keys=0, refresh_ok=False)):
        assert parse_xml(to_xml(report(oidc))) == report(oidc)


def test_the_element_and_the_struct():
    healthy = report(OidcHealth(keys=2, refresh_ok=True, last_refresh=NOW))
    assert b'  <oidc configured="true" keys="2" refresh-ok="true" last-refresh="2026-12-06T07:00:00Z"/>\n' in to_xml(
        healthy
    )
    assert to_struct(healthy)["oidc"] == {
        "configured": True,
        "keys": 2,
        "refresh_ok": True,
        "last_refresh": NOW.timestamp(),
    }
    assert "oidc" not in to_struct(report(None))
    assert b"<oidc" not in to_xml(report(None))


@pytest.mark.parametrize(
    ("oidc", "status", "reason"),
    [
        (OidcHealth(keys=2, refresh_ok=True, last_refresh=NOW), "ok", None),
        (OidcHealth(keys=2, refresh_ok=False, last_refresh=NOW), "degraded", REFRESH_FAILED),
        (OidcHealth(keys=0, refresh_ok=False), "degraded", NO_KEYS),
    ],
)
def test_failed_refreshes_and_missing_keys_degrade(oidc, status, reason):
    assert report(oidc).status == status
    assert report(oidc).reasons == (() if reason is None else (reason,))


def test_the_summary_line_names_the_oidc_state():
    assert "oidc keys=2 refreshed=2026-12-06T07:00:00Z" in summarize(report(OidcHealth(2, True, NOW)))
    assert "oidc keys=2 refresh-failed=2026-12-06T07:00:00Z" in summarize(report(OidcHealth(2, False, NOW)))
    assert "oidc" not in summarize(report(None))


@pytest.mark.parametrize(
    ("element", "message"),
    [
        ('<oidc keys="x" refresh-ok="true"/>', "<oidc keys> must be a whole number"),
        ('<oidc keys="1" refresh-ok="maybe"/>', "<oidc refresh-ok> must be true or false"),
        ('<oidc keys="1" refresh-ok="true" last-refresh="soon"/>', "<oidc last-refresh> is not an ISO 8601 time"),
    ],
)
def test_a_bad_element_is_refused_by_name(element, message):
    document = to_xml(report(None)).replace(b"</health>", element.encode() + b"</health>")
    with pytest.raises(HealthDocumentError, match=message):
        parse_xml(document)


def test_configured_false_means_no_oidc():
    document = to_xml(report(None)).replace(b"</health>", b'<oidc configured="false"/></health>')
    assert parse_xml(document).oidc is None
