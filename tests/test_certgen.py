"""Certificates made by xrsched.certgen have the shape TLS stacks expect."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from xrsched import certgen


@pytest.fixture(scope="module")
def ca() -> tuple[bytes, bytes]:
    return certgen.make_ca("test CA")


def _load(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _cn(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_ca_may_sign_and_is_self_signed(ca):
    cert = _load(ca[0])
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is True
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert cert.subject == cert.issuer
    assert _cn(cert) == "test CA"
    cert.verify_directly_issued_by(cert)
    key = serialization.load_pem_private_key(ca[1], password=None)
    assert key.public_key() == cert.public_key()


def test_server_cert_has_dns_and_ip_sans_and_chains_to_ca(ca):
    pem, _key = certgen.make_server_cert(ca[0], ca[1], ("localhost", "127.0.0.1", "::1", "db.example"))
    cert = _load(pem)
    cert.verify_directly_issued_by(_load(ca[0]))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "db.example"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_server_cert_days_sets_validity(ca):
    cert = _load(certgen.make_server_cert(ca[0], ca[1], days=10)[0])
    left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=9, hours=23) < left <= dt.timedelta(days=10)
    assert cert.not_valid_before_utc < dt.datetime.now(dt.UTC)


def test_negative_days_makes_an_expired_certificate(ca):
    cert = _load(certgen.make_server_cert(ca[0], ca[1], days=-1)[0])
    assert cert.not_valid_after_utc < dt.datetime.now(dt.UTC)
    assert cert.not_valid_before_utc < cert.not_valid_after_utc


def test_client_cert_carries_common_name_and_client_usage(ca):
    pem, key_pem = certgen.make_client_cert(ca[0], ca[1], "build-host-7")
    cert = _load(pem)
    assert _cn(cert) == "build-host-7"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    cert.verify_directly_issued_by(_load(ca[0]))
    assert serialization.load_pem_private_key(key_pem, None).public_key() == cert.public_key()


def test_self_signed_is_its_own_issuer():
    pem, _ = certgen.make_self_signed(("localhost", "10.1.2.3"), days=30)
    cert = _load(pem)
    cert.verify_directly_issued_by(cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.1.2.3")]


def test_self_signed_needs_a_hostname():
    with pytest.raises(ValueError, match="hostname"):
        certgen.make_self_signed((), days=1)


def test_encrypt_key_needs_the_password(ca):
    encrypted = certgen.encrypt_key(ca[1], "s3cret")
    assert b"ENCRYPTED" in encrypted
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(encrypted, password=None)
    assert serialization.load_pem_private_key(encrypted, password=b"s3cret")


def test_write_pair_modes_and_overwrite(tmp_path, ca):
    cert_path, key_path = certgen.write_pair(tmp_path / "sub", "ca", ca[0], ca[1])
    assert cert_path == tmp_path / "sub" / "ca.pem"
    assert key_path == tmp_path / "sub" / "ca.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert_path.stat().st_mode) == 0o644
    assert cert_path.read_bytes() == ca[0]
    certgen.write_pair(tmp_path / "sub", "ca", b"new cert", b"new key")
    assert key_path.read_bytes() == b"new key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["ca.key", "ca.pem"]


def test_dev_certificates_fixture_shape(dev_certs):
    for name in ("ca_cert", "ca_key", "server_cert", "server_key", "client_cert", "client_key"):
        assert getattr(dev_certs, name).is_file()
    ca_cert = _load(dev_certs.ca_cert.read_bytes())
    for name in ("server_cert", "client_cert"):
        _load(getattr(dev_certs, name).read_bytes()).verify_directly_issued_by(ca_cert)
    assert _cn(_load(dev_certs.client_cert.read_bytes())) == dev_certs.client_cn
    assert stat.S_IMODE(dev_certs.server_key.stat().st_mode) == 0o600
