"""Prometheus metrics of one server: Luigi's ``luigi_task_*`` names plus ``xrsched_*`` (README, "Metrics")."""

from .exposition import render
from .labels import OTHER, BoundedLabel
from .server import CONNECTION_REFUSALS, UNKNOWN_METHOD, ServerMetrics

__all__ = ["CONNECTION_REFUSALS", "OTHER", "UNKNOWN_METHOD", "BoundedLabel", "ServerMetrics", "render"]
