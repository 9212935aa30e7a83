"""Body decoding: content codings, size caps, gzip bombs."""

from __future__ import annotations

import gzip
import time
import zlib

import pytest

from xrsched.rpc.limits import (
    BodyTooLarge,
    MalformedBody,
    RequestLimits,
    UnsupportedEncoding,
    decode_body,
)

BODY = b"<?xml version='1.0'?><methodCall><methodName>ping</methodName></methodCall>"


@pytest.mark.parametrize("encoding", [None, "", "identity", "IDENTITY "])
def test_identity_passes_through(encoding):
    assert decode_body(BODY, encoding) == BODY


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "GZip"])
def test_gzip(encoding):
    assert decode_body(gzip.compress(BODY), encoding) == BODY


def test_gzip_multiple_members():
    assert decode_body(gzip.compress(BODY[:10]) + gzip.compress(BODY[10:]), "gzip") == BODY


def test_deflate_zlib_wrapped_and_raw():
    raw = zlib.compressobj(wbits=-15)
    raw_body = raw.compress(BODY) + raw.flush()
    assert decode_body(zlib.compress(BODY), "deflate") == BODY
    assert decode_body(raw_body, "deflate") == BODY


def test_stacked_codings():
    assert decode_body(gzip.compress(zlib.compress(BODY)), "deflate, gzip") == BODY


@pytest.mark.parametrize("encoding", ["br", "compress", "zstd", "gzip, br, gzip"])
def test_unknown_encoding_is_415(encoding):
    with pytest.raises(UnsupportedEncoding) as info:
        decode_body(BODY, encoding)
    assert info.value.http_status == 415


def test_raw_body_over_limit_is_413():
    with pytest.raises(BodyTooLarge) as info:
        decode_body(b"x" * 101, None, RequestLimits(max_request_bytes=100))
    assert info.value.http_status == 413


def test_gzip_bomb_refused_without_inflating_it_all():
    # 256 MiB of zeros compresses to ~250 KiB; we must stop just past the 10 MiB cap.
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(256)) + compressor.flush()
    assert len(bomb) < 2 * 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(BodyTooLarge) as info:
        decode_body(bomb, "gzip")
    assert info.value.http_status == 413
    assert time.perf_counter() - started < 10  # catches blow-ups, not speed (shared machines)


def test_inflated_exactly_at_cap_is_fine():
    limits = RequestLimits(max_decompressed_bytes=1000)
    assert decode_body(gzip.compress(b"a" * 1000), "gzip", limits) == b"a" * 1000
    with pytest.raises(BodyTooLarge):
        decode_body(gzip.compress(b"a" * 1001), "gzip", limits)


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", gzip.compress(BODY)[:-12], gzip.compress(BODY) + b"trailing junk"],
)
def test_corrupt_or_truncated_is_400(body):
    with pytest.raises(MalformedBody) as info:
        decode_body(body, "gzip")
    assert info.value.http_status == 400


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_depth"):
        RequestLimits(max_depth=0)
    assert RequestLimits().max_request_bytes == 10 * 1024 * 1024
