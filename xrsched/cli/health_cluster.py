"""``xrsched health A B ...``: probe a leader and its standbys together and say who leads.

Each target is probed as ``xrsched health`` probes one (in parallel, one timeout for all); its
role comes from the ``<ha>`` element of its health document (a server without one, on SQLite,
leads alone). The verdict is the first line, in the manner of a monitoring plugin, then one
line per target. Exit status:

- 0: exactly one server leads and it is ok; every other target is a standby that is ok;
- 1: exactly one server leads, but it is degraded, or another target is degraded, down,
  unreachable or unreadable (the cluster serves, with less to fall back on);
- 2: no target leads (standbys and unreachable only), the one that leads is down, or more
  than one leads (split brain: a stale leader still answers as one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from xrsched.cli.health import EXIT_DEGRADED, EXIT_DOWN, EXIT_OK, ProbeResult
from xrsched.health import HealthDocumentError, HealthReport, parse_xml

LEADER, STANDBY, UNKNOWN = "leader", "standby", "unknown"


@dataclass(frozen=True)
class Member:
    """One target's probe, and the role its health document gives it."""

    where: str
    result: ProbeResult
    role: str
    report: HealthReport | None = None

    def describe(self) -> str:
        """The target's line under the verdict."""
        if self.report is None:
            return f"  {self.result.line}"  # UNREACHABLE / UNKNOWN lines name the target already
        line = f"  {self.role.upper()} {self.where}: {self.result.line}"
        ha = self.report.ha
        if ha is not None and ha.role == STANDBY:
            line += f" - leader is {ha.leader_url or 'unknown'}"
        return line + (f" (epoch {ha.epoch})" if ha is not None else "")

    @property
    def label(self) -> str:
        """The target as the verdict names it."""
        ha = self.report.ha if self.report is not None else None
        return f"{self.where} (epoch {ha.epoch})" if ha is not None else self.where


def member(where: str, result: ProbeResult) -> Member:
    """``result`` with the role its document gives: the ``<ha>`` role, ``standby`` for a standby
    status, ``leader`` for a server without HA, ``unknown`` when there is no document to read."""
    if result.document is None:
        return Member(where, result, UNKNOWN)
    try:
        report = parse_xml(result.document)
    except HealthDocumentError:
        return Member(where, result, UNKNOWN)
    if report.ha is not None:
        return Member(where, result, report.ha.role, report)
    return Member(where, result, STANDBY if report.status == "standby" else LEADER, report)


def verdict(members: Sequence[Member]) -> tuple[int, str]:
    """The exit status and the first line for the cluster the ``members`` make (see module doc)."""
    leaders = [m for m in members if m.role == LEADER]
    others = [m for m in members if m.role != LEADER]
    standbys = sum(1 for m in others if m.role == STANDBY)
    if len(leaders) > 1:
        return EXIT_DOWN, f"SPLIT BRAIN: {len(leaders)} servers lead: {', '.join(m.label for m in leaders)}"
    if not leaders:
        return EXIT_DOWN, f"NO LEADER: {standbys} standby, {len(others) - standbys} unreachable or unknown"
    leader = leaders[0]
    if leader.result.exit_code == EXIT_DOWN:
        return EXIT_DOWN, f"LEADER DOWN: {leader.label} leads and is down"
    trouble = [m.where for m in others if m.result.exit_code != EXIT_OK or m.role != STANDBY]
    if leader.result.exit_code != EXIT_OK or trouble:
        worse = "; leader degraded" if leader.result.exit_code != EXIT_OK else ""
        not_ok = f"; not ok: {', '.join(trouble)}" if trouble else ""
        return EXIT_DEGRADED, f"DEGRADED: {leader.label} leads, {standbys} standby{worse}{not_ok}"
    return EXIT_OK, f"OK: {leader.label} leads, {standbys} standby"


def probe_cluster(targets: Sequence[tuple[str, str]], probe: Callable[[str, str], ProbeResult]) -> tuple[int, str]:
    """Probe every ``(url, where)`` target at once with ``probe``; the exit status and the text."""
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        results = list(pool.map(lambda target: probe(*target), targets))
    members = [member(where, result) for (_, where), result in zip(targets, results, strict=True)]
    code, first = verdict(members)
    return code, "\n".join([first, *(m.describe() for m in members)])
