"""Edges of the tokens file and credentials that mutation testing found unchecked (issue 18)."""

from __future__ import annotations

import base64
import datetime as dt
import os
import time

import pytest

from xrsched.auth import Role, TokenFileError, TokenStore, add_token, map_certificate, parse_expiry
from xrsched.auth.tokenfile import as_utc, read_tokens
from xrsched.auth.tokens import create_initial_admin, list_tokens

NOW = 1_800_000_000.0


def test_principals_are_the_unexpired_tokens_and_certificates_of_one_role(tmp_path):
    path = tmp_path / "tokens.toml"
    add_token(path, "team-a", "worker")
    add_token(path, "lapsed", "worker", dt.datetime.fromtimestamp(NOW - 1, dt.UTC))
    add_token(path, "later", "worker", dt.datetime.fromtimestamp(NOW + 3600, dt.UTC))
    add_token(path, "dash", "viewer")
    add_token(path, "ops", "operator")
    map_certificate(path, "build-7", "worker", identity="builder")
    map_certificate(path, "ci-host", "operator", identity="ci")
    store = TokenStore.load(path)
    assert store.principals(Role.WORKER, NOW) == {"token:team-a", "token:later", "certificate:builder"}
    assert store.principals(Role.OPERATOR, NOW) == {"token:ops", "certificate:ci"}
    assert store.principals(Role.WORKER, NOW + 7200) == {"token:team-a", "certificate:builder"}


@pytest.mark.parametrize(
    "junk",
    ["!!", " ", "*", "-_"],  # characters outside the base64 alphabet: a lenient decoder drops them
)
def test_basic_credentials_with_characters_outside_base64_are_refused(tmp_path, junk):
    path = tmp_path / "tokens.toml"
    secret = add_token(path, "w1", "worker")
    store = TokenStore.load(path)
    encoded = base64.b64encode(f"w1:{secret}".encode()).decode()
    assert store.authenticate(f"Basic {encoded}", None, NOW) is not None
    result = store.check(f"Basic {encoded[:4]}{junk}{encoded[4:]}", None, NOW)
    assert (result.identity, result.reason) == (None, "malformed authorization")


def test_an_rfc3339_expiry_with_a_lower_case_z_is_utc():
    assert parse_expiry("2030-01-02T03:04:05z") == dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert parse_expiry("2030-01-02T03:04:05Z") == dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.fixture
def far_from_utc():
    """Run with the process time zone 9 hours ahead of UTC, so 'naive means UTC' is visible."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_dates_and_naive_times_are_utc_whatever_the_local_zone(far_from_utc):
    utc_midnight = dt.datetime(2030, 1, 2, tzinfo=dt.UTC)
    assert as_utc(dt.date(2030, 1, 2)) == utc_midnight
    assert as_utc(dt.date(2030, 1, 2)).tzinfo is dt.UTC
    assert as_utc(dt.datetime(2030, 1, 2)).timestamp() == utc_midnight.timestamp()
    tokyo = dt.timezone(dt.timedelta(hours=9))
    converted = as_utc(dt.datetime(2030, 1, 2, 9, tzinfo=tokyo))
    assert converted == utc_midnight and converted.tzinfo is dt.UTC


def test_a_hand_written_naive_expiry_is_utc_whatever_the_local_zone(tmp_path, far_from_utc):
    path = tmp_path / "tokens.toml"
    add_token(path, "w1", "worker")
    text = path.read_text().replace('role = "worker"', 'role = "worker"\nexpires = 2030-01-02T00:00:00', 1)
    path.write_text(text)
    record = read_tokens(path).tokens["w1"]
    assert record.expires_at == dt.datetime(2030, 1, 2, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize("cn", ["line\nbreak", "tab\there", "del\x7fete", "bell\x07", 'quote"back\\slash'])
def test_certificate_names_with_control_characters_round_trip(tmp_path, cn):
    path = tmp_path / "tokens.toml"
    map_certificate(path, cn, "viewer", identity=f"id {cn}")
    mapping = read_tokens(path).certificates[cn]
    assert (mapping.cn, mapping.identity, mapping.role) == (cn, f"id {cn}", Role.VIEWER)


def test_unknown_keys_in_a_certificate_mapping_are_named(tmp_path):
    path = tmp_path / "tokens.toml"
    path.write_text('[certificates."build-7"]\nrole = "worker"\nadmin = true\nzone = 1\n')
    with pytest.raises(TokenFileError) as info:
        read_tokens(path)
    assert info.value.message == f"{path}: certificates.'build-7': unknown key(s) admin, zone"


def test_a_certificate_mapping_needs_a_role(tmp_path):
    path = tmp_path / "tokens.toml"
    path.write_text('[certificates."build-7"]\nidentity = "builder"\n')
    with pytest.raises(TokenFileError, match="'role' is missing or not a string"):
        read_tokens(path)


def test_mapping_an_empty_common_name_or_a_bad_role_says_why(tmp_path):
    path = tmp_path / "tokens.toml"
    with pytest.raises(TokenFileError, match="common name must not be empty"):
        map_certificate(path, "", "viewer")
    with pytest.raises(TokenFileError, match="unknown role 'root'"):
        map_certificate(path, "host", "root")


def test_the_initial_admin_records_when_it_was_created(tmp_path, far_from_utc):
    path = tmp_path / "tokens.toml"
    assert create_initial_admin(path, now=NOW) is not None
    (admin,) = list_tokens(path)
    assert admin.created == dt.datetime.fromtimestamp(NOW, dt.UTC)


def test_unreadable_tokens_files_say_why(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[tokens]\n")
    with pytest.raises(TokenFileError) as info:
        read_tokens(binary)
    assert info.value.message == f"{binary}: not UTF-8 text"
    with pytest.raises(TokenFileError) as info:
        read_tokens(tmp_path)  # a directory
    assert info.value.message.startswith(f"{tmp_path}: cannot read the tokens file (")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tokens]\nx = 3\n", "tokens.'x': must be a table"),
        ("[certificates]\nx = 3\n", "certificates.'x': must be a table"),
        (
            '[tokens.x]\nrole = "viewer"\nhash = "HASH"\nexpires = 5\n',
            "tokens.'x': 'expires' must be a date-time or a date",
        ),
        (
            '[tokens.x]\nrole = "viewer"\nhash = "HASH"\ncreated = 2025-01-01\n',
            "tokens.'x': 'created' must be a date-time",
        ),
        (
            '[tokens.x]\nrole = "viewer"\nhash = "sha256:00"\n',
            "tokens.'x': 'hash' must be 'sha256:' followed by 64 lower-case hex digits",
        ),
        (
            '[certificates.x]\nidentity = ""\nrole = "viewer"\n',
            "certificates.'x': 'identity' must be a non-empty string",
        ),
        ("[users]\n[groups]\n", "unknown top-level key(s) groups, users"),
    ],
)
def test_malformed_entries_get_exact_messages(tmp_path, text, message):
    path = tmp_path / "tokens.toml"
    path.write_text(text.replace("HASH", "sha256:" + "0" * 64))
    with pytest.raises(TokenFileError) as info:
        read_tokens(path)
    assert info.value.message == f"{path}: {message}"


def test_a_successful_check_says_ok(tmp_path):
    path = tmp_path / "tokens.toml"
    secret = add_token(path, "w1", "worker")
    map_certificate(path, "build-7", "worker", identity="builder")
    store = TokenStore.load(path)
    assert store.check(f"Bearer {secret}", None, NOW).reason == "ok"
    assert store.check(None, "build-7", NOW).reason == "ok"


def test_secrets_carry_at_least_256_random_bits_in_url_safe_characters(tmp_path):
    from xrsched.auth import new_secret

    secret = new_secret()
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) >= 32
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
