"""A key set read from a file: the size bound at its exact edge, and the messages."""

from __future__ import annotations

import os
import threading

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


def test_a_jwks_file_that_never_ends_is_refused_at_the_limit_not_read_to_its_end(tmp_path, document):
    """A named pipe whose writer stays open: only the limit's worth (plus one byte) is read."""
    path = tmp_path / "jwks.fifo"
    os.mkfifo(path)
    refused = threading.Event()
    closed_first: list[bool] = []

    def writer() -> None:
        with path.open("wb") as pipe:
            pipe.write(padded(document, MAX_JWKS_BYTES + 1))
            pipe.flush()
            closed_first.append(not refused.wait(5))  # hold the pipe open until the reader gave up

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    with pytest.raises(JwksError) as error:
        load_jwks(str(path))
    refused.set()
    thread.join(10)
    assert error.value.message == f"JWKS file {path}: larger than {MAX_JWKS_BYTES} bytes"
    assert closed_first == [False]
