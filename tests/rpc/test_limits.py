"""Body decoding: content codings, size caps, gzip bombs."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

import pytest

from xrsched.rpc.limits import (
    MIB,
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


def _zeros_bomb(mib: int) -> bytes:
    """``mib`` MiB of zeros, gzip-compressed to about 1/1000 of that."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    return b"".join(compressor.compress(chunk) for _ in range(mib)) + compressor.flush()


def _peak_bytes_allocated_while(call) -> int:
    """Run ``call`` and return the peak of Python-level memory it allocated (bytes objects too)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


def _refuse(bomb: bytes, limits: RequestLimits) -> None:
    with pytest.raises(BodyTooLarge) as info:
        decode_body(bomb, "gzip", limits)
    assert info.value.http_status == 413


@pytest.mark.parametrize("cap_mib, bomb_mib", [(1, 64), (10, 256)])
def test_gzip_bomb_inflates_at_most_the_cap_before_its_413(cap_mib, bomb_mib):
    # The refusal alone proves nothing: a decoder that inflates the whole bomb and then
    # compares sizes also answers 413. What must hold is that the inflated output (kept in
    # memory) stays near the cap, so we bound the memory the decode allocated.
    bomb = _zeros_bomb(bomb_mib)
    assert len(bomb) < bomb_mib * MIB // 100
    limits = RequestLimits(max_decompressed_bytes=cap_mib * MIB)
    started = time.perf_counter()
    peak = _peak_bytes_allocated_while(lambda: _refuse(bomb, limits))
    assert time.perf_counter() - started < 10  # catches blow-ups, not speed (shared machines)
    # Measured: 1.7 MiB for a 1 MiB cap, 12.3 MiB for 10 MiB; inflating the whole bomb: 128 and 512 MiB.
    assert peak < (2 * cap_mib + 1) * MIB, f"inflated {peak / MIB:.1f} MiB for a {cap_mib} MiB cap"


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
