"""``xrsched health``: exit codes and summaries against real servers."""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from tests.rpc.http_support import TOKEN, EchoApp, run_server
from xrsched.cli.health import format_uptime, health, parse_address


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(health, list(args), env=env)


def _addr(server) -> str:
    return f"localhost:{server.server_address[1]}"


def test_health_is_a_click_command():
    assert isinstance(health, click.Command) and health.name == "health"


def test_ok_exits_0_with_one_line(dev_certs):
    app = EchoApp(tls_not_after=datetime.datetime(2027, 11, 22, tzinfo=datetime.UTC))
    with run_server(dev_certs, app) as server:
        result = _run(_addr(server), "--ca", str(dev_certs.ca_cert))
    assert result.exit_code == 0, result.output
    assert result.output == (
        "OK xrsched 0.1.0 uptime 12s tasks=120 pending=30 running=4 failed=1 disabled=0 workers=3 "
        "tls-expires 2027-11-22\n"
    )


def test_degraded_exits_1_and_says_why(dev_certs):
    with run_server(dev_certs, EchoApp(status="degraded")) as server:
        result = _run(_addr(server), "--ca", str(dev_certs.ca_cert))
    assert result.exit_code == 1
    assert result.output.startswith("DEGRADED xrsched 0.1.0")
    assert result.output.rstrip().endswith("- store is unhappy")


def test_down_exits_2(dev_certs):
    with run_server(dev_certs, EchoApp(status="down")) as server:
        result = _run(_addr(server), "--ca", str(dev_certs.ca_cert))
    assert result.exit_code == 2
    assert result.output.startswith("DOWN xrsched 0.1.0")


def test_unreachable_port_exits_2():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        result = _run(f"127.0.0.1:{port}", "--timeout", "2")
    assert result.exit_code == 2
    assert result.output == f"UNREACHABLE 127.0.0.1:{port}: connection refused\n"


def test_unverifiable_certificate_exits_2(dev_certs):
    with run_server(dev_certs) as server:
        result = _run(_addr(server))  # the dev CA is not in the system store
        insecure = _run(_addr(server), "--insecure")
    assert result.exit_code == 2
    assert "TLS verify failed" in result.output
    assert insecure.exit_code == 0


def test_silent_server_times_out_with_exit_2():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts at the kernel level, never answers
        port = listener.getsockname()[1]
        result = _run(f"127.0.0.1:{port}", "--timeout", "0.5", "--insecure")
    assert result.exit_code == 2
    assert result.output.rstrip().endswith("timed out after 0.5s")


def test_token_from_environment_and_xml_output(dev_certs):
    with run_server(dev_certs, health_requires_token=True) as server:
        refused = _run(_addr(server), "--ca", str(dev_certs.ca_cert))
        result = _run(_addr(server), "--ca", str(dev_certs.ca_cert), "--xml", env={"XRSCHED_TOKEN": TOKEN})
    assert refused.exit_code == 2 and "HTTP 401" in refused.output
    assert result.exit_code == 0
    assert result.output.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<health status="ok"')


def test_plain_http_and_mismatched_tls(dev_certs):
    with run_server(dev_certs, tls=False) as server:
        plain = _run(f"127.0.0.1:{server.server_address[1]}", "--no-tls")
        tls_to_plain = _run(f"127.0.0.1:{server.server_address[1]}", "--insecure")
    assert plain.exit_code == 0 and plain.output.startswith("OK ")
    assert tls_to_plain.exit_code == 2 and "TLS error" in tls_to_plain.output


@contextlib.contextmanager
def _raw_server(reply: bytes) -> Iterator[int]:
    """A bare socket that reads one request and sends ``reply`` (bytes chosen by the test)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(reply)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        yield listener.getsockname()[1]
        thread.join(3)


def test_not_a_health_document_exits_2():
    body = b"<html>hi</html>"
    with _raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    ) as port:
        result = _run(f"127.0.0.1:{port}", "--no-tls", "--timeout", "3")
    assert result.exit_code == 2
    assert "not a health document" in result.output


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000, "the answer is over 65536 bytes"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<health", "the answer was cut off"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not an HTTP answer"),
        (b"", "server closed the connection (does the server expect TLS? drop --no-tls)"),
    ],
    ids=["too-big", "cut-off", "not-http", "closed"],
)
def test_broken_answers_exit_2_with_a_reason(reply, expected):
    with _raw_server(reply) as port:
        result = _run(f"127.0.0.1:{port}", "--no-tls", "--timeout", "3")
    assert result.exit_code == 2
    assert expected in result.output, result.output


def test_a_token_that_cannot_be_a_header_is_refused_before_connecting():
    with socket.socket() as listener:  # bound, never listening: a connect would be refused
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        result = _run(f"127.0.0.1:{port}", "--no-tls", "--token", "abc\r\nX-Evil: 1")
    assert result.exit_code == 2
    assert "cannot carry" in result.output and "refused" not in result.output


def test_real_subprocess_exit_code(dev_certs):
    with run_server(dev_certs, EchoApp(status="degraded")) as server:
        completed = subprocess.run(
            [
                sys.executable,
                "-c",
                "from xrsched.cli.health import health; health()",
                _addr(server),
                "--ca",
                str(dev_certs.ca_cert),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "XRSCHED_TOKEN": ""},
        )
    assert completed.returncode == 1, completed.stderr
    assert completed.stdout.startswith("DEGRADED ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost:9000", ("localhost", 9000)),
        ("example.org", ("example.org", 8082)),
        ("[::1]:8443", ("::1", 8443)),
        ("https://sched.example:8082/health", ("sched.example", 8082)),
    ],
)
def test_parse_address(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", ":80", "host:0", "host:99999", "host:x"])
def test_parse_address_rejects(text):
    with pytest.raises(click.BadParameter):
        parse_address(text)


def test_format_uptime():
    assert [format_uptime(s) for s in (12.7, 312, 3 * 3600 + 420, 2 * 86400 + 4 * 3600)] == [
        "12s",
        "5m12s",
        "3h07m",
        "2d04h",
    ]


def test_a_token_is_verified_even_when_health_is_open(dev_certs, tmp_path):
    good_file = tmp_path / "token"
    good_file.write_text(TOKEN + "\n")
    good_file.chmod(0o600)
    with run_server(dev_certs) as server:  # GET /health open: the server ignores a token there
        ca = ["--ca", str(dev_certs.ca_cert)]
        addr = _addr(server)
        wrong = _run(_addr(server), *ca, "--token", "WRONG", env={"XRSCHED_TOKEN": ""})
        right = _run(_addr(server), *ca, "--token", TOKEN, env={"XRSCHED_TOKEN": ""})
        file_beats_env = _run(_addr(server), *ca, "--token-file", str(good_file), env={"XRSCHED_TOKEN": "WRONG"})
        flag_beats_file = _run(_addr(server), *ca, "--token", "WRONG", "--token-file", str(good_file))
        missing = _run(_addr(server), *ca, "--token-file", str(tmp_path / "nope"), env={"XRSCHED_TOKEN": TOKEN})
        no_token = _run(_addr(server), *ca, env={"XRSCHED_TOKEN": ""})
    assert wrong.exit_code == 0 and wrong.output.startswith("OK ")
    assert wrong.output.rstrip().endswith("token REFUSED (HTTP 401; /health is open, so the probe did not need it)")
    assert right.exit_code == 0 and right.output.rstrip().endswith(" - token accepted")
    assert file_beats_env.output.rstrip().endswith(" - token accepted")
    assert "token REFUSED" in flag_beats_file.output
    assert missing.exit_code == 2
    assert missing.output == f"UNKNOWN {addr}: token file {tmp_path / 'nope'}: No such file or directory\n"
    assert no_token.exit_code == 0 and "token" not in no_token.output
