"""TokenStore: Bearer and Basic credentials, client-certificate identities, expiry, reload."""

from __future__ import annotations

import base64
import datetime as dt
import logging

import pytest

from xrsched.auth import (
    Identity,
    Role,
    TokenFileError,
    TokenStore,
    add_token,
    map_certificate,
    parse_expiry,
    revoke_token,
)
from xrsched.auth.credentials import basic_user

NOW = 1_800_000_000.0


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@pytest.fixture
def tokens(tmp_path):
    path = tmp_path / "tokens.toml"
    secrets = {
        "ops": add_token(path, "ops", "operator"),
        "w1": add_token(path, "w1", "worker"),
        "old": add_token(path, "old", "viewer", dt.datetime.fromtimestamp(NOW, dt.UTC)),
    }
    map_certificate(path, "build-host-7", "worker", identity="builder")
    return path, secrets


def test_bearer(tokens):
    path, secrets = tokens
    store = TokenStore.load(path)
    assert store.authenticate(f"Bearer {secrets['ops']}", None, NOW) == Identity("ops", Role.OPERATOR, "token")
    assert store.authenticate(f"bearer   {secrets['w1']}  ", None, NOW).role is Role.WORKER
    assert len(store) == 3


def test_basic_with_token_id_or_empty_user(tokens):
    path, secrets = tokens
    store = TokenStore.load(path)
    assert store.authenticate(basic("w1", secrets["w1"]), None, NOW).id == "w1"
    assert store.authenticate(basic("", secrets["w1"]), None, NOW).id == "w1"
    result = store.check(basic("ops", secrets["w1"]), None, NOW)
    assert (result.identity, result.reason) == (None, "invalid token")
    assert store.authenticate(basic("w1", "wrong"), None, NOW) is None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Bearer nope", "invalid token"),
        ("Bearer", "malformed authorization"),
        ("", "malformed authorization"),
        ("Basic !!!notbase64", "malformed authorization"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), "malformed authorization"),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "malformed authorization"),
        ("Digest username=x", "unsupported authorization scheme"),
        ("Bearer " + "x" * 5000, "malformed authorization"),
    ],
)
def test_bad_headers_are_refused_with_a_reason(tokens, header, reason):
    store = TokenStore.load(tokens[0])
    assert store.check(header, None, NOW).identity is None
    assert store.check(header, None, NOW).reason == reason


def test_expired_tokens_are_refused(tokens):
    path, secrets = tokens
    store = TokenStore.load(path)
    assert store.authenticate(f"Bearer {secrets['old']}", None, NOW - 1).id == "old"
    result = store.check(f"Bearer {secrets['old']}", None, NOW)
    assert (result.identity, result.reason) == (None, "expired token")


def test_expiry_date_is_midnight_utc(tmp_path):
    path = tmp_path / "tokens.toml"
    secret = add_token(path, "d", "viewer", parse_expiry("2030-06-01"))
    store = TokenStore.load(path)
    midnight = dt.datetime(2030, 6, 1, tzinfo=dt.UTC).timestamp()
    assert store.authenticate(f"Bearer {secret}", None, midnight - 0.5) is not None
    assert store.authenticate(f"Bearer {secret}", None, midnight) is None


def test_client_certificate_identity(tokens):
    path = tokens[0]
    store = TokenStore.load(path)
    identity = store.authenticate(None, "build-host-7", NOW)
    assert identity == Identity("builder", Role.WORKER, "certificate")
    assert identity.principal == "certificate:builder"
    assert store.check(None, "stranger", NOW).reason == "certificate not mapped"
    assert store.check(None, None, NOW).reason == "no credentials"


def test_header_decides_when_both_are_given(tokens):
    path, secrets = tokens
    store = TokenStore.load(path)
    assert store.authenticate(f"Bearer {secrets['ops']}", "build-host-7", NOW).id == "ops"
    assert store.authenticate("Bearer wrong", "build-host-7", NOW) is None


def test_reload_picks_up_changes(tokens):
    path, secrets = tokens
    store = TokenStore.load(path)
    new = add_token(path, "late", "admin")
    revoke_token(path, "w1")
    assert store.authenticate(f"Bearer {secrets['w1']}", None, NOW) is not None  # known: no look at the file
    assert store.reload() is None
    assert store.authenticate(f"Bearer {new}", None, NOW).role is Role.ADMIN
    assert store.authenticate(f"Bearer {secrets['w1']}", None, NOW) is None


def test_an_unknown_secret_rereads_a_changed_file_before_it_is_refused(tokens):
    path, _ = tokens
    store = TokenStore.load(path)
    new = add_token(path, "late", "viewer")
    assert store.authenticate(basic("late", new), None, NOW).id == "late"  # no reload, no wait
    assert store.authenticate("Bearer not-a-token", None, NOW) is None


def test_a_certificate_mapped_after_loading_works_at_once(tokens):
    path, _ = tokens
    store = TokenStore.load(path)
    map_certificate(path, "ci-runner-3", "viewer", identity="ci")
    assert store.authenticate(None, "ci-runner-3", NOW).id == "ci"


def test_an_expiring_token_added_after_loading_works_at_once_and_expires(tokens):
    path, _ = tokens
    store = TokenStore.load(path)
    secret = add_token(path, "brief", "viewer", dt.datetime.fromtimestamp(NOW + 60, dt.UTC))
    assert store.authenticate(f"Bearer {secret}", None, NOW).id == "brief"
    assert store.authenticate(f"Bearer {secret}", None, NOW + 61) is None


def test_reload_if_changed_reads_the_file_only_when_it_changed(tokens, caplog):
    path, secrets = tokens
    store = TokenStore.load(path)
    with caplog.at_level(logging.INFO, logger="xrsched.server"):
        assert store.reload_if_changed() is False
        revoke_token(path, "w1")
        assert store.reload_if_changed() is True
        assert store.reload_if_changed() is False
    assert store.authenticate(f"Bearer {secrets['w1']}", None, NOW) is None
    assert [r.getMessage() for r in caplog.records] == [f"tokens file {path} reloaded: 2 token(s)"]


def test_a_sighup_reload_counts_as_seen_so_the_change_check_does_not_read_it_again(tokens):
    path, _ = tokens
    store = TokenStore.load(path)
    revoke_token(path, "w1")
    assert store.reload() is None
    assert store.reload_if_changed() is False


def test_a_bad_changed_file_is_reported_once_and_the_old_tokens_stay(tokens, caplog):
    path, secrets = tokens
    store = TokenStore.load(path)
    good = path.read_text()
    path.write_text("[tokens.x\n")
    with caplog.at_level(logging.INFO, logger="xrsched.server"):
        assert store.reload_if_changed() is True
        for _ in range(3):
            assert store.reload_if_changed() is False
            assert store.authenticate("Bearer unknown", None, NOW) is None
        assert store.authenticate(f"Bearer {secrets['ops']}", None, NOW).id == "ops"
        path.write_text(good + "\n")
        assert store.reload_if_changed() is True
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "keeping the previous tokens" in messages[0] and "reloaded" in messages[1]


def test_reload_keeps_old_table_when_file_is_bad(tokens, caplog):
    path, secrets = tokens
    store = TokenStore.load(path)
    path.write_text("[tokens.x\n")
    with caplog.at_level(logging.WARNING, logger="xrsched.server"):
        error = store.reload()
    assert error is not None
    assert str(path) in error.message
    assert "not valid TOML" in error.message
    assert "keeping the previous tokens" in caplog.text
    assert store.authenticate(f"Bearer {secrets['ops']}", None, NOW).id == "ops"
    path.unlink()
    assert "no such tokens file" in store.reload().message
    assert store.authenticate(f"Bearer {secrets['ops']}", None, NOW).id == "ops"


def test_load_of_bad_file_raises(tmp_path):
    with pytest.raises(TokenFileError, match="no such tokens file"):
        TokenStore.load(tmp_path / "missing.toml")


# basic_user: the user name a refusal log line may show (never the secret, never raw control bytes).


def test_basic_user_is_the_token_id_of_a_basic_header_and_never_its_secret():
    assert basic_user(basic("w1", "s3cret")) == "w1"
    assert "s3cret" not in basic_user(basic("w1", "s3cret"))


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic",
        "Bearer " + base64.b64encode(b"w1:s3cret").decode(),  # looks like Basic, is not
        "Basic not*base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
def test_basic_user_is_empty_for_anything_but_a_well_formed_basic_header(header):
    assert basic_user(header) == ""


def test_basic_user_keeps_printable_ascii_and_replaces_everything_else():
    user = " A~z\x1b[2J\x7f\u00e9"
    assert basic_user(basic(user, "s")) == " A~z?[2J??"


def test_basic_user_is_cut_to_64_characters():
    assert basic_user(basic("u" * 100, "s")) == "u" * 64
