"""Start-up checks without side effects: real sockets on 127.0.0.1, real files."""

from __future__ import annotations

import socket

import pytest

from xrsched.server.preflight import StartupError, check_directory, check_file, probe_address


@pytest.mark.parametrize("host", ["", "127.0.0.1", "localhost", "::1"])
def test_the_probe_binds_what_the_listener_will_bind(host):
    try:
        probe = probe_address(host, 0)
    except StartupError as exc:
        if host == "::1" and "no network interface" in exc.message:
            pytest.skip("no IPv6 loopback here")
        raise
    try:
        assert probe.getsockname()[1] > 0
    finally:
        probe.close()


def test_a_listening_port_is_refused_with_the_address_named():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(StartupError, match=rf"cannot listen on 127\.0\.0\.1:{port}: the port is already in use"):
            probe_address("127.0.0.1", port)


def test_an_ipv6_address_is_shown_in_brackets():
    with pytest.raises(StartupError, match=r"cannot listen on \[2001:db8::1\]:0: "):
        probe_address("2001:db8::1", 0)  # documentation prefix: never on this machine


def test_paths_that_cannot_be_made_are_named_with_the_reason(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(StartupError, match="exists and is not a directory"):
        check_directory(plain, "state directory")
    with pytest.raises(StartupError, match=rf"cannot create tokens file {plain}/deep/t\.toml: {plain} is not"):
        check_file(plain / "deep" / "t.toml", "tokens file")
    with pytest.raises(StartupError, match=rf"audit log {tmp_path} is a directory"):
        check_file(tmp_path, "audit log")
    check_directory(tmp_path / "new" / "deeper", "state directory")  # creatable: fine
    check_file(tmp_path / "new.log", "audit log")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]  # nothing was created
