"""Start-up against PostgreSQL: each problem is one line on stderr and a distinct exit code."""

from __future__ import annotations

import subprocess

import pytest

from tests.pg.cluster import PASSWORD, free_port
from tests.serverproc import SERVER


def start(env: dict[str, str], tmp_path, store: str, password: str | None = PASSWORD) -> subprocess.CompletedProcess:
    environment = dict(env)
    environment.pop("PGPASSWORD", None)
    if password is not None:
        environment["PGPASSWORD"] = password
    return subprocess.run(
        [SERVER, "--port", "0", "--no-tls", "--state-path", str(tmp_path / "state"), "--store", store],
        env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def assert_one_line(result: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("store", "fragment"),
    [
        ("postgresql://127.0.0.1:5432/db", "names no user"),
        ("postgresql://u@127.0.0.1:5432/", "names no database"),
        ("postgresql://u@127.0.0.1:99999/db", "malformed"),
        ("postgresql://u@127.0.0.1:5432/db?sslmode=require&evil=1", "unknown parameter 'evil'"),
        ("postgresql://u:hunter2@127.0.0.1:5432/db", "must not contain a password"),
    ],
)
def test_a_bad_url_is_one_line_and_exit_2(env, tmp_path, store, fragment):
    result = start(env, tmp_path, store)
    assert_one_line(result, 2, fragment)
    assert "hunter2" not in result.stderr


def test_wrong_credentials_are_one_line_and_exit_2(env, tmp_path, pg_url):
    result = start(env, tmp_path, pg_url, password="wrong")
    assert_one_line(result, 2, "cannot connect to", "password authentication failed")


def test_an_unreachable_database_is_one_line_and_exit_2(env, tmp_path):
    url = f"postgresql://xrsched@127.0.0.1:{free_port()}/nowhere"
    assert_one_line(start(env, tmp_path, url), 2, f"cannot connect to {url}", "refused")


def test_a_server_refuses_to_start_against_a_newer_schema(env, tmp_path, pg_url, pg_cluster):
    from xrsched.store.pgurl import parse_store_url
    from xrsched.store.postgres import PostgresStore

    PostgresStore(parse_store_url(pg_url)).close()
    with pg_cluster.connect(pg_url.rsplit("/", 1)[1]) as conn:
        conn.execute("UPDATE xrsched_schema SET version = version + 1")
    assert_one_line(start(env, tmp_path, pg_url), 1, "newer than this xrsched understands")
