"""Real TLS handshakes over 127.0.0.1 with contexts from xrsched.tls."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest

from xrsched import certgen, tls
from xrsched.tls import TLSConfigError


@dataclass
class ServerSide:
    error: BaseException | None = None
    peer_cn: str | None = None
    version: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


def handshake(server_ctx, client_ctx, server_hostname="localhost"):
    """Connect once; return (server side outcome, client TLS version or the client's exception)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    side = ServerSide()

    def serve():
        try:
            conn, _ = listener.accept()
            conn.settimeout(5)
            with server_ctx.wrap_socket(conn, server_side=True) as tconn:
                side.peer_cn = tls.peer_common_name(tconn)
                side.version = tconn.version()
                tconn.sendall(b"hello")
                tconn.recv(1)
        except (OSError, ssl.SSLError) as exc:
            side.error = exc
        finally:
            side.done.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_outcome: object
    try:
        raw = socket.create_connection(listener.getsockname(), timeout=5)
        with client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tconn:
            data = tconn.recv(5)
            if data != b"hello":
                raise ConnectionError(f"no greeting: {data!r}")
            client_outcome = tconn.version()
            tconn.sendall(b"x")
    except (OSError, ssl.SSLError) as exc:
        client_outcome = exc
    side.done.wait(5)
    thread.join(5)
    listener.close()
    return side, client_outcome


def test_verified_handshake_by_name_and_ip(dev_certs):
    server = tls.server_context(dev_certs.server_cert, dev_certs.server_key)
    client = tls.client_context(dev_certs.ca_cert)
    for host in ("localhost", "127.0.0.1"):
        side, outcome = handshake(server, client, host)
        assert side.error is None
        assert outcome in ("TLSv1.2", "TLSv1.3")
        assert side.peer_cn is None


def test_client_refuses_wrong_ca(dev_certs, tmp_path):
    other = certgen.make_dev_certificates(tmp_path)
    server = tls.server_context(dev_certs.server_cert, dev_certs.server_key)
    _side, outcome = handshake(server, tls.client_context(other.ca_cert))
    assert isinstance(outcome, ssl.SSLCertVerificationError)


def test_client_refuses_wrong_hostname(dev_certs):
    server = tls.server_context(dev_certs.server_cert, dev_certs.server_key)
    _side, outcome = handshake(server, tls.client_context(dev_certs.ca_cert), "scheduler.example.org")
    assert isinstance(outcome, ssl.SSLCertVerificationError)


def test_verify_false_accepts_unknown_certificate(dev_certs):
    server = tls.server_context(dev_certs.server_cert, dev_certs.server_key)
    side, outcome = handshake(server, tls.client_context(verify=False), "anything")
    assert side.error is None
    assert outcome in ("TLSv1.2", "TLSv1.3")


def test_client_context_defaults():
    ctx = tls.client_context()
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] >= 0  # system store loaded (may be empty in a container)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_1_1_client_is_refused(dev_certs):
    server = tls.server_context(dev_certs.server_cert, dev_certs.server_key)
    assert server.minimum_version == ssl.TLSVersion.TLSv1_2
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    side, outcome = handshake(server, old)
    assert isinstance(outcome, ssl.SSLError | OSError)
    # The server itself refuses the protocol (the old client really offered TLS 1.0/1.1).
    assert isinstance(side.error, ssl.SSLError)
    assert side.version is None


def test_tls_1_2_client_still_works(dev_certs):
    server = tls.server_context(dev_certs.server_cert, dev_certs.server_key)
    client = tls.client_context(dev_certs.ca_cert)
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    side, outcome = handshake(server, client)
    assert (side.error, outcome) == (None, "TLSv1.2")


def test_client_certificate_is_verified_and_read(dev_certs):
    server = tls.server_context(dev_certs.server_cert, dev_certs.server_key, client_ca=dev_certs.ca_cert)
    assert server.verify_mode == ssl.CERT_OPTIONAL
    client = tls.client_context(dev_certs.ca_cert, cert=dev_certs.client_cert, key=dev_certs.client_key)
    side, outcome = handshake(server, client)
    assert side.error is None, side.error
    assert outcome in ("TLSv1.2", "TLSv1.3")
    assert side.peer_cn == dev_certs.client_cn


def test_client_certificate_is_optional(dev_certs):
    server = tls.server_context(dev_certs.server_cert, dev_certs.server_key, client_ca=dev_certs.ca_cert)
    side, outcome = handshake(server, tls.client_context(dev_certs.ca_cert))
    assert side.error is None
    assert side.peer_cn is None
    assert outcome in ("TLSv1.2", "TLSv1.3")


def test_client_certificate_from_another_ca_is_refused(dev_certs, tmp_path):
    other = certgen.make_dev_certificates(tmp_path)
    server = tls.server_context(dev_certs.server_cert, dev_certs.server_key, client_ca=dev_certs.ca_cert)
    client = tls.client_context(dev_certs.ca_cert, cert=other.client_cert, key=other.client_key)
    side, _outcome = handshake(server, client)
    assert isinstance(side.error, ssl.SSLError)
    assert side.peer_cn is None


def test_encrypted_key_with_password(tmp_path, dev_certs):
    cert_pem = dev_certs.server_cert.read_bytes()
    key_pem = certgen.encrypt_key(dev_certs.server_key.read_bytes(), "pa55")
    cert, key = certgen.write_pair(tmp_path, "enc", cert_pem, key_pem)
    with pytest.raises(TLSConfigError, match=r"encrypted; give its password") as info:
        tls.server_context(cert, key)
    assert str(key) in info.value.message
    with pytest.raises(TLSConfigError, match="wrong password"):
        tls.server_context(cert, key, password="nope")
    server = tls.server_context(cert, key, password="pa55")
    side, outcome = handshake(server, tls.client_context(dev_certs.ca_cert))
    assert side.error is None
    assert outcome in ("TLSv1.2", "TLSv1.3")


def test_config_errors_name_the_file(tmp_path, dev_certs):
    missing = tmp_path / "missing.pem"
    with pytest.raises(TLSConfigError, match="no such file") as info:
        tls.server_context(missing, dev_certs.server_key)
    assert str(missing) in info.value.message
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(TLSConfigError, match="no PEM certificate") as info:
        tls.server_context(garbage, dev_certs.server_key)
    assert str(garbage) in info.value.message
    with pytest.raises(TLSConfigError, match="not a PEM private key"):
        tls.server_context(dev_certs.server_cert, garbage)
    with pytest.raises(TLSConfigError, match="does not match") as info:
        tls.server_context(dev_certs.server_cert, dev_certs.client_key)
    assert str(dev_certs.client_key) in info.value.message
    assert str(dev_certs.server_cert) in info.value.message
    with pytest.raises(TLSConfigError, match="is a directory"):
        tls.server_context(tmp_path, dev_certs.server_key)
    with pytest.raises(TLSConfigError, match="client CA file"):
        tls.server_context(dev_certs.server_cert, dev_certs.server_key, client_ca=missing)
    with pytest.raises(TLSConfigError, match=r"CA file .*no PEM certificate") as info:
        tls.client_context(garbage)
    assert str(garbage) in info.value.message
    with pytest.raises(TLSConfigError, match="no such file") as info:
        tls.client_context(missing)
    assert str(missing) in info.value.message
    with pytest.raises(TLSConfigError, match="without a client certificate"):
        tls.client_context(dev_certs.ca_cert, key=dev_certs.client_key)
    assert "Traceback" not in info.value.message


def test_minimum_version_below_1_2_is_refused(dev_certs):
    with pytest.raises(TLSConfigError, match="TLSv1_1"):
        tls.server_context(dev_certs.server_cert, dev_certs.server_key, min_version=ssl.TLSVersion.TLSv1_1)
    ctx = tls.server_context(dev_certs.server_cert, dev_certs.server_key, min_version=ssl.TLSVersion.TLSv1_3)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_3


def test_certificate_info(dev_certs):
    info = tls.certificate_info(dev_certs.server_cert)
    assert info.subject_cn == "localhost"
    assert info.issuer_cn == "xrsched development CA"
    assert info.not_after.tzinfo is not None
    assert info.not_after.utcoffset() == dt.timedelta(0)
    assert info.not_before < dt.datetime.now(dt.UTC) < info.not_after
    der = ssl.PEM_cert_to_DER_cert(dev_certs.server_cert.read_text())
    assert info.fingerprint_sha256 == ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    assert set(info.hostnames) == {"localhost", "127.0.0.1"}
    assert 0 < info.seconds_left(time.time()) <= certgen.LEAF_DAYS * 86400


def test_ensure_self_signed_creates_once_and_is_usable(tmp_path):
    cert, key, created = tls.ensure_self_signed(tmp_path)
    assert created
    assert (cert, key) == (tmp_path / "tls" / "server.pem", tmp_path / "tls" / "server.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = cert.read_bytes()
    assert tls.ensure_self_signed(tmp_path) == (cert, key, False)
    assert cert.read_bytes() == before
    side, outcome = handshake(tls.server_context(cert, key), tls.client_context(cert), "127.0.0.1")
    assert side.error is None
    assert outcome in ("TLSv1.2", "TLSv1.3")


def test_ensure_self_signed_replaces_expired_or_broken_pair(tmp_path):
    tls_dir = tmp_path / "tls"
    certgen.write_pair(tls_dir, "server", *certgen.make_self_signed(days=-1))
    assert tls.ensure_self_signed(tmp_path)[2] is True
    assert tls.certificate_info(tls_dir / "server.pem").not_after > dt.datetime.now(dt.UTC)
    (tls_dir / "server.key").write_bytes(certgen.make_self_signed()[1])  # key no longer matches
    assert tls.ensure_self_signed(tmp_path)[2] is True
    (tls_dir / "server.key").unlink()
    assert tls.ensure_self_signed(tmp_path)[2] is True
    tls.server_context(tls_dir / "server.pem", tls_dir / "server.key")


def test_a_good_ca_file_does_not_load_cryptography(dev_certs):
    """Workers build a client context at start-up; cryptography (tens of ms to import) is only
    needed to explain a CA file that OpenSSL refused."""
    code = (
        "import sys; from xrsched.tls import client_context; "
        f"client_context({str(dev_certs.ca_cert)!r}); print('cryptography' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False", result.stderr
