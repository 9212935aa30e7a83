"""``xrsched health`` with several targets: real servers, made leader or standby by hand as the
PostgreSQL election would (tests/server/test_standby_contract.py does the same)."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from tests.standby import follow, lead
from xrsched.cli.health import health


def _address(server) -> str:
    return server.url.split("//", 1)[1].split("/", 1)[0]


def _run(*targets: str, ca) -> tuple[int, list[str]]:
    result = CliRunner().invoke(health, [*targets, "--ca", str(ca), "--timeout", "3"], env={"XRSCHED_TOKEN": ""})
    return result.exit_code, result.output.splitlines()


@pytest.fixture
def pair(live_server_factory):
    return live_server_factory(), live_server_factory()


def test_one_leader_and_a_standby_exit_0_and_say_who_leads(pair):
    leader, standby = pair
    lead(leader, 2)
    follow(standby, 2, leader.url)
    code, lines = _run(_address(leader), _address(standby), ca=leader.ca)
    assert code == 0, lines
    assert lines[0] == f"OK: {_address(leader)} (epoch 2) leads, 1 standby"
    assert lines[1].startswith(f"  LEADER {_address(leader)}: OK xrsched ") and lines[1].endswith("(epoch 2)")
    assert lines[2].startswith(f"  STANDBY {_address(standby)}: STANDBY xrsched ")
    assert lines[2].endswith(f" - leader is {leader.url} (epoch 2)")
    assert len(lines) == 3


def test_targets_may_be_one_comma_separated_list_of_urls(pair):
    leader, standby = pair
    follow(standby, 0, None)  # the leader has no <ha> element: a server on SQLite leads alone
    code, lines = _run(f"{standby.url},{leader.url}", ca=leader.ca)
    assert code == 0, lines
    assert lines[0] == f"OK: {_address(leader)} leads, 1 standby"
    assert lines[1].endswith(" - leader is unknown (epoch 0)")


def test_two_leaders_are_a_split_brain_exit_2(pair):
    first, second = pair
    lead(first, 4)
    lead(second, 5)
    code, lines = _run(_address(first), _address(second), ca=first.ca)
    assert code == 2, lines
    assert lines[0] == f"SPLIT BRAIN: 2 servers lead: {_address(first)} (epoch 4), {_address(second)} (epoch 5)"


def test_standbys_only_is_no_leader_exit_2(pair):
    first, second = pair
    follow(first, 3, None)
    follow(second, 3, None)
    code, lines = _run(_address(first), _address(second), ca=first.ca)
    assert code == 2, lines
    assert lines[0] == "NO LEADER: 2 standby, 0 unreachable or unknown"


def test_an_unreachable_standby_leaves_the_leader_serving_exit_1(live_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"localhost:{probe.getsockname()[1]}"
    lead(live_server, 1)
    code, lines = _run(_address(live_server), dead, ca=live_server.ca)
    assert code == 1, lines
    assert lines[0] == f"DEGRADED: {_address(live_server)} (epoch 1) leads, 0 standby; not ok: {dead}"
    assert lines[2] == f"  UNREACHABLE {dead}: connection refused"


def test_the_leader_shutting_down_is_exit_2(pair):
    leader, standby = pair
    lead(leader, 1)
    follow(standby, 1, leader.url)
    leader.runtime.app.draining.set()
    code, lines = _run(_address(leader), _address(standby), ca=leader.ca)
    assert code == 2, lines
    assert lines[0] == f"LEADER DOWN: {_address(leader)} (epoch 1) leads and is down"


def test_several_targets_and_xml_do_not_mix(live_server):
    result = CliRunner().invoke(health, [_address(live_server), "localhost:1", "--xml"])
    assert result.exit_code == 2 and "give one target" in result.output
    result = CliRunner().invoke(health, [f"{_address(live_server)},,localhost:1"])
    assert result.exit_code == 2 and "empty target" in result.output
    result = CliRunner().invoke(health, [_address(live_server), _address(live_server)])
    assert result.exit_code == 2 and "given twice" in result.output
