"""The only place that builds an :class:`ssl.SSLContext` (STYLE.md, "pure builders").

Every input is an explicit argument. Configuration problems (a missing file, a key that does
not match its certificate, a wrong key password) raise :class:`TLSConfigError` with a one-line
message naming the file, so the CLI can print it without a traceback.

``cryptography`` is imported only by the functions that read certificates and keys: a client
that only needs :func:`client_context` (every ``xrsched run``) does not pay for loading it.
"""

from __future__ import annotations

import datetime as _dt
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

MIN_TLS = ssl.TLSVersion.TLSv1_2


class TLSConfigError(Exception):
    """A certificate, key or CA file cannot be used; the message names the file and the problem."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CertificateInfo:
    """What operators and the health document need to know about a certificate."""

    path: Path
    subject_cn: str | None
    issuer_cn: str | None
    not_before: _dt.datetime
    not_after: _dt.datetime
    fingerprint_sha256: str
    hostnames: tuple[str, ...]

    def seconds_left(self, now: float) -> float:
        """Seconds until ``not_after`` as seen at ``now`` (epoch seconds); negative once expired."""
        return self.not_after.timestamp() - now


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise TLSConfigError(f"{what} file {path}: no such file") from None
    except IsADirectoryError:
        raise TLSConfigError(f"{what} file {path}: is a directory") from None
    except OSError as exc:
        raise TLSConfigError(f"{what} file {path}: cannot read it ({exc.strerror or exc})") from None


def _load_certs(path: Path, what: str) -> list[x509.Certificate]:
    from cryptography import x509

    data = _read(path, what)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise TLSConfigError(f"{what} file {path}: no PEM certificate in it")
    return certs


def _check_pair(cert: Path, key: Path, password: str | None) -> None:
    """Check the files with `cryptography` first: its errors name the real problem, OpenSSL's don't."""
    from cryptography.hazmat.primitives import serialization

    leaf = _load_certs(cert, "certificate")[0]
    data = _read(key, "key")
    secret = password.encode() if password is not None else None
    try:
        private = serialization.load_pem_private_key(data, password=secret)
    except TypeError:
        if secret is None:
            raise TLSConfigError(
                f"key file {key}: the key is encrypted; give its password (XRSCHED_TLS_KEY_PASSWORD)"
            ) from None
        private = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        if secret is not None and b"ENCRYPTED" in data:
            raise TLSConfigError(f"key file {key}: wrong password for the key") from None
        raise TLSConfigError(f"key file {key}: not a PEM private key") from None
    except Exception as exc:  # unsupported algorithms and similar: still one line, still the file
        raise TLSConfigError(f"key file {key}: cannot load the key ({type(exc).__name__})") from None
    pub = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(*pub) != leaf.public_key().public_bytes(*pub):
        raise TLSConfigError(f"key file {key} does not match certificate file {cert}")


def _password_callback(password: str | None) -> Callable[[], bytes]:
    # A callable (never None) so OpenSSL can never fall back to prompting on a terminal.
    def callback() -> bytes:
        return (password or "").encode()

    return callback


def check_certificates_file(path: Path, what: str) -> None:
    """Raise :class:`TLSConfigError` naming ``path`` unless it holds PEM certificates (a CA file)."""
    _load_certs(path, what)


def server_context(
    cert: Path,
    key: Path,
    *,
    password: str | None = None,
    client_ca: Path | None = None,
    min_version: ssl.TLSVersion = MIN_TLS,
) -> ssl.SSLContext:
    """Build the server's context: TLS 1.2+ and, with ``client_ca``, optional verified client certs.

    Client certificates are ``CERT_OPTIONAL``: a client without one still connects and
    authenticates with a token; a client presenting one must chain to ``client_ca``.
    """
    if min_version != ssl.TLSVersion.MAXIMUM_SUPPORTED and min_version < MIN_TLS:
        raise TLSConfigError(f"minimum TLS version {min_version.name} is below TLSv1_2, which is refused")
    _check_pair(cert, key, password)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = min_version
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= ssl.OP_SINGLE_ECDH_USE | ssl.OP_NO_RENEGOTIATION
    try:
        ctx.load_cert_chain(str(cert), str(key), password=_password_callback(password))
    except (ssl.SSLError, OSError) as exc:
        raise TLSConfigError(f"certificate file {cert} / key file {key}: rejected by OpenSSL ({exc})") from None
    if client_ca is not None:
        _load_certs(client_ca, "client CA")
        try:
            ctx.load_verify_locations(cafile=str(client_ca))
        except (ssl.SSLError, OSError) as exc:
            raise TLSConfigError(f"client CA file {client_ca}: rejected by OpenSSL ({exc})") from None
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def client_context(
    ca: Path | None = None,
    *,
    verify: bool = True,
    cert: Path | None = None,
    key: Path | None = None,
    password: str | None = None,
) -> ssl.SSLContext:
    """Build a client context: TLS 1.2+, verifying against ``ca`` (system store when None).

    ``verify=False`` turns off certificate and hostname checks (for a quick test only).
    ``cert``/``key`` present a client certificate (``key`` may be None if it is in ``cert``).
    """
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca) if ca else None)
    except (ssl.SSLError, OSError) as exc:
        if ca is not None:
            # cryptography names the real problem (missing, unreadable, no certificate in it);
            # it is loaded only here, so a good CA file costs a worker no import of it.
            _load_certs(ca, "CA")
        raise TLSConfigError(f"CA file {ca}: rejected by OpenSSL ({exc})") from None
    ctx.minimum_version = MIN_TLS
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        _check_pair(cert, key if key is not None else cert, password)
        try:
            ctx.load_cert_chain(str(cert), str(key) if key else None, password=_password_callback(password))
        except (ssl.SSLError, OSError) as exc:
            raise TLSConfigError(f"client certificate file {cert}: rejected by OpenSSL ({exc})") from None
    elif key is not None:
        raise TLSConfigError(f"key file {key} given without a client certificate")
    return ctx


def _cn(name: x509.Name) -> str | None:
    from cryptography.x509.oid import NameOID

    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attrs:
        return None
    value = attrs[0].value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def certificate_info(cert: Path) -> CertificateInfo:
    """Read the first certificate of a PEM file: subject CN, validity (aware UTC), fingerprint, SANs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    leaf = _load_certs(cert, "certificate")[0]
    digest = leaf.fingerprint(hashes.SHA256()).hex().upper()
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        hostnames = tuple(str(v) for v in san.get_values_for_type(x509.DNSName)) + tuple(
            str(v) for v in san.get_values_for_type(x509.IPAddress)
        )
    except x509.ExtensionNotFound:
        hostnames = ()
    return CertificateInfo(
        path=Path(cert),
        subject_cn=_cn(leaf.subject),
        issuer_cn=_cn(leaf.issuer),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        fingerprint_sha256=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        hostnames=hostnames,
    )


def peer_common_name(sock: ssl.SSLSocket) -> str | None:
    """Subject CN of the verified client certificate on ``sock``, or None if none was presented."""
    peer = sock.getpeercert()
    if not peer:
        return None
    for rdn in peer.get("subject", ()):
        for attr, value in rdn:
            if attr == "commonName":
                return str(value)
    return None


def _self_signed_hostnames() -> tuple[str, ...]:
    names = ["localhost", "127.0.0.1", "::1"]
    host = socket.gethostname()
    if host and host.isascii() and host not in names:
        names.append(host)
    return tuple(names)


def ensure_self_signed(state_dir: Path) -> tuple[Path, Path, bool]:
    """Make ``state_dir/tls/server.pem`` and ``server.key`` unless a usable pair exists.

    Returns ``(cert, key, created)``. An existing pair is kept unless a file is missing, cannot
    be parsed, or the certificate has expired: these files are ours, so replacing them is safe.
    """
    tls_dir = Path(state_dir) / "tls"
    cert, key = tls_dir / "server.pem", tls_dir / "server.key"
    if cert.exists() and key.exists():
        try:
            _check_pair(cert, key, None)
            info = certificate_info(cert)
        except TLSConfigError:
            pass
        else:
            if info.not_after > _dt.datetime.now(_dt.UTC):
                return cert, key, False
    from xrsched import certgen

    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_pem, key_pem = certgen.make_self_signed(_self_signed_hostnames(), days=365)
    certgen.write_pair(tls_dir, "server", cert_pem, key_pem)
    return cert, key, True
