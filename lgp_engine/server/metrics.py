"""Prometheus metrics of one server (its own registry, so apps don't share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..events import RunEvent

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Run, HTTP and stream metrics, exported at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "lgp_runs_total",
            "Runs by how they ended (or started).",
            ["event"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "lgp_run_duration_seconds",
            "Run duration until it ended or stopped.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.requests = Counter(
            "lgp_http_requests_total",
            "HTTP requests.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.streams = Gauge(
            "lgp_active_streams", "Open event streams (SSE).", registry=self.registry
        )
        self.active_runs = Gauge(
            "lgp_active_runs", "Runs executing in this process.", registry=self.registry
        )

    def observe_event(self, event: RunEvent) -> None:
        kind = {
            "run.started": "started",
            "run.completed": "completed",
            "run.failed": "failed",
            "interrupt": "interrupted",
            "run.cancelled": "cancelled",
        }.get(event.type)
        if kind is None:
            return
        self.runs.labels(kind).inc()
        if kind != "started":
            duration = event.data.get("duration_ms")
            if isinstance(duration, int | float):
                self.run_seconds.observe(duration / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
