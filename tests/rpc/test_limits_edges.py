"""Edges of body decoding that mutation testing found unchecked (issue 18): exact limits, the
zlib-or-raw guess for deflate, trailing data, and the text each refusal carries."""

from __future__ import annotations

import gzip
import struct
import zlib

import pytest

from xrsched.rpc.limits import (
    BodyTooLarge,
    HttpSettings,
    MalformedBody,
    RequestLimits,
    UnsupportedEncoding,
    decode_body,
)

BODY = b"<?xml version='1.0'?><methodCall><methodName>ping</methodName></methodCall>"


def test_a_raw_body_exactly_at_the_limit_is_accepted():
    limits = RequestLimits(max_request_bytes=100, max_decompressed_bytes=100)
    assert decode_body(b"x" * 100, None, limits) == b"x" * 100
    with pytest.raises(BodyTooLarge) as info:
        decode_body(b"x" * 101, None, limits)
    assert info.value.message == "request body is over the 100 byte limit"


def test_the_smallest_limits_are_one():
    limits = RequestLimits(max_request_bytes=1, max_decompressed_bytes=1, max_depth=1, max_multicall=1)
    assert decode_body(b"x", None, limits) == b"x"
    with pytest.raises(ValueError, match="max_multicall must be a positive integer, got 0"):
        RequestLimits(max_multicall=0)


def test_two_stacked_codings_are_fine_and_three_are_refused():
    twice = gzip.compress(gzip.compress(BODY))
    assert decode_body(twice, "gzip, gzip") == BODY
    with pytest.raises(UnsupportedEncoding) as info:
        decode_body(gzip.compress(twice), "gzip, gzip, gzip")
    assert (info.value.http_status, info.value.message) == (415, "too many content codings")


def test_an_unknown_coding_names_the_ones_we_speak():
    with pytest.raises(UnsupportedEncoding) as info:
        decode_body(BODY, "br")
    assert info.value.message == "unsupported Content-Encoding; use gzip, deflate or identity"


def test_raw_deflate_whose_first_byte_only_resembles_a_zlib_header():
    # A stored (uncompressed) raw-deflate block whose ignored padding bits make the first byte
    # 0x08, the zlib method nibble; the zlib header checksum (first two bytes % 31) fails, so it
    # must be read as raw deflate, not refused as a corrupt zlib stream.
    stored = bytes([0x08]) + struct.pack("<HH", len(BODY), 0xFFFF ^ len(BODY)) + BODY
    final_empty_block = bytes([0x03, 0x00])
    assert ((stored[0] << 8) | stored[1]) % 31 != 0
    assert decode_body(stored + final_empty_block, "deflate") == BODY


def test_deflate_is_one_stream_trailing_data_is_refused():
    with pytest.raises(MalformedBody) as info:
        decode_body(zlib.compress(BODY) + zlib.compress(BODY), "deflate")
    assert info.value.message == "unexpected data after the compressed body"


def test_gzip_may_end_in_zero_padding_but_not_in_other_bytes():
    assert decode_body(gzip.compress(BODY) + b"\x00" * 16, "gzip") == BODY
    with pytest.raises(MalformedBody) as info:
        decode_body(gzip.compress(BODY) + b"XX", "gzip")
    assert info.value.message == "compressed body is corrupt"


@pytest.mark.parametrize("cut", [10, 20, -12])
def test_a_truncated_gzip_stream_says_so(cut):
    with pytest.raises(MalformedBody) as info:
        decode_body(gzip.compress(BODY)[:cut], "gzip")
    assert info.value.message == "compressed body is truncated"
    assert info.value.http_status == 400


@pytest.mark.parametrize("extra", [0, -1])
def test_a_truncated_stream_that_fills_the_cap_exactly_is_still_truncated_not_too_large(extra):
    # All input read, output at (or one byte under) the cap: the last flush may ask for one
    # byte at most, and the stream is reported as what it is.
    limits = RequestLimits(max_decompressed_bytes=1000)
    with pytest.raises(MalformedBody) as info:
        decode_body(gzip.compress(b"a" * (1000 + extra))[:-8], "gzip", limits)
    assert info.value.message == "compressed body is truncated"


def test_an_inflated_body_over_the_cap_says_which_cap():
    limits = RequestLimits(max_decompressed_bytes=1000)
    with pytest.raises(BodyTooLarge) as info:
        decode_body(gzip.compress(b"a" * 5000), "gzip", limits)
    assert info.value.message == "request body inflates past the 1000 byte limit"
    assert str(info.value) == info.value.message


def test_a_plain_body_over_the_decompressed_limit_says_which_limit():
    limits = RequestLimits(max_request_bytes=100, max_decompressed_bytes=50)
    with pytest.raises(BodyTooLarge) as info:
        decode_body(b"x" * 60, None, limits)
    assert info.value.message == "request body is over the 50 byte limit"


def test_http_settings_accept_the_smallest_valid_values():
    settings = HttpSettings(
        max_connections=1,
        overflow_connections=0,
        admission_wait=0.001,
        handshake_timeout=0.001,
        read_timeout=0.001,
        idle_timeout=0.001,
        write_timeout=0.001,
        max_request_bytes=1,
        max_decompressed_bytes=1,
        backlog=1,
        server_name="X-Scheduler",
    )
    assert settings.listen_backlog == 1
    assert HttpSettings(max_connections=600).listen_backlog == 1200


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"max_connections": 0}, "max_connections must be >= 1"),
        ({"overflow_connections": -1}, "overflow_connections must be >= 0"),
        ({"read_timeout": 0}, "read_timeout must be > 0 seconds"),
        ({"admission_wait": float("nan")}, "admission_wait must be > 0 seconds"),
        ({"max_request_bytes": 0}, "max_request_bytes and max_decompressed_bytes must be >= 1"),
        ({"max_decompressed_bytes": 0}, "max_request_bytes and max_decompressed_bytes must be >= 1"),
        ({"backlog": 0}, "backlog must be >= 1"),
        ({"server_name": "x\r\nSet-Cookie: a=b"}, "server_name must be a single line"),
    ],
)
def test_http_settings_refuse_values_past_the_limits_with_a_clear_message(changes, message):
    with pytest.raises(ValueError) as info:
        HttpSettings(**changes)
    assert str(info.value) == message
