"""The scrape answer: the registry in the text format the scraper asked for."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The body and Content-Type for a scrape: Prometheus text 0.0.4, or OpenMetrics when
    ``accept`` asks for it (prometheus_client's own negotiation)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
