"""ServerRuntime: builds the server from ServerSettings and runs it until a signal stops it.

Start-up is loud about the few things an operator must know once: the first admin token
(printed a single time), the certificate's path and fingerprint when one was generated, and
the address served. The tokens file is re-read within a second of a change; SIGHUP re-reads
it at once, reopens the audit log and reloads the certificate; SIGTERM/SIGINT stop accepting,
let in-flight calls finish, and exit 0.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TextIO

from xrsched.audit import AuditLog
from xrsched.audit_chain import AuditKeyError, read_key
from xrsched.auth import Role, TokenStore, create_initial_admin
from xrsched.core import Scheduler
from xrsched.dashboard.site import DashboardSite
from xrsched.durations import parse_duration
from xrsched.metrics import ServerMetrics
from xrsched.rpc.http_server import RpcHttpServer
from xrsched.rpc.limits import HttpSettings, RequestLimits
from xrsched.rpc.unix_server import RpcUnixServer, check_unix_socket
from xrsched.server import identity_provider, metrics_wiring, preflight, storage
from xrsched.server.app import SchedulerApp
from xrsched.server.statelock import hold_state_lock, state_dir_in_use
from xrsched.service import SchedulerService
from xrsched.settings import ServerSettings
from xrsched.store import StateStore, StoreError
from xrsched.tls import (
    CertificateInfo,
    certificate_info,
    check_certificates_file,
    ensure_self_signed,
    server_context,
)
from xrsched.unixpath import check_socket_path

log = logging.getLogger("xrsched.server")
KEY_PASSWORD_ENV = "XRSCHED_TLS_KEY_PASSWORD"  # noqa: S105 (the variable's name, not a password)
#: Seconds in-flight calls get to finish after SIGTERM.
SHUTDOWN_GRACE = 10.0
#: Seconds between two looks (one ``stat``) at the tokens file for changes.
TOKENS_CHECK_INTERVAL = 1.0


class ServerRuntime:
    """Everything one running server owns, built in dependency order."""

    def __init__(self, settings: ServerSettings, *, out: TextIO | None = None) -> None:
        self.settings = settings
        self.out = out or sys.stdout
        self.state_dir = settings.resolved_state_path()
        self.tokens_path = settings.resolved_tokens()
        self.unix_path = check_socket_path(settings.unix_socket) if settings.unix_socket is not None else None
        self.audit_key: bytes | None = None
        probe = self._check_before_creating()
        try:
            self.oidc = identity_provider.load_verifier(settings)
            self._lock_file = self._take_state_dir()
            self.store = storage.open_store(settings, self.state_dir)
            #: Set with a PostgreSQL store: the election's outcome and what follows from it.
            self.ha = storage.ha_coordinator(settings, self.store, self._say, self._new_service)
            self.tokens = self._load_tokens()
            self.audit = AuditLog(settings.resolved_audit_log(), key=self.audit_key)
            self.cert_path, self.key_path = self._certificate_paths()
            self.cert: CertificateInfo | None = certificate_info(self.cert_path) if self.cert_path else None
            self.core = storage.recover(settings, self.store, self._say, standby=self.ha is not None)
            self.metrics = ServerMetrics()
            self.service = self._new_service(self.core, None if self.ha else self.store)
            self.tokens.on_reload.append(self.release_revoked_claims)
            self.app = self._application()
            self.dashboard = self._dashboard()
            tls_context = self._tls_context(self.cert_path, self.key_path)
        finally:
            if probe is not None:
                probe.close()  # the real listener binds the port next
        #: The TCP listener (None with ``--no-tcp``) and the Unix-socket one (with ``--unix-socket``).
        self.http: RpcHttpServer | None = None if settings.no_tcp else self._listen(tls_context)
        self.unix: RpcUnixServer | None = None
        if self.unix_path is not None:
            try:
                self.unix = RpcUnixServer(
                    self.unix_path, self.app, settings=self._http_settings(), dashboard=self.dashboard
                )
            except BaseException:
                if self.http is not None:
                    self.http.shutdown(grace_seconds=0.0)
                raise
        metrics_wiring.watch_server(
            self.metrics,
            self.app,
            self.listeners,
            self.audit,
            leadership=self.ha.leadership.role_and_epoch if self.ha is not None else None,
        )
        self._stop = threading.Event()
        self._reload = threading.Event()

    # ---------------------------------------------------------------- set-up

    def _say(self, line: str) -> None:
        # One write for the line and its newline: print() writes them apart, and a log line from
        # another thread (the accept loop's "serving on") could land in between.
        self.out.write(line + "\n")
        self.out.flush()

    def _check_before_creating(self) -> socket.socket | None:
        """Every check that needs no side effect; returns the socket reserving the TCP address.

        Nothing is created before these pass, so a start that fails (port taken, bad
        certificate, unreadable tokens file...) leaves the state directory as it was.
        """
        settings = self.settings
        preflight.check_directory(self.state_dir, "state directory")
        if state_dir_in_use(self.state_dir):
            raise StoreError(
                f"{self.state_dir} is in use by another xrsched server; stop it or choose another --state-path"
            )
        if self.tokens_path.exists():
            TokenStore.load(self.tokens_path)  # raises TokenFileError naming the file
        else:
            preflight.check_file(self.tokens_path, "tokens file")
        preflight.check_file(settings.resolved_audit_log(), "audit log")
        if settings.audit_key is not None:
            try:
                self.audit_key = read_key(settings.audit_key)
            except AuditKeyError as exc:
                raise preflight.StartupError(str(exc)) from None
        if settings.store == "sqlite":
            preflight.check_file(self.state_dir / storage.DATABASE_NAME, "state database")
        if settings.tls_cert is not None and settings.tls_key is not None:
            self._tls_context(settings.tls_cert, settings.tls_key)  # raises TLSConfigError naming the file
        if settings.tls_client_ca is not None and not settings.no_tls:
            check_certificates_file(settings.tls_client_ca, "client CA")
        if self.unix_path is not None:
            check_unix_socket(self.unix_path)  # a live server's socket or a user's file: refused here
        return None if settings.no_tcp else preflight.probe_address(settings.address, settings.port)

    def _take_state_dir(self) -> IO[str]:
        preflight.make_directory(self.state_dir, "state directory")
        return hold_state_lock(self.state_dir)

    def _new_service(self, core: Scheduler, store: StateStore | None) -> SchedulerService:
        """A service over ``core`` with this server's metrics and audit log (a takeover's too)."""
        return SchedulerService(core, store=store, observer=self.metrics, audit_path=self.audit.path)

    def _load_tokens(self) -> TokenStore:
        secret = create_initial_admin(self.tokens_path)
        if secret is not None:
            self._say(f"created tokens file {self.tokens_path} with one admin token (shown only now):")
            self._say(f"  id: admin  secret: {secret}")
        return TokenStore.load(self.tokens_path)

    def _application(self) -> SchedulerApp:
        settings = self.settings
        return SchedulerApp(
            self.service,
            tokens=self.tokens,
            audit=self.audit,
            limits=RequestLimits(
                max_request_bytes=settings.max_request_bytes,
                max_decompressed_bytes=max(settings.max_request_bytes, RequestLimits().max_decompressed_bytes),
            ),
            audit_required=settings.audit_required,
            tls_not_after=(lambda: self.cert.not_after if self.cert else None) if self.cert_path else None,
            store_health=self.ha.store_health if self.ha else self.service.store_health,
            leadership=self.ha.leadership if self.ha else None,
            oidc=self.oidc,
            metrics=self.metrics,
            warn_expiry=parse_duration(settings.warn_expiry),
        )

    def _dashboard(self) -> DashboardSite | None:
        """The browser dashboard (``[dashboard] enabled``); its sessions end with their token."""
        if not self.settings.dashboard.enabled:
            return None
        app = self.app
        site = DashboardSite(
            self.settings.dashboard,
            authenticate=lambda headers, peer: app.authenticate(headers, None, peer=peer),  # type: ignore[return-value]
            audit=self.audit,
        )
        self.tokens.on_reload.append(self.end_revoked_sessions)
        return site

    def _http_settings(self) -> HttpSettings:
        settings = self.settings
        return HttpSettings(
            max_connections=settings.max_connections,
            handshake_timeout=settings.handshake_timeout,
            read_timeout=settings.read_timeout,
            idle_timeout=settings.idle_timeout,
            max_request_bytes=settings.max_request_bytes,
            max_decompressed_bytes=self.app.limits.max_decompressed_bytes,
            health_requires_token=settings.health_requires_token,
            metrics_auth=settings.metrics_auth,
            cors=settings.cors,
        )

    def _listen(self, tls_context: ssl.SSLContext | None) -> RpcHttpServer:
        settings = self.settings
        try:
            return RpcHttpServer(
                (settings.address, settings.port),
                self.app,
                tls_context=tls_context,
                settings=self._http_settings(),
                dashboard=self.dashboard,
            )
        except OSError as exc:  # the port was taken between the check and now
            raise preflight.StartupError(
                f"cannot listen on {settings.address}:{settings.port}: {exc.strerror or exc}"
            ) from None

    def _certificate_paths(self) -> tuple[Path | None, Path | None]:
        settings = self.settings
        if settings.no_tcp:
            return None, None  # the Unix socket never speaks TLS: no certificate to make or load
        if settings.no_tls:
            log.warning("serving plain HTTP (--no-tls): tokens cross the network in clear")
            return None, None
        if settings.tls_cert is not None and settings.tls_key is not None:
            return settings.tls_cert, settings.tls_key
        cert, key, created = ensure_self_signed(self.state_dir)
        info = certificate_info(cert)
        verb = "generated a self-signed certificate" if created else "using the self-signed certificate"
        self._say(f"{verb} {cert}")
        self._say(f"  sha256 fingerprint: {info.fingerprint_sha256}")
        self._say("  clients verify it with --ca pointing at this file")
        return cert, key

    def _tls_context(self, cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
        if cert is None or key is None:
            return None
        return server_context(
            cert,
            key,
            password=os.environ.get(KEY_PASSWORD_ENV) or None,
            client_ca=self.settings.tls_client_ca,
        )

    @property
    def url(self) -> str:
        """The base URL clients use: the TCP listener's, or ``unix:PATH`` with ``--no-tcp``."""
        if self.http is None:
            return self.unix_url
        host, port = self.http.server_address
        scheme = "https" if self.http.tls_enabled else "http"
        return f"{scheme}://{host}:{port}/RPC2"

    @property
    def unix_url(self) -> str:
        """``unix:PATH`` of the Unix-socket listener; empty without one."""
        return f"unix:{self.unix_path}" if self.unix is not None else ""

    @property
    def listeners(self) -> list[RpcHttpServer]:
        """The listeners this server runs (one or two)."""
        return [server for server in (self.http, self.unix) if server is not None]

    # ---------------------------------------------------------------- running

    def reload(self) -> None:
        """SIGHUP: re-read tokens, reopen the audit log, reload the certificate.

        A bad new tokens file or certificate is reported and the old one stays in force.
        """
        self.tokens.reload()  # logs the outcome itself, once; release_revoked_claims follows a success
        self.audit.reopen()
        if self.cert_path is not None:
            try:
                context = self._tls_context(self.cert_path, self.key_path)
                info = certificate_info(self.cert_path)
            except Exception as exc:  # a bad certificate must not take the server down
                log.error("certificate not reloaded, keeping the previous one: %s", exc)
            else:
                if context is not None and self.http is not None:
                    self.http.replace_tls_context(context)
                self.cert = info
                log.info("certificate %s reloaded (valid until %s)", self.cert_path, info.not_after)

    def release_revoked_claims(self) -> None:
        """Release the worker ids claimed by tokens that are gone, expired or no longer workers
        (and by identity-provider users whose latest token expired or lost the worker role)."""
        now = time.time()
        keep = self.tokens.principals(Role.WORKER, now)
        if self.oidc is not None:
            keep |= self.oidc.principals(Role.WORKER, now)
        released = self.app.service.release_claims(keep)
        if released:
            log.info("released %d worker id(s) of revoked, expired or re-roled tokens", len(released))

    def end_revoked_sessions(self) -> None:
        """End the dashboard sessions of tokens that are gone, expired or changed role."""
        if self.dashboard is None:
            return
        now = time.time()
        holders = {role: self.tokens.principals(role, now) for role in Role}
        # Only token sessions are checked against the file; other kinds (a client certificate
        # cannot sign in) live until their session expires.
        ended = self.dashboard.retain(lambda who: who.kind != "token" or who.principal in holders[who.role])
        if ended:
            log.info("ended %d dashboard session(s): expired, or their token was revoked, expired or re-roled", ended)

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop the server, SIGHUP reloads. Main thread only."""
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Serve until stopped; returns the process exit code (0 after a clean stop)."""
        if self.oidc is not None:
            identity_provider.start_key_refresh(self.oidc, self._stop)
        for server in self.listeners:
            server.start()
        if self.http is not None:
            self._say(f"xrsched-server listening on {self.url}")
        if self.unix is not None:
            self._say(f"xrsched-server listening on {self.unix_url} (mode 0600, no TLS)")
        # Its first work after a start from a snapshot (building the tasks left cold) must not
        # delay the line above.
        self.app.service.start()
        if self.ha is not None:
            self.ha.start(self.app, self.settings.advertise_url or self.url)
        if on_ready is not None:
            on_ready()
        tokens_checked = time.monotonic()
        while not self._stop.wait(0.2):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            if time.monotonic() - tokens_checked >= TOKENS_CHECK_INTERVAL:
                tokens_checked = time.monotonic()
                self.tokens.reload_if_changed()  # new and revoked tokens count without SIGHUP
                self.release_revoked_claims()  # and tokens that expired since
                self.end_revoked_sessions()
        return self.shutdown()

    def stop(self) -> None:
        """Ask :meth:`run` to return (thread-safe)."""
        self._stop.set()

    def shutdown(self) -> int:
        """Stop accepting, drain in-flight calls (bounded), stop maintenance, close the audit log."""
        log.info("stopping: finishing in-flight calls (up to %.0fs)", SHUTDOWN_GRACE)
        self.app.draining.set()
        clean = _shutdown_together(self.listeners, SHUTDOWN_GRACE)
        self.app.service.close()  # a leader writes what is pending before giving up the lock
        if self.ha is not None and self.store is not None:
            self.ha.stop()
            self.store.close()
        self.audit.close()
        if not clean:
            log.warning("some calls were still running after %.0fs and were cut off", SHUTDOWN_GRACE)
        log.info("stopped")
        return 0


def _shutdown_together(servers: list[RpcHttpServer], grace: float) -> bool:
    """Drain every listener at once (one shared grace period); True if all ended in time."""
    results: list[bool] = []
    threads = [threading.Thread(target=lambda s=server: results.append(s.shutdown(grace))) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return all(results)
