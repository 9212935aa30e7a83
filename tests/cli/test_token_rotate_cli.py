"""``xrsched token rotate`` and the rotation column of ``token list``, through the console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from xrsched.auth import Role, TokenStore

XRSCHED = Path(sys.executable).with_name("xrsched")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(XRSCHED), *args], capture_output=True, text=True, env=env, timeout=60)


def test_rotate_prints_the_new_secret_alone_and_list_shows_the_pending_rotation(env, tmp_path):
    tokens = tmp_path / "tokens.toml"
    old = run("token", "add", "--id", "ci", "--role", "worker", "--tokens", str(tokens), env=env).stdout.strip()
    rotated = run("token", "rotate", "ci", "--grace", "36h", "--tokens", str(tokens), env=env)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert rotated.stdout == new + "\n" and new != old
    assert "The old secret works for 36h more" in rotated.stderr
    store = TokenStore.load(tokens)
    assert store.authenticate(f"Bearer {new}", None, 0.0).role is Role.WORKER
    assert store.authenticate(f"Bearer {old}", None, 0.0).previous_secret

    listed = run("token", "list", "--tokens", str(tokens), env=env)
    header, row = listed.stdout.splitlines()
    assert header.split()[-1] == "ROTATION"
    assert "old secret until 20" in row
    assert old not in listed.stdout and new not in listed.stdout


def test_rotate_errors_are_one_line(env, tmp_path):
    tokens = tmp_path / "tokens.toml"
    run("token", "add", "--id", "ci", "--role", "worker", "--tokens", str(tokens), env=env)
    unknown = run("token", "rotate", "nope", "--tokens", str(tokens), env=env)
    assert unknown.returncode == 1 and "no token with id 'nope'" in unknown.stderr
    bad = run("token", "rotate", "ci", "--grace", "soon", "--tokens", str(tokens), env=env)
    assert bad.returncode == 2 and "not a duration" in bad.stderr
