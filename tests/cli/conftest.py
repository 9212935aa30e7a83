"""The live-server fixtures of tests/server, for the commands that ask a running scheduler."""

from tests.server.conftest import live_server, live_server_factory  # noqa: F401 (fixtures)
