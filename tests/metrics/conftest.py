"""Live servers for the metrics tests (the fixtures of ``tests/server``) and a real scraper."""

from __future__ import annotations

import http.client
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import LiveServer, live_server, live_server_factory  # noqa: F401 (fixtures)


@dataclass
class Scrape:
    """One answer to ``GET /metrics``: status, headers and, for a 200, the parsed samples."""

    status: int
    content_type: str
    text: str
    headers: dict[str, str]

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """``(name, sorted labels) -> value`` of every sample, parsed by prometheus_client's parser."""
        found = {}
        for family in text_string_to_metric_families(self.text):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found

    def value(self, name: str, **labels: str) -> float:
        """The value of one sample; 0.0 when the series does not exist (a counter never touched)."""
        return self.samples().get((name, tuple(sorted(labels.items()))), 0.0)

    def label_values(self, name: str, label: str) -> set[str]:
        """Every value ``label`` takes in the samples named ``name``."""
        return {dict(labels)[label] for (sample, labels) in self.samples() if sample == name and label in dict(labels)}


def scrape(server: LiveServer, secret: str | None = None, *, accept: str | None = None, head: bool = False) -> Scrape:
    """``GET /metrics`` over real TLS, with ``Authorization: Bearer`` when ``secret`` is given."""
    host, port = server.url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    connection = http.client.HTTPSConnection(host, int(port), context=server.context(), timeout=10)
    headers = {}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    if accept is not None:
        headers["Accept"] = accept
    try:
        connection.request("HEAD" if head else "GET", "/metrics", headers=headers)
        response = connection.getresponse()
        body = response.read().decode()
        return Scrape(response.status, response.getheader("Content-Type", ""), body, dict(response.getheaders()))
    finally:
        connection.close()
