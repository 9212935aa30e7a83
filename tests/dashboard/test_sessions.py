"""The in-memory session store: ids, CSRF tokens, idle and absolute expiry, the bound, retain."""

from __future__ import annotations

from xrsched.auth import Identity, Role
from xrsched.dashboard.sessions import SessionStore, session_key

OPS = Identity("ops", Role.OPERATOR, "token")
VIEW = Identity("view", Role.VIEWER, "token")


def store(**kw) -> SessionStore:
    return SessionStore(**{"idle": 100.0, "lifetime": 1000.0, "max_sessions": 10, **kw})


def test_ids_and_csrf_tokens_are_long_random_and_distinct():
    sessions = store()
    made = [sessions.create(OPS, 0.0) for _ in range(5)]
    ids = {sid for sid, _ in made}
    csrfs = {s.csrf for _, s in made}
    assert len(ids) == 5 and len(csrfs) == 5
    assert all(len(sid) >= 43 for sid in ids)
    assert ids.isdisjoint(csrfs)


def test_the_store_keeps_only_a_hash_of_each_id():
    sessions = store()
    sid, session = sessions.create(OPS, 0.0)
    assert session.key == session_key(sid) != sid
    assert sid not in repr(sessions._sessions)


def test_use_finds_the_session_and_restarts_its_idle_timer():
    sessions = store()
    sid, _ = sessions.create(OPS, 0.0)
    assert sessions.use("not-a-session", 1.0) is None
    assert sessions.use(sid, 90.0).identity == OPS
    assert sessions.use(sid, 180.0) is not None  # 90 s since the last use: still alive
    assert sessions.use(sid, 280.0) is None  # 100 s idle: gone
    assert sessions.use(sid, 281.0) is None
    assert len(sessions) == 0


def test_absolute_expiry_ends_a_session_in_constant_use():
    sessions = store(idle=100.0, lifetime=250.0)
    sid, session = sessions.create(OPS, 0.0)
    assert session.expires == 100.0
    for now in (50.0, 100.0, 150.0, 200.0, 249.0):
        assert sessions.use(sid, now) is not None
    assert sessions.use(sid, 249.0).expires == 250.0  # capped by the lifetime
    assert sessions.use(sid, 250.0) is None


def test_the_oldest_session_is_dropped_at_the_bound():
    sessions = store(max_sessions=3)
    first, _ = sessions.create(OPS, 0.0)
    second, _ = sessions.create(OPS, 1.0)
    sessions.create(VIEW, 2.0)
    sessions.use(first, 3.0)  # being used does not make it younger: the bound is by age
    sessions.create(VIEW, 4.0)
    assert len(sessions) == 3
    assert sessions.use(first, 5.0) is None
    assert sessions.use(second, 5.0) is not None


def test_end_signs_out_once():
    sessions = store()
    sid, session = sessions.create(OPS, 0.0)
    assert sessions.end(session) is True
    assert sessions.end(session) is False
    assert sessions.use(sid, 1.0) is None


def test_retain_drops_rejected_identities_and_expired_sessions():
    sessions = store()
    ops, _ = sessions.create(OPS, 0.0)
    view, _ = sessions.create(VIEW, 0.0)
    late, _ = sessions.create(VIEW, 50.0)
    assert sessions.retain(lambda who: who.id != "ops", 120.0) == 2  # ops rejected, view idle too long
    assert sessions.use(ops, 121.0) is None
    assert sessions.use(view, 121.0) is None
    assert sessions.use(late, 121.0) is not None


def test_csrf_compare():
    _, session = store().create(OPS, 0.0)
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("")
    assert not session.csrf_matches(session.csrf[:-1])
    assert not session.csrf_matches(session.csrf + "x")


def test_one_identity_signing_in_again_and_again_ends_only_its_own_oldest_sessions():
    sessions = store(max_sessions=10, per_identity=3)
    other, _ = sessions.create(VIEW, 0.0)
    mine = [sessions.create(OPS, float(n))[0] for n in range(1, 8)]
    assert sessions.use(other, 9.0) is not None
    assert [sessions.use(sid, 9.0) is not None for sid in mine] == [False] * 4 + [True] * 3


def test_a_session_ending_at_the_moment_of_a_sign_in_is_swept_by_it():
    sessions = store(idle=10.0)
    sessions.create(OPS, 0.0)
    sessions.create(VIEW, 9.0)
    sessions.create(VIEW, 10.0)  # the first one's idle expiry is exactly now
    assert len(sessions) == 2


def test_a_cookie_value_no_encoder_takes_is_an_unknown_session_not_an_error():
    sessions = store()
    sessions.create(OPS, 0.0)
    assert sessions.use("\udcff-not-a-session", 1.0) is None
    assert session_key("\udcff") == session_key("?")  # the odd character is replaced, not refused
