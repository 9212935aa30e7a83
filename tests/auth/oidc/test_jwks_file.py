"""A key set read from a file: the size bound at its exact edge, and the messages."""

from __future__ import annotations

import pytest

from tests.auth.oidc.idp import SigningKey, jwks_document
from xrsched.auth.oidc.jwks import MAX_JWKS_BYTES, JwksError, load_jwks


@pytest.fixture(scope="module")
def document() -> bytes:
    return jwks_document(SigningKey.rsa("k1"))


def padded(document: bytes, size: int) -> bytes:
    """The document behind leading blanks (still JSON), ``size`` bytes in all: cutting any byte
    off its end breaks it."""
    return b" " * (size - len(document)) + document


def test_a_key_set_of_exactly_the_limit_is_read_whole(tmp_path, document):
    path = tmp_path / "jwks.json"
    path.write_bytes(padded(document, MAX_JWKS_BYTES))
    assert list(load_jwks(str(path))) == ["k1"]


def test_one_byte_past_the_limit_is_refused_by_size(tmp_path, document):
    path = tmp_path / "jwks.json"
    path.write_bytes(padded(document, MAX_JWKS_BYTES + 1))
    with pytest.raises(JwksError) as refused:
        load_jwks(str(path))
    assert refused.value.message == f"JWKS file {path}: larger than {MAX_JWKS_BYTES} bytes"


def test_a_missing_file_is_named_with_the_reason_only(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(JwksError) as refused:
        load_jwks(str(path))
    assert refused.value.message == f"JWKS file {path}: No such file or directory"
