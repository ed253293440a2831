"""Spans sent as OTLP/HTTP protobuf to one endpoint, each request bounded in time.

The Langfuse tracer hands this exporter to the Langfuse SDK (``span_exporter=``), so
the SDK's batch processor calls it from its own background thread: a run never waits
for it. Unlike the stock OTLP exporter it never retries and never logs: a request
takes at most ``timeout_s`` per phase (connect, send, wait for the answer), and a
failed export becomes one sentence saying what to fix, reported once through
``on_failure``.
"""

from __future__ import annotations

import base64
import gzip
import threading
from collections.abc import Callable, Sequence

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

#: Where Langfuse receives OTLP traces, below its base URL.
TRACES_PATH = "/api/public/otel/v1/traces"


def basic_auth(public_key: str, secret_key: str) -> str:
    """The ``Authorization`` header value for a Langfuse key pair."""
    token = base64.b64encode(f"{public_key}:{secret_key}".encode()).decode("ascii")
    return f"Basic {token}"


def describe_status(host: str, status: int) -> str:
    """What an HTTP error answer to an export means, and what to fix."""
    if status in (401, 403):
        return (
            f"Langfuse at {host} refused the keys (HTTP {status}): check "
            "tracing.langfuse.public_key and secret_key (or LANGFUSE_PUBLIC_KEY and "
            "LANGFUSE_SECRET_KEY); runs go on without traces"
        )
    if status == 404:
        return (
            f"{host} has no Langfuse trace endpoint (HTTP 404 at {TRACES_PATH}): check "
            "tracing.langfuse.base_url (or LANGFUSE_BASE_URL); Langfuse 3 or later is needed"
        )
    return f"Langfuse at {host} answered HTTP {status}: the traces of that batch were dropped"


def describe_error(host: str, error: Exception, timeout_s: float) -> str:
    """What a failed request means (unreachable, too slow...), and what to fix."""
    if isinstance(error, httpx.TimeoutException):
        return (
            f"Langfuse at {host} did not answer within {timeout_s:g} s: check that the "
            "host is up, or raise tracing.langfuse.timeout_s; runs go on without traces"
        )
    return (
        f"cannot reach Langfuse at {host} ({type(error).__name__}: {error}): check "
        "tracing.langfuse.base_url (or LANGFUSE_BASE_URL); runs go on without traces"
    )


class OtlpHttpExporter(SpanExporter):
    """Sends span batches to ``{host}/api/public/otel/v1/traces`` (gzip, Basic auth).

    Args:
        host: The Langfuse base URL (no trailing slash).
        public_key: Langfuse public key.
        secret_key: Langfuse secret key (only ever in the ``Authorization`` header).
        timeout_s: The longest each phase of a request may take.
        on_failure: Called with what went wrong, what to fix, at each failed export.
        headers: Extra request headers (the SDK's identification headers).
    """

    def __init__(
        self,
        host: str,
        *,
        public_key: str,
        secret_key: str,
        timeout_s: float,
        on_failure: Callable[[str], None],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.endpoint = host + TRACES_PATH
        self.timeout_s = timeout_s
        self.exported = 0  # spans the endpoint accepted
        self.failures = 0  # batches that did not reach it
        self._on_failure = on_failure
        self._stopped = threading.Event()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            headers={
                **(headers or {}),
                "Authorization": basic_auth(public_key, secret_key),
                "Content-Type": "application/x-protobuf",
                "Content-Encoding": "gzip",
            },
            trust_env=True,  # HTTPS_PROXY / SSL_CERT_FILE as for any client
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Send one batch; never raises, never retries."""
        if self._stopped.is_set():
            return SpanExportResult.FAILURE
        body = gzip.compress(encode_spans(spans).SerializeToString(), compresslevel=5)
        try:
            response = self._http.post(self.endpoint, content=body)
        except Exception as exc:  # noqa: BLE001 - any failure is reported, none raised
            return self._failed(describe_error(self.host, exc, self.timeout_s))
        if response.status_code >= 300:
            return self._failed(describe_status(self.host, response.status_code))
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def _failed(self, problem: str) -> SpanExportResult:
        self.failures += 1
        if not self._stopped.is_set():
            self._on_failure(problem)
        return SpanExportResult.FAILURE

    def stop(self) -> None:
        """Fail every later export at once (a closing process does not wait for it)."""
        self._stopped.set()

    def shutdown(self) -> None:
        """Stop exporting and close the connections."""
        self._stopped.set()
        self._http.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered here (the batch processor holds the spans)."""
        return True
