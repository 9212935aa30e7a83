"""The tokens file: add, list, revoke, initial admin, validation and the TOML writer."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.waiting import join_all
from xrsched.auth import tokenfile
from xrsched.auth.roles import Role
from xrsched.auth.tokenfile import (
    CertificateMapping,
    TokenFileError,
    TokenRecord,
    TokensFile,
    parse_expiry,
    parse_tokens,
    read_tokens,
    render_tokens,
)
from xrsched.auth.tokens import (
    add_token,
    create_initial_admin,
    hash_secret,
    list_tokens,
    map_certificate,
    revoke_token,
)

HASH = "sha256:" + "ab" * 32


def test_add_token_stores_only_the_hash(tmp_path):
    path = tmp_path / "state" / "tokens.toml"
    secret = add_token(path, "ci-worker", "worker", now=1_800_000_000)
    assert len(secret) >= 43
    text = path.read_text()
    assert secret not in text
    assert hash_secret(secret) in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    [record] = list_tokens(path)
    assert record.id == "ci-worker"
    assert record.role is Role.WORKER
    assert record.created == dt.datetime.fromtimestamp(1_800_000_000, dt.UTC)
    assert record.expires is None
    assert not record.expired(2_000_000_000)


def test_hash_is_plain_sha256():
    assert hash_secret("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_secrets_are_unique(tmp_path):
    path = tmp_path / "tokens.toml"
    secrets = {add_token(path, f"t{i}", Role.VIEWER) for i in range(5)}
    assert len(secrets) == 5
    assert [r.id for r in list_tokens(path)] == ["t0", "t1", "t2", "t3", "t4"]


def test_duplicate_id_is_refused(tmp_path):
    path = tmp_path / "tokens.toml"
    add_token(path, "a", "viewer")
    with pytest.raises(TokenFileError, match="'a' already exists") as info:
        add_token(path, "a", "admin")
    assert str(path) in info.value.message
    assert list_tokens(path)[0].role is Role.VIEWER


@pytest.mark.parametrize("bad_id", ["", "-x", "has space", "a:b", "x" * 65, "é"])
def test_bad_ids_are_refused(tmp_path, bad_id):
    with pytest.raises(TokenFileError, match="invalid token id"):
        add_token(tmp_path / "tokens.toml", bad_id, "viewer")


def test_unknown_role_is_refused(tmp_path):
    with pytest.raises(TokenFileError, match="unknown role 'boss'"):
        add_token(tmp_path / "tokens.toml", "a", "boss")


def test_expiry_date_means_midnight_utc(tmp_path):
    path = tmp_path / "tokens.toml"
    add_token(path, "d", "viewer", parse_expiry("2030-01-01"))
    add_token(path, "t", "viewer", parse_expiry("2030-01-01T12:00:00+02:00"))
    records = {r.id: r for r in list_tokens(path)}
    midnight = dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp()
    assert records["d"].expires == dt.date(2030, 1, 1)
    assert records["d"].expires_at == midnight
    assert not records["d"].expired(midnight - 1)
    assert records["d"].expired(midnight)
    assert records["t"].expires_at == midnight + 10 * 3600
    assert "expires = 2030-01-01T10:00:00Z" in path.read_text()


@pytest.mark.parametrize("text", ["tomorrow", "2030-13-01", "2030-01-01T25:00"])
def test_parse_expiry_rejects_garbage(text):
    with pytest.raises(ValueError, match="not a date"):
        parse_expiry(text)


def test_revoke(tmp_path):
    path = tmp_path / "tokens.toml"
    add_token(path, "a", "viewer")
    add_token(path, "b", "viewer")
    revoke_token(path, "a")
    assert [r.id for r in list_tokens(path)] == ["b"]
    with pytest.raises(TokenFileError, match="no token with id 'a'"):
        revoke_token(path, "a")


def test_list_of_missing_file_names_it(tmp_path):
    with pytest.raises(TokenFileError, match="no such tokens file") as info:
        list_tokens(tmp_path / "nope.toml")
    assert str(tmp_path / "nope.toml") in info.value.message


def test_create_initial_admin_only_once(tmp_path):
    path = tmp_path / "new" / "tokens.toml"
    secret = create_initial_admin(path)
    assert secret
    [record] = list_tokens(path)
    assert (record.id, record.role) == ("admin", Role.ADMIN)
    assert record.hash == hash_secret(secret)
    assert create_initial_admin(path) is None
    assert list_tokens(path) == [record]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_certificate_mappings_survive_token_changes(tmp_path):
    path = tmp_path / "tokens.toml"
    map_certificate(path, "build-host-7", "worker")
    map_certificate(path, 'odd "cn"\\', "viewer", identity="odd")
    add_token(path, "a", "viewer")
    revoke_token(path, "a")
    certs = read_tokens(path).certificates
    assert certs["build-host-7"] == CertificateMapping("build-host-7", "build-host-7", Role.WORKER)
    assert certs['odd "cn"\\'].identity == "odd"


def test_concurrent_adds_are_all_kept(tmp_path):
    path = tmp_path / "tokens.toml"
    threads = [threading.Thread(target=add_token, args=(path, f"w{i}", "worker"), daemon=True) for i in range(12)]
    for t in threads:
        t.start()
    join_all(threads, 60)
    assert len(list_tokens(path)) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.toml", "tokens.toml.lock"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tokens.a\n", "not valid TOML"),
        ('[tokens.a]\nrole = "boss"\nhash = "HASH"\n', "tokens.'a': unknown role 'boss'"),
        ('[tokens.a]\nrole = "viewer"\n', "'hash' is missing"),
        ('[tokens.a]\nrole = "viewer"\nhash = "md5:00"\n', "'hash' must be 'sha256:'"),
        ('[tokens.a]\nrole = "viewer"\nhash = "HASH"\nsecret = "x"\n', "unknown key(s) secret"),
        ('[tokens.a]\nrole = "viewer"\nhash = "HASH"\nexpires = "soon"\n', "not a date"),
        ('[tokens.a]\nrole = "viewer"\nhash = "HASH"\ncreated = 2020-01-01\n', "'created' must be"),
        ('[tokens."a b"]\nrole = "viewer"\nhash = "HASH"\n', "invalid token id"),
        ('[tokens.a]\nrole = "viewer"\nhash = "HASH"\n[tokens.a]\nrole = "admin"\n', "not valid TOML"),
        (
            '[tokens.a]\nrole = "viewer"\nhash = "HASH"\n[tokens.b]\nrole = "admin"\nhash = "HASH"\n',
            "tokens 'a' and 'b' have the same hash",
        ),
        ("tokens = 3\n", "'tokens' must be a table"),
        ("[users]\n", "unknown top-level key(s) users"),
        ('[certificates.x]\nrole = "god"\n', "certificates.'x': unknown role"),
        ('[certificates.x]\nidentity = ""\nrole = "viewer"\n', "'identity' must be a non-empty"),
    ],
)
def test_malformed_files_name_file_and_problem(tmp_path, text, message):
    path = tmp_path / "tokens.toml"
    path.write_text(text.replace('"HASH"', f'"{HASH}"'))
    with pytest.raises(TokenFileError) as info:
        read_tokens(path)
    assert info.value.message.startswith(f"{path}: ")
    assert message in info.value.message
    assert "\n" not in info.value.message


def test_hand_written_file_with_string_times(tmp_path):
    path = tmp_path / "tokens.toml"
    path.write_text(
        f'[tokens.a]\nrole = "Operator"\nhash = "{HASH}"\ncreated = "2025-01-01T00:00:00Z"\n'
        'expires = "2026-01-01"\n[certificates."host"]\nrole = "worker"\n'
    )
    data = read_tokens(path)
    assert data.tokens["a"].role is Role.OPERATOR
    assert data.tokens["a"].expires == dt.date(2026, 1, 1)
    assert data.certificates["host"].identity == "host"


def test_render_is_valid_toml_with_a_header():
    data = TokensFile(tokens={"a": TokenRecord("a", Role.ADMIN, HASH)})
    text = render_tokens(data)
    assert text.startswith("# xrsched tokens file")
    assert tomllib.loads(text) == {"tokens": {"a": {"role": "admin", "hash": HASH}}}


_aware = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2999, 1, 1), timezones=st.just(dt.UTC)
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.from_regex(tokenfile.TOKEN_ID_RE, fullmatch=True), unique=True, max_size=4),
    cns=st.lists(st.text(min_size=1, max_size=20), unique=True, max_size=4),
    expires=st.one_of(st.none(), st.dates(), _aware),
    created=st.one_of(st.none(), _aware),
    role=st.sampled_from(Role.grantable()),
)
def test_render_parse_round_trip(ids, cns, expires, created, role):
    data = TokensFile()
    for i, token_id in enumerate(ids):
        digest = "sha256:" + f"{i:064x}"
        data.tokens[token_id] = TokenRecord(token_id, role, digest, created, expires)
    for cn in cns:
        data.certificates[cn] = CertificateMapping(cn, cn + "!", role)
    assert parse_tokens(render_tokens(data), Path("x")) == data


def test_write_tokens_creates_missing_directories_the_last_one_private(tmp_path):
    path = tmp_path / "etc" / "xrsched" / "tokens.toml"
    old_umask = os.umask(0)
    try:
        tokenfile.write_tokens(path, tokenfile.TokensFile())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokenfile.read_tokens(path) == tokenfile.TokensFile()
