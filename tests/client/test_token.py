"""Where the token comes from: argument, token file, XRSCHED_TOKEN (with a permissions check)."""

from __future__ import annotations

import logging

import pytest

from xrsched.client import AuthenticationFailed, RemoteScheduler, TokenError, resolve_token
from xrsched.client.endpoint import Endpoint


def _token_file(tmp_path, text: str, mode: int = 0o600):
    path = tmp_path / "token"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_flag_then_file_then_environment(tmp_path):
    path = _token_file(tmp_path, "\nfrom-file\n")
    env = {"XRSCHED_TOKEN": "from-env"}
    assert resolve_token("from-arg", path, env) == "from-arg"
    assert resolve_token(None, path, env) == "from-file"
    assert resolve_token(None, None, {**env, "XRSCHED_TOKEN_FILE": str(path)}) == "from-file"
    assert resolve_token(None, None, env) == "from-env"
    assert resolve_token(None, None, {}) is None


@pytest.mark.parametrize("named_by", ["argument", "environment"])
def test_a_missing_token_file_is_an_error_even_with_a_token_in_the_environment(tmp_path, named_by):
    missing = tmp_path / "nope"
    env = {"XRSCHED_TOKEN": "good"}
    if named_by == "environment":
        env["XRSCHED_TOKEN_FILE"] = str(missing)
    with pytest.raises(TokenError, match=f"^token file {missing}: No such file or directory$"):
        resolve_token(None, missing if named_by == "argument" else None, env)


def test_an_unreadable_token_file_is_an_error(tmp_path):
    directory = tmp_path / "adir"
    directory.mkdir()
    with pytest.raises(TokenError, match=r"^token file .*adir: Is a directory$"):
        resolve_token(None, directory, {})


def test_a_token_file_others_can_read_gets_a_log_warning(tmp_path, caplog, recwarn):
    path = _token_file(tmp_path, "secret\n", 0o644)
    with caplog.at_level(logging.WARNING, logger="xrsched.client"):
        assert resolve_token(None, path, {}) == "secret"
        path.chmod(0o600)
        assert resolve_token(None, path, {}) == "secret"
    expected = f"token file {path} is accessible by group or others; chmod 600 it"
    assert [r.getMessage() for r in caplog.records] == [expected]
    # A log line, not a Python warning. (ResourceWarnings for sockets that earlier tests left to
    # the garbage collector may land in any test: they are not this code's.)
    assert [w for w in recwarn if not issubclass(w.category, ResourceWarning)] == []


@pytest.mark.parametrize("bad", ["two words", "line\nbreak", "caf\u00e9"])
def test_tokens_that_cannot_go_in_a_header_are_refused(bad):
    with pytest.raises(ValueError, match="printable ASCII"):
        resolve_token(bad, None, {})


def test_an_empty_token_file_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no token"):
        resolve_token(None, _token_file(tmp_path, "\n\n"), {})


def test_the_token_authenticates_from_each_source(live_server, tmp_path):
    options = {"ca": live_server.ca, "retries": 0}
    sources = [
        {"token": live_server.admin, "environ": {}},
        {"environ": {"XRSCHED_TOKEN": live_server.admin}},
        {"token_file": _token_file(tmp_path, live_server.admin + "\n"), "environ": {}},
    ]
    for source in sources:
        with RemoteScheduler(live_server.url, **options, **source) as client:
            assert client.is_paused() == {"paused": False}
    with RemoteScheduler(live_server.url, **options, environ={}) as anonymous, pytest.raises(AuthenticationFailed):
        anonymous.is_paused()


def test_bad_urls_are_refused_early():
    for url in ("ftp://host/", "https://", "https://id:secret@host:8082/"):
        with pytest.raises(ValueError):
            RemoteScheduler(url, environ={})
    assert RemoteScheduler("https://sched.example", environ={}).url == "https://sched.example"
    assert Endpoint.parse("https://sched.example") == Endpoint("https", "sched.example", 8082, "/RPC2")
    assert Endpoint.parse("http://[::1]:9/x?y=1") == Endpoint("http", "::1", 9, "/x?y=1")
