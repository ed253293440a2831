"""The langfuse SDK (v5) as the Langfuse tracer uses it: its client wired to a
TracerProvider of its own and :class:`~.otlp.OtlpHttpExporter`, observations written
in its attribute conventions, and a close that keeps its deadline.

The SDK's span processor (a batch processor) queues ended spans and exports them
from its background thread, so nothing here waits on the network. Observations are
OpenTelemetry spans of the SDK's tracer carrying the attributes the SDK's own
observation classes (``LangfuseSpan``...) write (see :mod:`.langfuse_attrs`); they
are written directly because those classes add more than the span itself costs, on
the run's thread (a media scan of every value, masking, the attributes checked
again at each update): an 11-span run took 4.7 ms with them, 3.1 ms without.

This module imports the SDK: :mod:`.langfuse` imports it only when a tracer is made.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import langfuse
from langfuse._client.constants import LANGFUSE_TRACER_NAME
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from .._version import __version__
from .langfuse_attrs import (
    AS_ROOT,
    ENVIRONMENT,
    OBSERVATION_LEVEL,
    OBSERVATION_STATUS_MESSAGE,
)
from .otlp import OtlpHttpExporter

log = logging.getLogger("lgp_engine.tracing.langfuse")

_random_ids = RandomIdGenerator()


class Observation:
    """One observation of a trace: an OpenTelemetry span of the SDK's tracer."""

    __slots__ = ("end_ns", "span", "start_ns")

    def __init__(self, span: trace.Span, start_ns: int) -> None:
        self.span = span
        self.start_ns = start_ns
        self.end_ns: int | None = None

    def end(self, end_ns: int, attributes: Mapping[str, Any] | None = None) -> None:
        """Add ``attributes`` (see :func:`.langfuse_attrs.observation`) and end it at
        ``end_ns`` (never before its start); an ``ERROR`` level also sets the span's
        status, as the SDK does."""
        if attributes:
            self.span.set_attributes(attributes)
            if attributes.get(OBSERVATION_LEVEL) == "ERROR":
                message = attributes.get(OBSERVATION_STATUS_MESSAGE)
                self.span.set_status(trace.StatusCode.ERROR, message)
        self.end_ns = max(end_ns, self.start_ns)
        self.span.end(end_time=self.end_ns)


def forget_client(public_key: str, only: Any = None) -> None:
    """Take the SDK's client for ``public_key`` out of its process-wide registry (it
    keeps one per key and would hand a new tracer an older tracer's pipeline, closed
    or pointing at another host); ``only``: if it is that one. Clients already made
    keep working. (An SDK internal, checked against langfuse 5.0.)"""
    try:
        from langfuse._client.resource_manager import LangfuseResourceManager
    except ImportError:  # pragma: no cover - a future SDK without the registry
        return
    with LangfuseResourceManager._lock:
        current = LangfuseResourceManager._instances.get(public_key)
        if current is not None and (only is None or current is only):
            del LangfuseResourceManager._instances[public_key]


class Pipeline:
    """The langfuse SDK on a TracerProvider of its own (never the process's global
    one) exporting through :class:`~.otlp.OtlpHttpExporter`.

    Args:
        host: The Langfuse base URL.
        public_key: Langfuse public key.
        secret_key: Langfuse secret key.
        environment: Langfuse's environment of every observation (already valid).
        timeout_s: The longest each phase of an export request may take.
        on_failure: Told what went wrong at each failed export.
    """

    def __init__(
        self,
        host: str,
        public_key: str,
        secret_key: str,
        *,
        environment: str | None,
        timeout_s: float,
        on_failure: Callable[[str], None],
    ) -> None:
        self.public_key = public_key
        self.exporter = OtlpHttpExporter(
            host,
            public_key=public_key,
            secret_key=secret_key,
            timeout_s=timeout_s,
            on_failure=on_failure,
            headers={  # as the SDK's own exporter identifies itself
                "x-langfuse-sdk-name": "python",
                "x-langfuse-sdk-version": langfuse.__version__,
                "x-langfuse-public-key": public_key,
                "x-langfuse-ingestion-version": "4",
            },
        )
        resource = {"service.name": "lgp-workbench", "service.version": __version__}
        if environment:
            resource[ENVIRONMENT] = environment
        self.provider = TracerProvider(resource=Resource.create(resource), shutdown_on_exit=False)
        forget_client(public_key)
        # adds the SDK's span processor (batches, project filter) to our provider
        self.client = langfuse.Langfuse(
            public_key=public_key,
            secret_key=secret_key,
            base_url=host,
            timeout=max(1, math.ceil(timeout_s)),  # its API client's; spans use ours
            environment=environment,
            tracer_provider=self.provider,
            span_exporter=self.exporter,
        )
        # the spans that processor exports: those of the SDK's tracer, for this key
        self.tracer = self.provider.get_tracer(
            LANGFUSE_TRACER_NAME, langfuse.__version__, attributes={"public_key": public_key}
        )

    @staticmethod
    def trace_id(run_id: str) -> str:
        """The run's trace id: 32 hex digits derived from the run id."""
        return str(langfuse.Langfuse.create_trace_id(seed=run_id))

    def root(
        self,
        trace_id: str,
        name: str,
        start_ns: int,
        attributes: Mapping[str, Any],
        *,
        continued: bool = False,
    ) -> Observation:
        """The root observation of trace ``trace_id``, made as the SDK makes one for a
        given trace id: under a parent that is never sent, and marked as the root
        (unless ``continued``: a later segment of the run, beside its root)."""
        anchor = trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id=int(trace_id, 16),
                span_id=_random_ids.generate_span_id(),
                is_remote=False,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
            )
        )
        marker = {} if continued else {AS_ROOT: True}
        return self.start(anchor, name, start_ns, {**attributes, **marker})

    def start(
        self, parent: trace.Span, name: str, start_ns: int, attributes: Mapping[str, Any]
    ) -> Observation:
        """A new observation under ``parent``, begun at ``start_ns``."""
        span = self.tracer.start_span(
            name,
            context=trace.set_span_in_context(parent),
            start_time=start_ns,
            attributes=attributes,
        )
        return Observation(span, start_ns)

    def close(self, timeout_s: float) -> bool:
        """Send what is queued and stop, within ``timeout_s``: the SDK's shutdown runs
        in a daemon thread (it may wait on the network). False when it did not end in
        time; then later batches are dropped without a request."""
        done = threading.Event()

        def shut_down() -> None:
            try:
                self.client.shutdown()  # flushes the span queue, stops the SDK's threads
                self.provider.shutdown()  # stops the batch processor's thread
            except Exception:  # nothing of it may reach the process
                log.debug("langfuse: shutdown failed", exc_info=True)
            finally:
                done.set()

        threading.Thread(target=shut_down, name="lgp-langfuse-close", daemon=True).start()
        finished = done.wait(max(timeout_s, 0.0))
        if not finished:
            self.exporter.stop()
        forget_client(self.public_key, only=getattr(self.client, "_resources", None))
        return finished
