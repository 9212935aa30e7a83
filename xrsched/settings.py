"""ServerSettings: the single list of server options (STYLE.md, "define each option once").

The click options of ``xrsched-server``, the keys of its TOML config file and the
``XRSCHED_*`` environment variables are all derived from the fields below. Precedence:
command-line flag > environment variable > config file > default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from xrsched.auth.oidc.config import OidcSettings
from xrsched.core.config import SchedulerConfig
from xrsched.core.errors import BadValue
from xrsched.dashboard.settings import DashboardSettings
from xrsched.durations import parse_duration
from xrsched.luigi_api.cors import CorsSettings
from xrsched.options import env_name, layer_values, read_toml
from xrsched.paths import DEFAULT_STATE_DIR_HELP
from xrsched.unixpath import SocketPathError, check_socket_path

_T = TypeVar("_T")


def _opt(default: Any, help: str, *, metavar: str | None = None) -> Any:
    return field(default=default, metadata={"help": help, "metavar": metavar})


@dataclass(frozen=True)
class ServerSettings:
    """Every option of ``xrsched-server`` with its default. Paths left as None get defaults
    under ``state_path``."""

    address: str = _opt("127.0.0.1", "Address to listen on.", metavar="HOST")
    port: int = _opt(8082, "TCP port to listen on (0 picks a free one).", metavar="PORT")
    unix_socket: Path | None = _opt(
        None,
        "Also serve on this Unix socket file, created with mode 0600 (no TLS on it: file permissions "
        "protect it; tokens are still required).",
        metavar="PATH",
    )
    no_tcp: bool = _opt(False, "Open no TCP listener: serve only on --unix-socket (no certificate is needed).")
    tls_cert: Path | None = _opt(None, "Server certificate chain (PEM).", metavar="FILE")
    tls_key: Path | None = _opt(
        None, "Private key (PEM); its password, if any, comes from XRSCHED_TLS_KEY_PASSWORD.", metavar="FILE"
    )
    tls_client_ca: Path | None = _opt(
        None,
        "CA bundle for optional client certificates, mapped to identities in the tokens file.",
        metavar="FILE",
    )
    no_tls: bool = _opt(False, "Serve plain HTTP (tokens then cross the network in clear; not for production).")
    tokens: Path | None = _opt(
        None, "Tokens file (TOML, hashes only). Default: STATE_PATH/tokens.toml.", metavar="FILE"
    )
    audit_log: Path | None = _opt(None, "Audit log, JSON lines. Default: STATE_PATH/audit.log.", metavar="FILE")
    audit_key: Path | None = _opt(
        None,
        "Add an HMAC-SHA256 to every audit record, keyed with this file's contents (at least 16 "
        "bytes, mode 0600); `xrsched audit verify --key` checks them.",
        metavar="FILE",
    )
    audit_required: bool = _opt(False, "Refuse mutating calls (503) while the audit log cannot be written.")
    state_path: Path | None = _opt(
        None,
        f"Directory for state, tokens, audit log and generated certificates (default: {DEFAULT_STATE_DIR_HELP}).",
        metavar="DIR",
    )
    store: str = _opt(
        "sqlite",
        "Where state lives: sqlite (durable, under STATE_PATH), memory, or postgresql://USER@HOST:PORT/DB "
        "(shared by a leader and standbys; password from PGPASSWORD, ~/.pgpass or XRSCHED_STORE_PASSWORD).",
        metavar="KIND|URL",
    )
    advertise_url: str | None = _opt(
        None,
        "URL clients should use for this server, named by standbys in 'standby; leader is URL' "
        "(default: built from the listening address and port).",
        metavar="URL",
    )
    lock_check_interval: float = _opt(
        1.0, "With PostgreSQL: seconds between the leader's lock checks and a standby's tries.", metavar="SECONDS"
    )
    takeover_delay: float = _opt(
        5.0,
        "With PostgreSQL: seconds of silence after which the database frees a leader's lock so a standby "
        "takes over; the leader stops serving sooner (0.6 x this after its last check).",
        metavar="SECONDS",
    )
    sync: str = _opt(
        "full",
        "full: a change survives power loss before its reply is sent; normal: it survives a crash "
        "of the server process, and the last moments may be lost on power loss (faster).",
        metavar="MODE",
    )
    history_days: float = _opt(30.0, "Days of task history to keep (0 keeps everything).", metavar="DAYS")
    max_connections: int = _opt(256, "Concurrent connections; past it new ones get a quick 503.", metavar="N")
    max_request_bytes: int = _opt(10 * 1024 * 1024, "Largest request body accepted (413 beyond).", metavar="BYTES")
    handshake_timeout: float = _opt(10.0, "Seconds a client has to finish the TLS handshake.", metavar="SECONDS")
    read_timeout: float = _opt(30.0, "Seconds a request may take to arrive once started.", metavar="SECONDS")
    idle_timeout: float = _opt(60.0, "Seconds an idle keep-alive connection is kept open.", metavar="SECONDS")
    health_requires_token: bool = _opt(False, "Make GET /health ask for a valid token.")
    metrics_auth: str = _opt(
        "token",
        "Who may GET /metrics: token (any valid token, viewer or better) or none (anyone who reaches "
        "the port, for scrapers that cannot send a token; the metrics hold counts and task family "
        "names, never parameters).",
        metavar="MODE",
    )
    warn_expiry: str = _opt(
        "7d",
        "Health turns degraded, naming the token, while a token expires within this long "
        "(e.g. 36h, 7d; 0 turns the warning off). Rotation grace periods do not count.",
        metavar="DURATION",
    )
    background: bool = _opt(False, "Detach and run in the background (see --pidfile, --logdir).")
    pidfile: Path | None = _opt(None, "Write the server's process id here (with --background).", metavar="FILE")
    logdir: Path | None = _opt(None, "Write xrsched-server.log here instead of standard error.", metavar="DIR")
    log_level: str = _opt("INFO", "DEBUG, INFO, WARNING or ERROR.", metavar="LEVEL")
    scheduler: SchedulerConfig = field(
        default_factory=SchedulerConfig, metadata={"help": "[scheduler] table (Luigi's keys)", "cli": False}
    )
    resources: dict[str, int] = field(
        default_factory=dict, metadata={"help": "[resources] table: name = capacity", "cli": False}
    )
    cors: CorsSettings = field(
        default_factory=CorsSettings, metadata={"help": "[cors] table for /api/ (luigid's keys)", "cli": False}
    )
    oidc: OidcSettings | None = field(
        default=None, metadata={"help": "[oidc] table: accept an identity provider's JWTs", "cli": False}
    )
    dashboard: DashboardSettings = field(
        default_factory=DashboardSettings,
        metadata={"help": "[dashboard] table: the browser dashboard and its sessions", "cli": False},
    )

    def resolved_state_path(self) -> Path:
        """The state directory, defaulting per :func:`xrsched.paths.default_state_dir`."""
        if self.state_path is not None:
            return self.state_path
        from xrsched.paths import default_state_dir

        return default_state_dir()

    def resolved_tokens(self) -> Path:
        """The tokens file path."""
        return self.tokens if self.tokens is not None else self.resolved_state_path() / "tokens.toml"

    def resolved_audit_log(self) -> Path:
        """The audit log path."""
        return self.audit_log if self.audit_log is not None else self.resolved_state_path() / "audit.log"


def option_fields() -> list[Any]:
    """The fields that are command-line options (everything but the TOML-only tables)."""
    return [f for f in fields(ServerSettings) if f.metadata.get("cli", True)]


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML config: top-level keys are settings; ``[scheduler]``, ``[resources]``,
    ``[cors]``, ``[oidc]`` and ``[dashboard]`` tables."""
    return read_toml(path, BadValue)


def build_settings(
    file_values: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    flags: dict[str, Any] | None = None,
    *,
    origin: str = "config",
) -> ServerSettings:
    """Merge defaults < config file < environment < flags into one validated ServerSettings.

    ``flags`` holds only the options the user actually gave on the command line.
    """
    environ = dict(os.environ if environ is None else environ)
    file_values = dict(file_values or {})
    known = {f.name: f for f in fields(ServerSettings)}
    for key in file_values:
        if key.replace("-", "_") not in known:
            raise BadValue(f"{origin}: unknown setting {key!r}")
    values = layer_values(option_fields(), file_values, environ, flags or {}, origin=origin, error=BadValue)
    scheduler = file_values.get("scheduler", {})
    if not isinstance(scheduler, dict):
        raise BadValue(f"{origin}: [scheduler] must be a table")
    values["scheduler"] = SchedulerConfig.from_mapping(scheduler)
    resources = file_values.get("resources", {})
    if not isinstance(resources, dict):
        raise BadValue(f"{origin}: [resources] must be a table")
    for name, amount in resources.items():
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise BadValue(f"{origin}: resources.{name} must be a non-negative integer, got {amount!r}")
    values["resources"] = dict(resources)
    values["cors"] = _table(CorsSettings.from_mapping, "cors", file_values.get("cors", {}), origin)
    oidc = file_values.get("oidc")
    values["oidc"] = None if oidc is None else _table(OidcSettings.from_mapping, "oidc", oidc, origin)
    values["dashboard"] = _table(DashboardSettings.from_mapping, "dashboard", file_values.get("dashboard", {}), origin)
    settings = ServerSettings(**values)
    _check(settings)
    return settings


def _table(parse: Callable[[dict[str, Any], str], _T], name: str, table: object, origin: str) -> _T:
    """A TOML table (``[cors]``, ``[oidc]``, ``[dashboard]``) read by its settings class's
    ``from_mapping``; what is wrong with it as :class:`BadValue`."""
    if not isinstance(table, dict):
        raise BadValue(f"{origin}: [{name}] must be a table")
    try:
        return parse(table, origin)
    except ValueError as exc:
        raise BadValue(str(exc)) from None


def _check(settings: ServerSettings) -> None:
    if not 0 <= settings.port <= 65535:
        raise BadValue(f"port must be between 0 and 65535, got {settings.port}")
    if settings.max_connections < 1:
        raise BadValue("max_connections must be at least 1")
    if settings.max_request_bytes < 1024:
        raise BadValue("max_request_bytes must be at least 1024")
    for name in ("handshake_timeout", "read_timeout", "idle_timeout"):
        if getattr(settings, name) <= 0:
            raise BadValue(f"{name} must be positive")
    postgres = settings.store.lower().startswith(("postgresql:", "postgres:"))
    if settings.store not in ("sqlite", "memory") and not postgres:
        raise BadValue(f"store must be sqlite, memory or a postgresql:// URL, got {settings.store.split('@')[-1]!r}")
    if settings.lock_check_interval <= 0 or settings.takeover_delay < 2 * settings.lock_check_interval:
        raise BadValue("lock_check_interval must be positive and takeover_delay at least twice as long")
    if settings.sync not in ("full", "normal"):
        raise BadValue(f"sync must be full or normal, got {settings.sync!r}")
    try:
        parse_duration(settings.warn_expiry)
    except ValueError as exc:
        raise BadValue(f"warn_expiry: {exc}") from None
    if settings.history_days < 0:
        raise BadValue("history_days must not be negative")
    if settings.metrics_auth not in ("token", "none"):
        raise BadValue(f"metrics_auth must be token or none, got {settings.metrics_auth!r}")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise BadValue(f"log_level must be DEBUG, INFO, WARNING or ERROR, got {settings.log_level!r}")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise BadValue("tls_cert and tls_key go together: give both or neither")
    if settings.no_tls and settings.tls_cert is not None:
        raise BadValue("no_tls contradicts tls_cert/tls_key: choose one")
    _check_listeners(settings)


def _check_listeners(settings: ServerSettings) -> None:
    if settings.unix_socket is not None:
        try:
            check_socket_path(settings.unix_socket)
        except SocketPathError as exc:
            raise BadValue(f"unix_socket: {exc}") from None
    if not settings.no_tcp:
        return
    if settings.unix_socket is None:
        raise BadValue("no_tcp needs unix_socket: without either listener there is nothing to serve on")
    if settings.tls_cert is not None or settings.tls_client_ca is not None:
        raise BadValue("no_tcp: the Unix socket never uses TLS, so tls_cert/tls_key/tls_client_ca would be unused")


__all__ = ["ServerSettings", "build_settings", "env_name", "load_config_file", "option_fields", "replace"]
