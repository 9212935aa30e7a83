"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import pytest

from xrsched.certgen import DevCertificates, make_dev_certificates


@pytest.fixture(scope="session")
def dev_certs(tmp_path_factory: pytest.TempPathFactory) -> DevCertificates:
    """A dev CA with server (localhost, 127.0.0.1) and client certificates, made once per session.

    Fields: ``ca_cert``, ``ca_key``, ``server_cert``, ``server_key``, ``client_cert``,
    ``client_key`` (paths) and ``client_cn`` (the client certificate's subject CN).
    """
    return make_dev_certificates(tmp_path_factory.mktemp("certs"))
