"""Prometheus metrics of one server (its own registry, so apps don't share counters)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily

from ..events import RunEvent

_CALL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

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
        self.tokens = Counter(
            "lgp_tokens_total",
            "Tokens of model calls, by workflow, provider:model and direction.",
            ["workflow", "model", "kind"],
            registry=self.registry,
        )
        self.cost = Counter(
            "lgp_cost_usd_total",
            "USD of model calls, by workflow and provider:model.",
            ["workflow", "model"],
            registry=self.registry,
        )
        self.llm_seconds = Histogram(
            "lgp_llm_call_duration_seconds",
            "Duration of model calls (Claude Code invocations too), by provider:model.",
            ["model"],
            buckets=_CALL_BUCKETS,
            registry=self.registry,
        )
        self.tool_seconds = Histogram(
            "lgp_tool_call_duration_seconds",
            "Duration of MCP tool calls, by server and tool.",
            ["server", "tool"],
            buckets=_CALL_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "lgp_errors_total",
            "Failed runs by error kind (timeout, auth, ..., or the exception's type).",
            ["kind"],
            registry=self.registry,
        )
        self._workflows: dict[str, str] = {}  # run id -> workflow, while it runs
        self._tracing: Any = None
        self.registry.register(_TracerFailures(self))

    def watch_tracing(self, tracing: Any) -> None:
        """Export ``tracing.failures`` (tracer exports that failed) at ``/metrics``."""
        self._tracing = tracing

    def observe_event(self, event: RunEvent) -> None:
        if event.type == "run.started":
            self._workflows[event.run_id] = str(event.data.get("workflow") or "?")
        elif event.type == "node.finished":
            self._observe_usage(event.run_id, event.data.get("usage"))
        elif event.type == "tool.result":
            self._observe_tool(event.data)
        elif event.type == "run.failed":
            self.errors.labels(str(event.data.get("kind") or event.data.get("error_type"))).inc()
        if event.is_terminal:
            self._workflows.pop(event.run_id, None)
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

    def _observe_usage(self, run_id: str, usage: Any) -> None:
        if not isinstance(usage, Mapping):
            return
        workflow = self._workflows.get(run_id, "?")
        for model, entry in (usage.get("by_model") or {}).items():
            self.tokens.labels(workflow, model, "input").inc(int(entry.get("input_tokens") or 0))
            self.tokens.labels(workflow, model, "output").inc(int(entry.get("output_tokens") or 0))
            self.cost.labels(workflow, model).inc(float(entry.get("cost_usd") or 0.0))
        for call in usage.get("llm_calls") or ():
            ms = call.get("duration_ms")
            if isinstance(ms, int | float):
                model = f"{call.get('provider') or '?'}:{call.get('model') or '?'}"
                self.llm_seconds.labels(model).observe(ms / 1000)

    def _observe_tool(self, data: Mapping[str, Any]) -> None:
        ms = data.get("duration_ms")
        if isinstance(ms, int | float):
            self.tool_seconds.labels(str(data.get("server")), str(data.get("tool"))).observe(
                ms / 1000
            )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _TracerFailures:
    """``lgp_tracer_export_failures_total``, read from the tracers at each scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "lgp_tracer_export_failures",
            "Failures of a tracer (an export, a write) since the server started.",
            labels=["tracer"],
        )
        tracing = self.metrics._tracing
        counts = tracing.failure_counts() if tracing is not None else {}
        for name, count in counts.items():
            family.add_metric([name], count)
        yield family
