"""Token rotation in the tokens file and in the credential check; expiry warnings; durations."""

from __future__ import annotations

import datetime as dt

import pytest

from xrsched.auth import TokenStore
from xrsched.auth.tokenfile import TokenFileError, parse_tokens, read_tokens, render_tokens
from xrsched.auth.tokens import add_token, hash_secret, rotate_token
from xrsched.durations import format_duration, parse_duration

NOW = 1_800_000_000.0
HOUR = 3600.0


def bearer(secret: str) -> str:
    return f"Bearer {secret}"


@pytest.fixture
def tokens(tmp_path):
    return tmp_path / "tokens.toml"


def test_the_old_secret_works_until_the_grace_ends_then_stops_by_itself(tokens):
    old = add_token(tokens, "ci", "worker", now=NOW)
    new = rotate_token(tokens, "ci", 24 * HOUR, now=NOW)
    assert new != old
    store = TokenStore.load(tokens)
    during = store.check(bearer(old), None, NOW + 23 * HOUR)
    assert during.identity is not None and during.identity.id == "ci"
    assert during.identity.previous_secret
    fresh = store.check(bearer(new), None, NOW + 23 * HOUR).identity
    assert fresh is not None and not fresh.previous_secret
    assert fresh == during.identity  # the same caller, whichever secret it used
    # No reload, no signal: the same table refuses the old secret once the grace is over.
    after = store.check(bearer(old), None, NOW + 24 * HOUR)
    assert after.identity is None and "grace" in after.reason
    assert store.check(bearer(new), None, NOW + 25 * HOUR).identity is not None


def test_grace_zero_ends_the_old_secret_at_once(tokens):
    old = add_token(tokens, "ci", "worker", now=NOW)
    rotate_token(tokens, "ci", 0, now=NOW)
    assert "previous_hash" not in tokens.read_text()
    assert TokenStore.load(tokens).check(bearer(old), None, NOW).reason == "invalid token"


def test_rotating_again_keeps_only_the_secret_just_replaced(tokens):
    first = add_token(tokens, "ci", "worker", now=NOW)
    second = rotate_token(tokens, "ci", HOUR, now=NOW)
    third = rotate_token(tokens, "ci", HOUR, now=NOW + 60)
    store = TokenStore.load(tokens)
    assert store.authenticate(bearer(first), None, NOW + 120) is None
    assert store.authenticate(bearer(second), None, NOW + 120).previous_secret
    assert not store.authenticate(bearer(third), None, NOW + 120).previous_secret


def test_rotation_keeps_role_and_expiry_and_survives_a_rewrite(tokens):
    add_token(tokens, "ops", "operator", dt.date(2030, 1, 1), now=NOW)
    rotate_token(tokens, "ops", 2 * HOUR, now=NOW)
    record = read_tokens(tokens).tokens["ops"]
    assert record.role.label == "operator" and record.expires == dt.date(2030, 1, 1)
    assert record.previous_until == dt.datetime.fromtimestamp(NOW + 2 * HOUR, dt.UTC)
    assert record.previous_valid(NOW + HOUR) and not record.previous_valid(NOW + 2 * HOUR)
    again = parse_tokens(render_tokens(read_tokens(tokens)), tokens)
    assert again.tokens == read_tokens(tokens).tokens
    add_token(tokens, "other", "viewer", now=NOW)  # any later write keeps the pending rotation
    assert read_tokens(tokens).tokens["ops"].previous_hash == record.previous_hash


def test_an_expired_token_stays_refused_whichever_secret(tokens):
    old = add_token(tokens, "ci", "worker", dt.datetime.fromtimestamp(NOW + HOUR, dt.UTC), now=NOW)
    new = rotate_token(tokens, "ci", 24 * HOUR, now=NOW)
    store = TokenStore.load(tokens)
    assert store.check(bearer(old), None, NOW + 2 * HOUR).reason == "expired token"
    assert store.check(bearer(new), None, NOW + 2 * HOUR).reason == "expired token"


def test_rotate_errors(tokens):
    add_token(tokens, "ci", "worker", now=NOW)
    with pytest.raises(TokenFileError, match="no token with id 'nope'"):
        rotate_token(tokens, "nope", HOUR)
    with pytest.raises(TokenFileError, match="negative"):
        rotate_token(tokens, "ci", -1)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('previous_hash = "sha256:' + "cd" * 32 + '"', "go together"),
        ("previous_until = 2027-01-01T00:00:00Z", "go together"),
        ('previous_hash = "md5:x"\nprevious_until = 2027-01-01T00:00:00Z', "previous_hash"),
        ('previous_hash = "sha256:' + "ab" * 32 + '"\nprevious_until = 2027-01-01T00:00:00Z', "same as 'hash'"),
        ('previous_hash = "sha256:' + "cd" * 32 + '"\nprevious_until = 2027-01-01', "date-time"),
    ],
)
def test_the_file_is_checked(tokens, extra, message):
    text = f'[tokens.ci]\nrole = "worker"\nhash = "sha256:{"ab" * 32}"\n{extra}\n'
    with pytest.raises(TokenFileError, match=message):
        parse_tokens(text, tokens)


def test_an_old_secret_may_not_be_another_tokens_secret(tokens):
    text = (
        f'[tokens.a]\nrole = "worker"\nhash = "sha256:{"ab" * 32}"\n'
        f'previous_hash = "sha256:{"cd" * 32}"\nprevious_until = 2027-01-01T00:00:00Z\n'
        f'[tokens.b]\nrole = "admin"\nhash = "sha256:{"cd" * 32}"\n'
    )
    with pytest.raises(TokenFileError, match="same hash"):
        parse_tokens(text, tokens)


def test_expiring_lists_tokens_that_expire_within_the_window(tokens):
    at = dt.datetime.fromtimestamp
    add_token(tokens, "soon", "worker", at(NOW + 2 * 86400, dt.UTC), now=NOW)
    add_token(tokens, "sooner", "worker", at(NOW + 86400, dt.UTC), now=NOW)
    add_token(tokens, "later", "worker", at(NOW + 30 * 86400, dt.UTC), now=NOW)
    add_token(tokens, "gone", "worker", at(NOW + 60, dt.UTC), now=NOW)
    add_token(tokens, "never", "worker", now=NOW)
    rotate_token(tokens, "never", 3600, now=NOW)  # a grace ending soon is not an expiry
    store = TokenStore.load(tokens)
    soon = store.expiring(NOW + 120, 7 * 86400)
    assert [token_id for token_id, _ in soon] == ["sooner", "soon"]
    assert soon[0][1] == NOW + 86400
    assert store.expiring(NOW + 120, 0) == []


def test_the_stored_form_is_the_hash(tokens):
    old = add_token(tokens, "ci", "worker", now=NOW)
    rotate_token(tokens, "ci", HOUR, now=NOW)
    assert f'previous_hash = "{hash_secret(old)}"' in tokens.read_text()
    assert old not in tokens.read_text()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("24h", 86400), ("7d", 604800), ("2w", 1209600), ("1.5h", 5400),
     (" 36H ", 129600), ("0", 0)],
)  # fmt: skip
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "-1h", "1y", "1h30m", "soon"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="24h"):
        parse_duration(text)


def test_format_duration():
    assert [format_duration(s) for s in (86400, 129600, 90, 604800, 0.5)] == ["1d", "36h", "90s", "1w", "0.5s"]
