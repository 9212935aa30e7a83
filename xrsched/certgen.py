"""Certificate making for development, tests and the server's self-signed fallback.

Everything here returns PEM bytes and touches no file except :func:`write_pair` and
:func:`make_dev_certificates`. Keys are EC P-256: small, fast to generate, and accepted by
every TLS 1.2+ client we care about. These helpers are not a CA product: production
deployments should use certificates from a real CA (see ``certs/README.rst``).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from xrsched.atomicfile import write_atomic

DEFAULT_HOSTNAMES: tuple[str, ...] = ("localhost", "127.0.0.1")
CA_DAYS = 3650
LEAF_DAYS = 825  # the longest lifetime browsers and most TLS stacks still accept for a leaf
DEV_CLIENT_CN = "xrsched-dev-client"

# Backdate "not before" so a peer whose clock lags a little still accepts a fresh cert.
_CLOCK_SKEW = _dt.timedelta(hours=1)


@dataclass(frozen=True)
class DevCertificates:
    """Paths of a development CA and the server and client certificates it signed."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_cn: str = DEV_CLIENT_CN


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xrsched"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(days: float) -> tuple[_dt.datetime, _dt.datetime]:
    """Return (not_before, not_after); ``days <= 0`` yields an already expired certificate."""
    now = _dt.datetime.now(_dt.UTC)
    not_after = now + _dt.timedelta(days=days)
    not_before = min(now - _CLOCK_SKEW, not_after - _dt.timedelta(days=1))
    return not_before, not_after


def _san(hostnames: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    if not names:
        raise ValueError("at least one hostname is required")
    return x509.SubjectAlternativeName(names)


def _load_ca(ca_cert_pem: bytes, ca_key_pem: bytes) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(ca_cert_pem)
    key = serialization.load_pem_private_key(ca_key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an EC key made by make_ca")
    return cert, key


def make_ca(common_name: str, *, days: float = CA_DAYS) -> tuple[bytes, bytes]:
    """Make a self-signed CA that may sign leaf certificates; return (cert_pem, key_pem)."""
    key = _new_key()
    not_before, not_after = _validity(days)
    name = _name(common_name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _leaf(
    *,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    usage: x509.ObjectIdentifier,
    hostnames: Iterable[str] | None,
    days: float,
) -> bytes:
    not_before, not_after = _validity(days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if hostnames is not None:
        builder = builder.add_extension(_san(hostnames), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)


def make_server_cert(
    ca_cert_pem: bytes,
    ca_key_pem: bytes,
    hostnames: Iterable[str] = DEFAULT_HOSTNAMES,
    *,
    days: float = LEAF_DAYS,
) -> tuple[bytes, bytes]:
    """Make a server certificate signed by the CA, valid for ``hostnames`` (IP SANs for IPs)."""
    hostnames = tuple(hostnames)
    ca_cert, ca_key = _load_ca(ca_cert_pem, ca_key_pem)
    key = _new_key()
    cert = _leaf(
        subject=_name(hostnames[0] if hostnames else "xrsched"),
        key=key,
        issuer=ca_cert.subject,
        issuer_key=ca_key,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        hostnames=hostnames,
        days=days,
    )
    return cert, _key_pem(key)


def make_client_cert(
    ca_cert_pem: bytes, ca_key_pem: bytes, common_name: str, *, days: float = LEAF_DAYS
) -> tuple[bytes, bytes]:
    """Make a client certificate whose subject CN is ``common_name`` (the identity the server maps)."""
    ca_cert, ca_key = _load_ca(ca_cert_pem, ca_key_pem)
    key = _new_key()
    cert = _leaf(
        subject=_name(common_name),
        key=key,
        issuer=ca_cert.subject,
        issuer_key=ca_key,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        hostnames=None,
        days=days,
    )
    return cert, _key_pem(key)


def make_self_signed(hostnames: Iterable[str] = DEFAULT_HOSTNAMES, days: float = LEAF_DAYS) -> tuple[bytes, bytes]:
    """Make a self-signed server certificate; clients trust it by pinning the cert file as their CA."""
    hostnames = tuple(hostnames)
    key = _new_key()
    name = _name(hostnames[0] if hostnames else "xrsched")
    cert = _leaf(
        subject=name,
        key=key,
        issuer=name,
        issuer_key=key,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        hostnames=hostnames,
        days=days,
    )
    return cert, _key_pem(key)


def encrypt_key(key_pem: bytes, password: str) -> bytes:
    """Return ``key_pem`` re-encrypted with ``password`` (for testing ``--tls-key`` passwords)."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode()),
    )


def write_pair(directory: Path, name: str, cert_pem: bytes, key_pem: bytes) -> tuple[Path, Path]:
    """Write ``<name>.pem`` (mode 0644) and ``<name>.key`` (mode 0600); return their paths.

    Each file is replaced atomically, so a server reloading on SIGHUP never reads half a file,
    and the key is never readable by others, not even for a moment.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / f"{name}.pem"
    key_path = directory / f"{name}.key"
    write_atomic(key_path, key_pem, permissions=0o600)
    write_atomic(cert_path, cert_pem, permissions=0o644)
    return cert_path, key_path


def make_dev_certificates(
    directory: Path,
    hostnames: Iterable[str] = DEFAULT_HOSTNAMES,
    *,
    client_cn: str = DEV_CLIENT_CN,
) -> DevCertificates:
    """Make a dev CA plus a server and a client certificate in ``directory`` (files overwritten)."""
    directory = Path(directory)
    ca_cert, ca_key = make_ca("xrsched development CA")
    server_cert, server_key = make_server_cert(ca_cert, ca_key, hostnames)
    client_cert, client_key = make_client_cert(ca_cert, ca_key, client_cn)
    ca_paths = write_pair(directory, "ca", ca_cert, ca_key)
    server_paths = write_pair(directory, "server", server_cert, server_key)
    client_paths = write_pair(directory, "client", client_cert, client_key)
    return DevCertificates(
        directory=directory,
        ca_cert=ca_paths[0],
        ca_key=ca_paths[1],
        server_cert=server_paths[0],
        server_key=server_paths[1],
        client_cert=client_paths[0],
        client_key=client_paths[1],
        client_cn=client_cn,
    )
