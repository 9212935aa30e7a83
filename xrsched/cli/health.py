"""``xrsched health HOST:PORT``: a monitoring-plugin style probe of ``GET /health``.

Prints one line and exits 0 (ok or standby), 1 (degraded) or 2 (down, unreachable, or an
answer that is not a health document), so it drops into Nagios, Icinga or a Kubernetes exec
probe. Given several targets (a leader and its standbys) it says who leads and judges them
together (:mod:`xrsched.cli.health_cluster`).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from xrsched.cli.options import token_options
from xrsched.client.endpoint import TransportSettings
from xrsched.client.errors import AuthenticationFailed, ClientError, ResponseTooLarge
from xrsched.client.proxy import SchedulerProxy
from xrsched.client.remote import TokenError, resolve_token
from xrsched.client.transport import SchedulerTransport
from xrsched.health import MAX_DOCUMENT_BYTES, HealthDocumentError, HealthReport, parse_xml
from xrsched.tls import TLSConfigError
from xrsched.unixpath import SocketPathError, is_unix_url, unix_url_path

DEFAULT_PORT = 8082
EXIT_OK, EXIT_DEGRADED, EXIT_DOWN = 0, 1, 2
_EXIT_BY_STATUS = {"ok": EXIT_OK, "standby": EXIT_OK, "degraded": EXIT_DEGRADED, "down": EXIT_DOWN}


@dataclass(frozen=True)
class ProbeResult:
    """What a probe found: the exit code, the one-line summary, and the raw document if any."""

    exit_code: int
    line: str
    document: bytes | None = None


def parse_address(text: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` (or a URL-ish ``https://host:port/``) to (host, port)."""
    value = text.strip()
    for scheme in ("https://", "http://"):
        if value.lower().startswith(scheme):
            value = value[len(scheme) :]
    value = value.split("/", 1)[0]
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    else:
        host, port_text = value, ""
    if not host:
        raise click.BadParameter(f"no host in {text!r}", param_hint="HOST:PORT")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise click.BadParameter(f"bad port in {text!r}", param_hint="HOST:PORT")
    return host, int(port_text)


def target_url(address: str, *, tls: bool) -> tuple[str, str]:
    """The scheduler URL for the command's ADDRESS, and how the summary line names it."""
    if is_unix_url(address):
        try:
            path = unix_url_path(address)
        except SocketPathError as exc:
            raise click.BadParameter(str(exc), param_hint="ADDRESS") from None
        return f"unix:{path}", f"unix:{path}"
    host, port = parse_address(address)
    return tcp_url(host, port, tls=tls), f"{host}:{port}"


def tcp_url(host: str, port: int, *, tls: bool) -> str:
    """``https://host:port/RPC2`` (``http://`` without TLS; IPv6 hosts in brackets)."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{'https' if tls else 'http'}://{authority}/RPC2"


def summarize(report: HealthReport) -> str:
    """The one-line summary of a health document."""
    counts = report.scheduler
    parts = [
        report.status.upper(),
        f"xrsched {report.version}",
        f"uptime {format_uptime(report.uptime_seconds)}",
        f"tasks={counts.tasks} pending={counts.pending} running={counts.running} failed={counts.failed} "
        f"disabled={counts.disabled} workers={counts.workers}",
    ]
    if not report.tls.enabled:
        parts.append("tls off")
    elif report.tls.not_after is not None:
        parts.append(f"tls-expires {report.tls.not_after.date().isoformat()}")
    line = " ".join(parts)
    if report.reasons:
        line += " - " + "; ".join(report.reasons)
    return line


def format_uptime(seconds: float) -> str:
    """``12s``, ``5m03s``, ``3h07m``, ``2d04h``: short enough for a status line."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def probe(
    host: str,
    port: int,
    *,
    tls: bool = True,
    ca: Path | None = None,
    verify: bool = True,
    token: str | None = None,
    timeout: float = 5.0,
) -> ProbeResult:
    """GET /health from ``host:port`` (over TLS unless ``tls`` is False) and judge the answer."""
    return probe_url(tcp_url(host, port, tls=tls), f"{host}:{port}", ca=ca, verify=verify, token=token, timeout=timeout)


def probe_url(
    url: str,
    where: str,
    *,
    ca: Path | None = None,
    verify: bool = True,
    token: str | None = None,
    timeout: float = 5.0,
) -> ProbeResult:
    """GET /health from the scheduler at ``url`` (``https://``, ``http://`` or ``unix:PATH``) and
    judge the answer; ``where`` names it in the summary line.

    Spoken through the client's own transport (:class:`~xrsched.client.transport.SchedulerTransport`):
    the same TLS context, timeouts and answer cap as every xrsched call.
    """
    plain_tcp = url.startswith("http://")  # the only case where "drop --no-tls" can help
    try:  # the rule every xrsched client applies to a token
        token = resolve_token(token, None, environ={})
    except ValueError as exc:
        reason = f"the token holds characters an HTTP header cannot carry ({exc})"
        return ProbeResult(EXIT_DOWN, f"UNKNOWN {where}: {reason}")
    settings = TransportSettings(ca=ca, verify=verify, connect_timeout=timeout, read_timeout=timeout,
                                 max_response_bytes=MAX_DOCUMENT_BYTES)  # fmt: skip
    try:
        transport = SchedulerTransport(url, token, settings)
    except TLSConfigError as exc:
        return ProbeResult(EXIT_DOWN, f"UNKNOWN {where}: {exc}")
    try:
        status, body = transport.get("/health", "application/xml")
    except ResponseTooLarge:
        return ProbeResult(EXIT_DOWN, f"UNKNOWN {where}: the answer is over {MAX_DOCUMENT_BYTES} bytes")
    except ClientError as exc:
        reason = describe_error(exc.__cause__ or exc, timeout, tls=not plain_tcp)
        return ProbeResult(EXIT_DOWN, f"UNREACHABLE {where}: {reason}")
    if status == 401:
        hint = "the token was refused" if token else "a token is needed (--token, --token-file or XRSCHED_TOKEN)"
        return ProbeResult(EXIT_DOWN, f"UNKNOWN {where}: HTTP 401, {hint}")
    if status not in (200, 503):
        return ProbeResult(EXIT_DOWN, f"UNKNOWN {where}: HTTP {status} from /health")
    try:
        report = parse_xml(body)
    except HealthDocumentError as exc:
        state = "DOWN" if status == 503 else "UNKNOWN"
        line = f"{state} {where}: HTTP {status}, not a health document ({exc})"
        return ProbeResult(EXIT_DOWN, line, body)
    line = summarize(report)
    if token:
        line += " - " + check_token(url, token, settings, timeout)
    return ProbeResult(_EXIT_BY_STATUS[report.status], line, body)


def _split_targets(addresses: tuple[str, ...]) -> list[str]:
    """Every target named, in order: arguments, each maybe a comma-separated list."""
    parts = [part.strip() for address in addresses for part in address.split(",")]
    if not all(parts):
        raise click.BadParameter("an empty target (two commas in a row?)", param_hint="TARGET")
    repeated = sorted({part for part in parts if parts.count(part) > 1})
    if repeated:
        raise click.BadParameter(f"{repeated[0]} is given twice", param_hint="TARGET")
    return parts


def check_token(url: str, token: str, settings: TransportSettings, timeout: float) -> str:
    """Verify ``token`` with one ``system.health`` call (``GET /health`` may be open, and then the
    server ignores the token): what to add to the summary line."""
    try:
        SchedulerProxy(SchedulerTransport(url, token, settings)).invoke("system.health")
    except AuthenticationFailed:
        return "token REFUSED (HTTP 401; /health is open, so the probe did not need it)"
    except ClientError as exc:
        return f"token not checked: {describe_error(exc.__cause__ or exc, timeout, tls=not url.startswith('http://'))}"
    return "token accepted"


def describe_error(exc: BaseException, timeout: float, *, tls: bool) -> str:
    """A short, operator-facing reason for a failed probe."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS verify failed: {exc.verify_message or exc.reason} (use --ca FILE, or --insecure)"
    if isinstance(exc, ssl.SSLError):
        hint = " (is the server running with --no-tls?)" if "WRONG_VERSION_NUMBER" in str(exc) else ""
        return f"TLS error: {exc.reason or exc}{hint}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, FileNotFoundError | PermissionError) and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g}s"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
        hint = "" if tls else " (does the server expect TLS? drop --no-tls)"
        return f"server closed the connection{hint}"
    if isinstance(exc, http.client.IncompleteRead):
        return f"the answer was cut off ({len(exc.partial)} bytes of the body read)"
    if isinstance(exc, http.client.HTTPException):
        return f"not an HTTP answer ({type(exc).__name__})"
    if isinstance(exc, ClientError):
        return str(exc)
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


@click.command("health")
@click.argument("addresses", nargs=-1, required=True, metavar="TARGET...")
@click.option(
    "--ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA certificate (PEM) to verify the server with; default: the system store.",
)
@click.option("--insecure", is_flag=True, help="Do not verify the server certificate.")
@token_options("Token to send, for servers started with --health-requires-token; it is checked by one more call.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the connection and the answer.",
)
@click.option("--xml", "show_xml", is_flag=True, help="Print the XML document instead of the summary.")
@click.option("--no-tls", is_flag=True, help="Speak plain HTTP (a server started with --no-tls).")
def health(
    addresses: tuple[str, ...],
    ca: Path | None,
    insecure: bool,
    token: str | None,
    token_file: Path | None,
    timeout: float,
    show_xml: bool,
    no_tls: bool,
) -> None:
    """Check a server's health; exit 0 ok (or standby), 1 degraded, 2 down or unreachable.

    TARGET is HOST:PORT (or a scheduler URL), or unix:PATH for a server's --unix-socket (plain
    HTTP on the socket file, so --ca, --insecure and --no-tls do not apply there).

    Several targets (separate arguments, or separated by commas as in --scheduler-url) are a
    leader and its standbys: the first line says who leads, one line per target follows. Exit
    0 if exactly one leads and all are ok; 1 if one leads but something is degraded or
    unreachable; 2 if none leads, the leader is down, or more than one leads (split brain).
    """
    targets = [target_url(part, tls=not no_tls) for part in _split_targets(addresses)]
    if len(targets) > 1 and show_xml:
        raise click.UsageError("--xml prints one document: give one target")
    where = ", ".join(name for _, name in targets)
    try:  # the rule every xrsched client follows: flag > file > environment
        token = resolve_token(token, token_file)
    except TokenError as exc:
        click.echo(f"UNKNOWN {where}: {exc}")
        sys.exit(EXIT_DOWN)
    if len(targets) > 1:
        from xrsched.cli.health_cluster import probe_cluster

        def probe_one(url: str, name: str) -> ProbeResult:
            return probe_url(url, name, ca=ca, verify=not insecure, token=token, timeout=timeout)

        code, text = probe_cluster(targets, probe_one)
        click.echo(text)
        sys.exit(code)
    url, where = targets[0]
    result = probe_url(url, where, ca=ca, verify=not insecure, token=token, timeout=timeout)
    if show_xml and result.document is not None:
        click.echo(result.document.decode("utf-8", "replace"), nl=False)
    else:
        click.echo(result.line)
    sys.exit(result.exit_code)
