"""Where the token comes from: argument, XRSCHED_TOKEN, token file (with a permissions check)."""

from __future__ import annotations

import warnings

import pytest

from xrsched.client import AuthenticationFailed, InsecureTokenFileWarning, RemoteScheduler, resolve_token
from xrsched.client.transport import Endpoint


def _token_file(tmp_path, text: str, mode: int = 0o600):
    path = tmp_path / "token"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_argument_then_environment_then_file(tmp_path):
    path = _token_file(tmp_path, "\nfrom-file\n")
    env = {"XRSCHED_TOKEN": "from-env", "XRSCHED_TOKEN_FILE": str(path)}
    assert resolve_token("from-arg", None, env) == "from-arg"
    assert resolve_token(None, None, env) == "from-env"
    assert resolve_token(None, None, {"XRSCHED_TOKEN_FILE": str(path)}) == "from-file"
    assert resolve_token(None, path, {}) == "from-file"
    assert resolve_token(None, None, {}) is None


def test_a_token_file_others_can_read_gets_a_warning(tmp_path):
    path = _token_file(tmp_path, "secret\n", 0o644)
    with pytest.warns(InsecureTokenFileWarning, match="chmod 600"):
        assert resolve_token(None, path, {}) == "secret"
    path.chmod(0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_token(None, path, {}) == "secret"


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
