"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from xrsched.certgen import DevCertificates, make_dev_certificates


@pytest.fixture(scope="session")
def dev_certs(tmp_path_factory: pytest.TempPathFactory) -> DevCertificates:
    """A dev CA with server (localhost, 127.0.0.1) and client certificates, made once per session.

    Fields: ``ca_cert``, ``ca_key``, ``server_cert``, ``server_key``, ``client_cert``,
    ``client_key`` (paths) and ``client_cn`` (the client certificate's subject CN).
    """
    return make_dev_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    """A short private directory under /tmp for socket files (pytest's ``tmp_path`` can pass
    the 107-byte ``sun_path`` limit)."""
    directory = Path(tempfile.mkdtemp(prefix="xrs-", dir="/tmp"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment for an xrsched subprocess: no ``XRSCHED_*`` variable of the machine's, and
    a HOME of its own, so default paths land in the test's directory."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("XRSCHED_")}
    environment["HOME"] = str(tmp_path / "home")
    return environment
