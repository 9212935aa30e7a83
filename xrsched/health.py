"""The health document of DESIGN §5: one pure model, three renderings.

:class:`HealthReport` is built by the server from its counters; :func:`to_xml` renders
``GET /health``, :func:`to_struct` the ``system.health`` struct (nil-free), and
:func:`parse_xml` reads the document back for ``xrsched health``. :func:`assess` holds
the rules that turn raw facts into ``ok`` / ``degraded`` / ``down``.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element  # type only: parsing goes through defusedxml
from xml.sax.saxutils import escape, quoteattr

import defusedxml.ElementTree as SafeET

STATUSES: tuple[str, ...] = ("ok", "degraded", "down", "standby")
HA_ROLES: tuple[str, ...] = ("leader", "standby")
CERT_EXPIRY_WARNING = _dt.timedelta(days=14)
MAX_DOCUMENT_BYTES = 64 * 1024

_COUNT_NAMES: tuple[str, ...] = ("tasks", "pending", "running", "failed", "disabled", "workers")
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class HealthDocumentError(ValueError):
    """The bytes are not a health document this version understands."""


@dataclass(frozen=True)
class SchedulerCounts:
    """Task and worker counters; never task names or parameters."""

    tasks: int = 0
    pending: int = 0
    running: int = 0
    failed: int = 0
    disabled: int = 0
    workers: int = 0


@dataclass(frozen=True)
class StoreHealth:
    """Which store is in use and whether its last operation succeeded."""

    kind: str = "memory"
    ok: bool = True


@dataclass(frozen=True)
class TlsHealth:
    """Whether the port speaks TLS and when the server certificate expires (UTC)."""

    enabled: bool = False
    not_after: _dt.datetime | None = None


@dataclass(frozen=True)
class HaHealth:
    """A server sharing a PostgreSQL store: whether it leads, the fencing epoch, who leads.

    ``leader_url`` is the leader's advertised URL (the server's own when it leads), or None
    while no leader is known. Absent (None in :class:`HealthReport`) for SQLite and memory.
    """

    role: str
    epoch: int = 0
    leader_url: str | None = None

    def __post_init__(self) -> None:
        if self.role not in HA_ROLES:
            raise ValueError(f"ha role must be one of {', '.join(HA_ROLES)}, not {self.role!r}")
        if type(self.epoch) is not int or self.epoch < 0:
            raise ValueError("ha epoch must be a whole number >= 0")


@dataclass(frozen=True)
class OidcHealth:
    """Identity-provider tokens: how many signing keys are loaded and how the last fetch went."""

    keys: int = 0
    refresh_ok: bool = True
    #: When the key set was last fetched or read (UTC), successfully or not; None before that.
    last_refresh: _dt.datetime | None = None


@dataclass(frozen=True)
class HealthReport:
    """A snapshot of the server's health, as ``GET /health`` and ``system.health`` show it."""

    status: str
    version: str
    uptime_seconds: float
    scheduler: SchedulerCounts = field(default_factory=SchedulerCounts)
    store: StoreHealth = field(default_factory=StoreHealth)
    tls: TlsHealth = field(default_factory=TlsHealth)
    reasons: tuple[str, ...] = ()
    ha: HaHealth | None = None
    #: None when no ``[oidc]`` table is configured (the document then has no ``<oidc/>``).
    oidc: OidcHealth | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if not math.isfinite(self.uptime_seconds) or self.uptime_seconds < 0:
            raise ValueError("uptime_seconds must be a finite number >= 0")

    @property
    def http_status(self) -> int:
        """200 for ``ok``, ``degraded`` and ``standby``, 503 for ``down`` (DESIGN §5)."""
        return 503 if self.status == "down" else 200


def assess(
    store: StoreHealth,
    tls: TlsHealth,
    now: _dt.datetime,
    *,
    draining: bool = False,
    problems: tuple[str, ...] = (),
    ha: HaHealth | None = None,
    oidc: OidcHealth | None = None,
) -> tuple[str, tuple[str, ...]]:
    """Decide the status and the reasons for it from the facts the server knows at ``now``.

    ``down`` while draining; ``degraded`` on store errors, a certificate that expires within
    14 days (or has expired), identity-provider keys that are missing or failed to refresh,
    or any extra ``problems`` the caller names; otherwise ``standby`` for a server that
    waits to lead (``ha.role``), ``ok`` for the rest.
    """
    if draining:
        return "down", ("server is shutting down", *problems)
    reasons = list(problems)
    if not store.ok:
        reasons.append(f"{store.kind} store reports errors")
    if tls.enabled and tls.not_after is not None:
        left = _as_utc(tls.not_after) - _as_utc(now)
        if left <= _dt.timedelta(0):
            reasons.append("server certificate has expired")
        elif left <= CERT_EXPIRY_WARNING:
            reasons.append(f"server certificate expires in {left.days} days")
    if oidc is not None and oidc.keys == 0:
        reasons.append("oidc: no signing keys loaded (identity-provider tokens are refused)")
    elif oidc is not None and not oidc.refresh_ok:
        reasons.append(f"oidc: key set refresh failed; using {oidc.keys} cached key(s)")
    if reasons:
        return "degraded", tuple(reasons)
    return ("standby" if ha is not None and ha.role == "standby" else "ok"), ()


def to_xml(report: HealthReport) -> bytes:
    """Render the ``GET /health`` document exactly in the shape of DESIGN §5."""
    counts = " ".join(f'{name}="{int(getattr(report.scheduler, name))}"' for name in _COUNT_NAMES)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<health status={_attr(report.status)} version={_attr(report.version)}>",
        f'  <uptime seconds="{report.uptime_seconds:.1f}"/>',
        f"  <scheduler {counts}/>",
        f"  <store kind={_attr(report.store.kind)} ok={_attr(_bool(report.store.ok))}/>",
    ]
    tls = f"  <tls enabled={_attr(_bool(report.tls.enabled))}"
    if report.tls.not_after is not None:
        tls += f" not-after={_attr(_iso(report.tls.not_after))}"
    lines.append(tls + "/>")
    if report.ha is not None:
        lines.append(_ha_element(report.ha))
    if report.oidc is not None:
        lines.append(_oidc_element(report.oidc))
    if report.reasons:
        lines.append("  <reasons>")
        lines.extend(f"    <reason>{_text(reason)}</reason>" for reason in report.reasons)
        lines.append("  </reasons>")
    lines.append("</health>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _ha_element(ha: HaHealth) -> str:
    element = f'  <ha role={_attr(ha.role)} epoch="{int(ha.epoch)}"'
    if ha.leader_url is not None:
        element += f" leader={_attr(ha.leader_url)}"
    return element + "/>"


def _oidc_element(oidc: OidcHealth) -> str:
    element = f'  <oidc configured="true" keys="{int(oidc.keys)}" refresh-ok={_attr(_bool(oidc.refresh_ok))}'
    if oidc.last_refresh is not None:
        element += f" last-refresh={_attr(_iso(oidc.last_refresh))}"
    return element + "/>"


def to_struct(report: HealthReport) -> dict[str, Any]:
    """The ``system.health`` struct: same content, times as epoch doubles, no None members."""
    tls: dict[str, Any] = {"enabled": report.tls.enabled}
    if report.tls.not_after is not None:
        tls["not_after"] = _as_utc(report.tls.not_after).timestamp()
    struct: dict[str, Any] = {
        "status": report.status,
        "version": report.version,
        "uptime_seconds": float(report.uptime_seconds),
        "scheduler": {name: int(getattr(report.scheduler, name)) for name in _COUNT_NAMES},
        "store": {"kind": report.store.kind, "ok": report.store.ok},
        "tls": tls,
        "reasons": list(report.reasons),
    }
    if report.ha is not None:
        ha: dict[str, Any] = {"role": report.ha.role, "epoch": int(report.ha.epoch)}
        if report.ha.leader_url is not None:
            ha["leader_url"] = report.ha.leader_url
        struct["ha"] = ha
    if report.oidc is not None:
        oidc: dict[str, Any] = {"configured": True, "keys": report.oidc.keys, "refresh_ok": report.oidc.refresh_ok}
        if report.oidc.last_refresh is not None:
            oidc["last_refresh"] = _as_utc(report.oidc.last_refresh).timestamp()
        struct["oidc"] = oidc
    return struct


def parse_xml(data: bytes) -> HealthReport:
    """Read a health document back (for ``xrsched health``); raise HealthDocumentError if bad."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise HealthDocumentError("document is larger than 64 KiB")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except Exception as exc:  # defusedxml raises ParseError or its own DefusedXmlException family
        raise HealthDocumentError(f"not well-formed XML ({type(exc).__name__})") from exc
    if root.tag != "health":
        raise HealthDocumentError(f"root element is <{root.tag}>, expected <health>")
    uptime, sched, store, tls = (_child(root, tag) for tag in ("uptime", "scheduler", "store", "tls"))
    not_after_text = tls.get("not-after")
    try:
        return HealthReport(
            status=root.get("status", ""),
            version=root.get("version", ""),
            uptime_seconds=_float(uptime, "seconds"),
            scheduler=SchedulerCounts(**{name: _count(sched, name) for name in _COUNT_NAMES}),
            store=StoreHealth(kind=store.get("kind", ""), ok=_flag(store, "ok")),
            tls=TlsHealth(
                enabled=_flag(tls, "enabled"),
                not_after=_parse_time(not_after_text) if not_after_text else None,
            ),
            reasons=tuple(reason.text or "" for reason in root.iterfind("reasons/reason")),
            ha=_parse_ha(root.find("ha")),
            oidc=_parse_oidc(root.find("oidc")),
        )
    except ValueError as exc:
        raise HealthDocumentError(str(exc)) from exc


def _parse_ha(el: Element | None) -> HaHealth | None:
    if el is None:
        return None
    return HaHealth(role=el.get("role", ""), epoch=_count(el, "epoch"), leader_url=el.get("leader"))


def _parse_oidc(el: Element | None) -> OidcHealth | None:
    """The optional ``<oidc/>`` element (absent, or ``configured="false"``: no [oidc] table)."""
    if el is None or el.get("configured", "true") == "false":
        return None
    last = el.get("last-refresh")
    return OidcHealth(
        keys=_count(el, "keys"),
        refresh_ok=_flag(el, "refresh-ok"),
        last_refresh=_parse_time(last, "<oidc last-refresh>") if last else None,
    )


def _child(root: Element, tag: str) -> Element:
    found = root.find(tag)
    if found is None:
        raise HealthDocumentError(f"missing <{tag}> element")
    return found


def _float(el: Element, name: str) -> float:
    try:
        value = float(el.get(name, ""))
    except ValueError:
        raise HealthDocumentError(f"<{el.tag} {name}> is not a number") from None
    return value  # HealthReport refuses nan, inf and negative values


def _count(el: Element, name: str) -> int:
    text = el.get(name, "")
    if not text.isdigit():
        raise HealthDocumentError(f"<{el.tag} {name}> must be a whole number >= 0, got {text[:20]!r}")
    return int(text)


def _flag(el: Element, name: str) -> bool:
    text = el.get(name, "")
    if text not in ("true", "false"):
        raise HealthDocumentError(f"<{el.tag} {name}> must be true or false, got {text[:20]!r}")
    return text == "true"


def _parse_time(text: str, where: str = "<tls not-after>") -> _dt.datetime:
    try:
        parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HealthDocumentError(f"{where} is not an ISO 8601 time: {text[:40]!r}") from None
    return _as_utc(parsed)


def _as_utc(moment: _dt.datetime) -> _dt.datetime:
    # Naive datetimes (as older cryptography versions return) are taken to be UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=_dt.UTC)
    return moment.astimezone(_dt.UTC)


def _iso(moment: _dt.datetime) -> str:
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _text(value: str) -> str:
    return escape(_NOT_XML_CHARS.sub("?", value))


def _attr(value: str) -> str:
    """A double-quoted attribute; quoteattr also writes tab, CR and LF as references."""
    return quoteattr(_NOT_XML_CHARS.sub("?", value), {'"': "&quot;"})
