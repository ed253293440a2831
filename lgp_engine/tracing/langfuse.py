"""Runs as Langfuse traces (seed R3.1-R3.3), built from the event stream alone.

One trace per run, its id derived from the run id (so its URL is known at once):
trace name = workflow, session = thread, tags ``["langgraph-platform", <environment>,
*tracing.langfuse.tags]``, and on every trace the metadata ``workflow_name``,
``environment``, ``runtime_version``, ``repository``, ``thread_id``, ``run_id``,
``provider``, ``model``, ``cost_model`` (with the fixed-subscription figures when that
model applies). Below its root observation: a span per node (a subgraph's nodes under
the node that runs it), a generation per model call (model, tokens, cost), a tool
observation per tool call, an agent observation per Claude Code invocation.

It goes through the langfuse SDK (v5, OpenTelemetry; see :mod:`.langfuse_sdk`): the
observations are spans in its conventions, and its batch span processor queues the
ended ones for a background thread, which hands them to
:class:`~.otlp.OtlpHttpExporter` (each request bounded by
``tracing.langfuse.timeout_s``). So a run never waits on the network, however slow
or unreachable Langfuse is; :meth:`LangfuseTracer.close` gives the last batch at
most its ``timeout_s``, from a daemon thread, and returns in time either way. What
goes out is sanitized first (:func:`.sanitize.sanitize`); the events are redacted
already, and the secret key only ever travels in the ``Authorization`` header.

The SDK is imported when a tracer is made, not with this module.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._version import __version__
from ..config import CLAUDE_CODE, LangfuseSettings, TracingSettings
from ..errors import ConfigError
from ..events import RunEvent
from .base import RunInfo
from .langfuse_attrs import (
    ENVIRONMENT,
    TRACE_METADATA,
    TRACE_NAME,
    TRACE_SESSION_ID,
    TRACE_TAGS,
    as_json,
    observation,
)
from .sanitize import sanitize

if TYPE_CHECKING:
    from .langfuse_sdk import Observation, Pipeline

log = logging.getLogger("lgp_engine.tracing.langfuse")

DEFAULT_HOST = "https://cloud.langfuse.com"
PLATFORM_TAG = "langgraph-platform"

#: The longest a process that exits without closing the tracer waits for its last traces.
EXIT_FLUSH_S = 0.8
_FINISHED_KEPT = 1024  # ended runs remembered, so that a late event opens no new trace
_ENVIRONMENT_CHARS = re.compile(r"[^a-z0-9_-]+")


# --------------------------------------------------------------------------- settings


def _keys(conf: LangfuseSettings) -> tuple[str, str]:
    """The key pair from the config, else the environment; a ConfigError without."""
    public = (conf.public_key or "").strip() or os.environ.get("LANGFUSE_PUBLIC_KEY", "").strip()
    secret = (conf.secret_key.get_secret_value() if conf.secret_key else "").strip()
    secret = secret or os.environ.get("LANGFUSE_SECRET_KEY", "").strip()
    for value, name, env in (
        (public, "public_key", "LANGFUSE_PUBLIC_KEY"),
        (secret, "secret_key", "LANGFUSE_SECRET_KEY"),
    ):
        if not value:
            raise ConfigError(
                f"Langfuse tracing is on but has no {name.replace('_', ' ')}",
                field=f"tracing.langfuse.{name}",
                code="langfuse_key_missing",
                hint=f"set {env}, or tracing.langfuse.{name} in the config "
                "(or leave langfuse out of tracing.backends)",
            )
    return public, secret


def _host(conf: LangfuseSettings) -> str:
    """The Langfuse base URL, without a trailing slash."""
    url = (
        (conf.base_url or "").strip()
        or os.environ.get("LANGFUSE_BASE_URL", "").strip()
        or os.environ.get("LANGFUSE_HOST", "").strip()  # the SDK's older name
        or DEFAULT_HOST
    ).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"Langfuse base URL {url!r} is not an http(s) URL",
            field="tracing.langfuse.base_url",
            code="langfuse_base_url",
            hint=f"e.g. {DEFAULT_HOST} or http://localhost:3000 (or set LANGFUSE_BASE_URL)",
        )
    return url


def langfuse_environment(environment: str) -> str | None:
    """``environment`` as Langfuse accepts one (lowercase ``[a-z0-9_-]``, at most 40
    characters, not starting with ``langfuse``), or None when nothing is left."""
    name = _ENVIRONMENT_CHARS.sub("-", environment.lower()).strip("-")[:40]
    if name.startswith("langfuse"):
        name = ("lgp-" + name)[:40]
    return name or None


class _Once:
    """Forwards the first problem to ``report``; the later ones only to the debug log."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self._report = report
        self._lock = threading.Lock()
        self.reported: str | None = None

    def __call__(self, problem: str) -> None:
        with self._lock:
            first = self.reported is None
            if first:
                self.reported = problem
        if not first:
            log.debug("langfuse: %s", problem)
            return
        try:
            self._report(problem)
        except Exception:  # noqa: BLE001 - reporting must not fail the exporter thread
            log.warning("langfuse: %s", problem)


# --------------------------------------------------------------------------- a run


def _ns(event: RunEvent) -> int:
    return int(event.ts * 1e9)


def _ms_ns(ms: Any) -> int:
    return int(float(ms or 0.0) * 1e6)


def _text(value: Any, default: str = "?") -> str:
    return str(value) if value not in (None, "") else default


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _key(data: Mapping[str, Any], node: Any) -> tuple[str, ...]:
    """A node's place: its subgraph path, then its name."""
    path = tuple(str(p) for p in data.get("path") or ())
    return (*path, str(node)) if node else path


def _usage_details(call: Mapping[str, Any]) -> dict[str, int]:
    details = {
        "input": int(call.get("input_tokens") or 0),
        "output": int(call.get("output_tokens") or 0),
        "total": int(call.get("total_tokens") or 0),
    }
    for ours, theirs in (
        ("cache_read_tokens", "input_cache_read"),
        ("cache_write_tokens", "input_cache_creation"),
    ):
        if call.get(ours):
            details[theirs] = int(call[ours])
    return details


def _cost_details(call: Mapping[str, Any]) -> dict[str, float] | None:
    """The call's cost (None when unpriced: Langfuse may price it from its own table)."""
    if call.get("cost_model") == "unpriced":
        return None
    return {"total": float(call.get("cost_usd") or 0.0)}


def _subscription(usage: Any) -> dict[str, Any]:
    """The fixed-subscription figures of a run's usage, if it has them."""
    sub = _mapping(_mapping(usage).get("subscription"))
    if not sub:
        return {}
    keys = ("monthly_cost", "workflow_invocations", "cost_per_invocation")
    return {"cost_model": str(sub.get("cost_model") or "fixed_subscription")} | {
        k: sub[k] for k in keys if k in sub
    }


@dataclass
class _Trace:
    """What is open of one run's trace."""

    info: RunInfo
    trace_id: str
    attributes: dict[str, Any]  # the trace's name, session, tags: on every observation
    root: Observation
    nodes: dict[str, Observation] = field(default_factory=dict)  # open nodes, by task id
    by_key: dict[tuple[str, ...], list[Observation]] = field(default_factory=dict)  # by place
    tools: dict[str, Observation] = field(default_factory=dict)  # open tool calls
    agents: dict[str, Observation] = field(default_factory=dict)  # open Claude Code calls
    agent_runs: dict[tuple[str, ...], list[Observation]] = field(default_factory=dict)  # ended
    providers: dict[str, None] = field(default_factory=dict)  # ordered sets of what the
    models: dict[str, None] = field(default_factory=dict)  # run's model calls used
    cost_models: dict[str, None] = field(default_factory=dict)

    def parent(self, key: tuple[str, ...]) -> Observation:
        """The open span of the node at ``key`` (path + name), else of its nearest
        open ancestor, else the root."""
        while key:
            stack = self.by_key.get(key)
            if stack:
                return stack[-1]
            key = key[:-1]
        return self.root

    def forget_node(self, key: tuple[str, ...], node: Observation) -> None:
        stack = self.by_key.get(key, [])
        if node in stack:
            stack.remove(node)
        if not stack:
            self.by_key.pop(key, None)

    def note_call(self, call: Mapping[str, Any]) -> None:
        for seen, name in (
            (self.providers, "provider"),
            (self.models, "model"),
            (self.cost_models, "cost_model"),
        ):
            if call.get(name):
                seen[str(call[name])] = None

    def still_open(self) -> Iterator[Observation]:
        """Every observation not ended yet but the root, innermost kinds first."""
        yield from self.tools.values()
        yield from self.agents.values()
        yield from reversed(list(self.nodes.values()))


# --------------------------------------------------------------------------- the tracer

# the handler of each event type (the others do not show in a trace)
_HANDLERS = {
    "run.started": "_run_started",
    "node.started": "_node_started",
    "node.finished": "_node_finished",
    "tool.called": "_tool_called",
    "tool.result": "_tool_result",
    "tool.denied": "_note",
    "agent.repair": "_note",
    "agent.fallback": "_note",
    "agent.init": "_agent_init",
    "agent.tool_use": "_agent_tool_use",
    "agent.tool_result": "_agent_tool_result",
    "agent.result": "_agent_result",
}
_AGENT_RESULT_KEYS = (
    "session_id",
    "subtype",
    "kind",
    "turns",
    "duration_ms",
    "duration_api_ms",
    "usage",
    "cost_usd",
    "total_cost_usd",
    "session_cost_usd",
    "cost_model",
    "model",
    "tool_calls",
    "tools",
    "tool_errors",
    "permission_denials",
)
_SANITIZED = ("input", "output", "status_message")  # the free texts of an observation
_STATUS = {
    "run.completed": "completed",
    "run.failed": "failed",
    "run.cancelled": "cancelled",
    "interrupt": "interrupted",
}


#: How often the worker thread turns what runs noted into observations.
WORK_EVERY_S = 0.05


class LangfuseTracer:
    """Sends each run to Langfuse as one trace (see the module docstring).

    Args:
        settings: ``tracing`` of the config (``langfuse``: keys, host, tags, timeout;
            ``max_length``: longer strings are cut before they leave the process).
        environment: The environment runs are in (a tag and metadata of every trace).
        on_problem: Told, once, what went wrong and what to fix (unreachable host,
            refused keys, a host too slow...). Runs go on regardless.

    Raises:
        ConfigError: No public or secret key (in the config or the environment), or
            a base URL that is not an http(s) URL.
    """

    name = "langfuse"
    remote = True  # closes after the local tracers (it may use all that is left)

    def __init__(
        self,
        settings: TracingSettings,
        *,
        environment: str,
        on_problem: Callable[[str], None],
    ) -> None:
        conf = settings.langfuse
        public_key, secret_key = _keys(conf)
        self.host = _host(conf)
        self.environment = environment
        self.timeout_s = conf.timeout_s
        self._extra_tags = list(conf.tags)
        self._max_length = settings.max_length
        self._langfuse_environment = langfuse_environment(environment)
        self._problem = _Once(on_problem)
        self._lock = threading.RLock()
        self._runs: dict[str, _Trace] = {}
        self._finished: OrderedDict[str, str] = OrderedDict()  # run id -> trace id
        self._closed = False
        from .langfuse_sdk import Pipeline

        self._sdk: Pipeline = Pipeline(
            self.host,
            public_key,
            secret_key,
            environment=self._langfuse_environment,
            timeout_s=conf.timeout_s,
            on_failure=self._problem,
        )
        self._pending: list[tuple[str, RunInfo, RunEvent | None, int]] = []
        self._pending_lock = threading.Lock()
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._work, name="lgp-langfuse", daemon=True)
        self._worker.start()
        atexit.register(self._close_at_exit)

    # -- the Tracer protocol ---------------------------------------------------------
    # A run only notes what happened (with when); a worker thread turns it into spans
    # every WORK_EVERY_S, with the events' own times, so building observations and
    # attributes costs the run nothing on its own thread.

    def start_run(self, run: RunInfo) -> None:
        """Open the run's trace (its root observation starts now)."""
        self._defer("start", run, None)

    def event(self, run: RunInfo, event: RunEvent) -> None:
        """Add what ``event`` tells to the run's trace (never waits on the network)."""
        if event.type in _HANDLERS:
            self._defer("event", run, event)

    def finish_run(self, run: RunInfo, event: RunEvent) -> str | None:
        """End the run's trace with ``event``; its URL (``<host>/trace/<trace id>``,
        known from the run id alone)."""
        if self._stopping.is_set():
            return None  # closed: no trace will be sent
        self._defer("finish", run, event)
        return self.trace_url(self._sdk.trace_id(run.run_id))

    def _defer(self, what: str, run: RunInfo, event: RunEvent | None) -> None:
        with self._pending_lock:
            if not self._stopping.is_set():
                self._pending.append((what, run, event, time.time_ns()))

    def _work(self) -> None:
        while not self._stopping.wait(WORK_EVERY_S):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        with self._pending_lock:
            batch, self._pending = self._pending, []
        for what, run, event, now in batch:
            try:
                if what == "start":
                    self._start_run(run, now)
                elif what == "event" and event is not None:
                    self._event(run, event, now)
                elif event is not None:
                    self._finish_run(run, event, now)
            except Exception as exc:  # noqa: BLE001 - a trace problem never reaches a run
                self._problem(f"could not build the trace of run {run.run_id}: {exc}")

    def _start_run(self, run: RunInfo, now: int) -> None:
        """A run (re)starts. A run resumed after an interrupt keeps its id and trace:
        this segment is a top-level observation of the same trace, beside the root
        (never a second root, which would overwrite the trace's input and output)."""
        with self._lock:
            continued = self._finished.pop(run.run_id, None) is not None
            if run.run_id not in self._runs:
                self._runs[run.run_id] = self._open_trace(
                    run, now, continued=continued or run.kind == "resume"
                )

    def _event(self, run: RunInfo, event: RunEvent, now: int) -> None:
        handler = _HANDLERS[event.type]
        with self._lock:
            trace = self._trace_of(run, now)
            if trace is not None:
                getattr(self, handler)(trace, event)

    def _finish_run(self, run: RunInfo, event: RunEvent, now: int) -> None:
        """A run ends once: a second end changes nothing."""
        with self._lock:
            if run.run_id in self._finished:
                return
            trace = self._trace_of(run, now)
            if trace is None:
                return
            del self._runs[run.run_id]
            self._finished[run.run_id] = trace.trace_id
            while len(self._finished) > _FINISHED_KEPT:
                self._finished.popitem(last=False)
            self._end_trace(trace, event)

    def close(self, timeout_s: float) -> None:
        """End the traces of unfinished runs and send what is queued, within
        ``timeout_s`` whatever the host does (then what is left is dropped)."""
        started = time.monotonic()
        self._stopping.set()
        self._worker.join(timeout_s)
        timeout_s = max(timeout_s - (time.monotonic() - started), 0.0)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            left, self._runs = list(self._runs.values()), {}
            now = time.time_ns()
            for trace in left:
                self._abandon(trace, now)
        atexit.unregister(self._close_at_exit)
        if not self._sdk.close(timeout_s):
            self._problem(
                f"the last traces could not be sent to Langfuse at {self.host} within "
                f"{timeout_s:.1f} s, and were dropped: check that the host is up"
            )

    # -- helpers ---------------------------------------------------------------------

    def trace_url(self, trace_id: str) -> str:
        """Where the trace opens in Langfuse (it redirects to the trace's project)."""
        return f"{self.host}/trace/{trace_id}"

    @property
    def export_failures(self) -> int:
        """Batches that did not reach Langfuse so far (for /metrics)."""
        return self._sdk.exporter.failures

    def _close_at_exit(self) -> None:
        """A process leaving without closing the tracer: the same close, on a budget
        that leaves the interpreter's own teardown (0.1-0.2 s) within a second."""
        self.close(min(self.timeout_s, EXIT_FLUSH_S))

    def _clean(self, value: Any) -> Any:
        return sanitize(value, self._max_length)

    def _observe(
        self, *, metadata: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """The attributes of an observation (``fields``: see
        :func:`.langfuse_attrs.observation`), sanitized in one pass: what is too long
        is cut, and the full length of a cut input, output or status message goes
        into its metadata (``output_full_length``...)."""
        texts = {k: fields.pop(k) for k in _SANITIZED if fields.get(k) is not None}
        meta = {k: v for k, v in (metadata or {}).items() if v is not None}
        clean = self._clean({**texts, "metadata": meta}) if texts or meta else {}
        meta = clean.pop("metadata", {})
        for key in [k for k in clean if k.endswith("_full_length")]:
            meta[key] = clean.pop(key)
        return observation(metadata=meta, **clean, **fields)

    def _trace_of(self, run: RunInfo, now: int) -> _Trace | None:
        """The run's open trace, opened (at ``now``, ns) if it is not yet (None once
        it ended, or the tracer closed)."""
        trace = self._runs.get(run.run_id)
        if trace is None and not self._closed and run.run_id not in self._finished:
            trace = self._runs[run.run_id] = self._open_trace(run, now)
        return trace

    def _trace_metadata(self, run: RunInfo) -> dict[str, Any]:
        extra = {k: v for k, v in run.extra.items() if isinstance(k, str)}
        return {
            **extra,
            "workflow_name": run.workflow,
            "environment": run.environment or self.environment,
            "runtime_version": run.runtime_version or __version__,
            "repository": run.repository,
            "thread_id": run.thread_id,
            "run_id": run.run_id,
            "run_kind": run.kind,
        }

    def _trace_attributes(self, metadata: Mapping[str, Any]) -> dict[str, str]:
        """Trace metadata as attributes, one per key (None written too, as null: every
        trace has every key)."""
        clean = self._clean(dict(metadata))
        return {f"{TRACE_METADATA}.{k}": as_json(v) for k, v in clean.items()}

    def _open_trace(self, run: RunInfo, now: int, *, continued: bool = False) -> _Trace:
        """The run's trace: its root observation holds the trace's metadata; every
        observation, the root too, its name, session, tags and environment."""
        tags = [PLATFORM_TAG, run.environment or self.environment, *self._extra_tags]
        attributes: dict[str, Any] = {
            TRACE_NAME: run.workflow,
            TRACE_SESSION_ID: run.thread_id,
            TRACE_TAGS: list(dict.fromkeys(t for t in tags if t)),
        }
        if self._langfuse_environment:
            attributes[ENVIRONMENT] = self._langfuse_environment
        trace_id = self._sdk.trace_id(run.run_id)
        if continued:
            name = f"{run.workflow} (resumed)"
            root_attributes = {**attributes, **observation(kind="span")}
        else:
            name = run.workflow
            metadata = self._trace_attributes(self._trace_metadata(run))
            root_attributes = {**attributes, **metadata, **observation(kind="span")}
        root = self._sdk.root(trace_id, name, now, root_attributes, continued=continued)
        return _Trace(run, trace_id, attributes, root)

    def _start(
        self,
        trace: _Trace,
        parent: Observation,
        name: str,
        start_ns: int,
        **fields: Any,
    ) -> Observation:
        """A new observation (``fields``: see :meth:`_observe`)."""
        attributes = {**trace.attributes, **self._observe(**fields)}
        return self._sdk.start(parent.span, name, start_ns, attributes)

    # -- events ----------------------------------------------------------------------

    def _run_started(self, trace: _Trace, event: RunEvent) -> None:
        d = event.data
        metadata = dict(
            kind=trace.info.kind,
            checkpoint_id=d.get("checkpoint_id"),
            resumed=d.get("resumed"),
            replay_of=d.get("replay_of"),
            fork_of=d.get("fork_of"),
            as_node=d.get("as_node"),
        )
        trace.root.span.set_attributes(self._observe(input=d.get("input"), metadata=metadata))

    def _node_started(self, trace: _Trace, event: RunEvent) -> None:
        d = event.data
        node = _text(d.get("node") or event.node)
        key = _key(d, node)
        span = self._start(
            trace,
            trace.parent(key[:-1]),
            node,
            _ns(event),
            kind="span",
            metadata={"path": list(key[:-1]) or None, "task_id": d.get("task_id")},
        )
        trace.nodes[_text(d.get("task_id"), f"{node}@{event.seq}")] = span
        trace.by_key.setdefault(key, []).append(span)

    def _node_finished(self, trace: _Trace, event: RunEvent) -> None:
        d = event.data
        node = _text(d.get("node") or event.node)
        key = _key(d, node)
        end = _ns(event)
        span = trace.nodes.pop(_text(d.get("task_id"), ""), None)
        if span is None:  # its start was not seen: as long as it says it took
            start = end - _ms_ns(d.get("duration_ms"))
            span = self._start(trace, trace.parent(key[:-1]), node, start, kind="span")
        trace.forget_node(key, span)
        error = _mapping(d.get("error"))
        calls = list(_mapping(d.get("usage")).get("llm_calls") or ())
        self._generations(trace, span, key, calls, end)
        message = f"{error.get('type')}: {error.get('message')}" if error else None
        span.end(
            end,
            self._observe(
                output=d.get("update"),
                metadata={"interrupts": d.get("interrupts"), "error_kind": error.get("kind")},
                level="ERROR" if error else None,
                status_message=message,
            ),
        )

    def _generations(
        self,
        trace: _Trace,
        node: Observation,
        key: tuple[str, ...],
        calls: list[Any],
        end: int,
    ) -> None:
        """A generation per model call of a node: one after the other from the node's
        start (a Claude Code call over its agent observation)."""
        at = node.start_ns
        agent_runs = trace.agent_runs.pop(key, [])
        for call in calls:
            if not isinstance(call, Mapping):
                continue
            trace.note_call(call)
            parent, start = node, at
            stop = min(at + _ms_ns(call.get("duration_ms")), end)
            if call.get("provider") == CLAUDE_CODE and agent_runs:
                parent = agent_runs.pop(0)
                start, stop = parent.start_ns, parent.end_ns or stop
            else:
                at = stop
            generation = self._start(
                trace,
                parent,
                f"{_text(call.get('provider'))}:{_text(call.get('model'))}",
                start,
                kind="generation",
                model=call.get("model"),
                usage_details=_usage_details(call),
                cost_details=_cost_details(call),
                metadata=dict(
                    provider=call.get("provider"),
                    cost_model=call.get("cost_model"),
                    duration_ms=call.get("duration_ms"),
                ),
            )
            generation.end(stop)

    def _tool_called(self, trace: _Trace, event: RunEvent) -> None:
        d = event.data
        name = f"{_text(d.get('server'))}.{_text(d.get('tool'))}"
        span = self._start(
            trace,
            trace.parent(_key(d, d.get("node") or event.node)),
            name,
            _ns(event),
            kind="tool",
            input=d.get("arguments"),
            metadata=dict(server=d.get("server"), tool=d.get("tool")),
        )
        trace.tools[_text(d.get("call_id"), name)] = span

    def _tool_result(self, trace: _Trace, event: RunEvent) -> None:
        d = event.data
        name = f"{_text(d.get('server'))}.{_text(d.get('tool'))}"
        end = _ns(event)
        span = trace.tools.pop(_text(d.get("call_id"), name), None)
        if span is None:
            parent = trace.parent(_key(d, d.get("node") or event.node))
            start = end - _ms_ns(d.get("duration_ms"))
            span = self._start(trace, parent, name, start, kind="tool")
        span.end(
            end,
            self._observe(
                output=d.get("text"),
                metadata=dict(size=d.get("size"), duration_ms=d.get("duration_ms")),
                level="ERROR" if d.get("is_error") else None,
            ),
        )

    def _note(self, trace: _Trace, event: RunEvent) -> None:
        """A denied tool call, a repaired answer, a fallback: an event in the trace."""
        d = event.data
        data = {k: v for k, v in d.items() if k not in ("node", "path")}
        note = self._start(
            trace,
            trace.parent(_key(d, d.get("node") or event.node)),
            event.type,
            _ns(event),
            kind="event",
            input=data,
            level="DEFAULT" if event.type == "agent.repair" else "WARNING",
        )
        note.end(note.start_ns)

    def _agent_init(self, trace: _Trace, event: RunEvent) -> None:
        d = event.data
        span = self._start(
            trace,
            trace.parent(_key(d, d.get("node") or event.node)),
            f"claude_code:{_text(d.get('role'))}",
            _ns(event),
            kind="agent",
            metadata=dict(
                session_id=d.get("session_id"),
                model=d.get("model"),
                repository=d.get("repository"),
                via=d.get("via"),
                resumed=d.get("resumed"),
                forked=d.get("forked"),
                permission_mode=d.get("permission_mode"),
                tools=d.get("tools"),
                mcp_servers=d.get("mcp_servers"),
            ),
        )
        trace.agents[_text(d.get("session_id"))] = span

    def _agent_tool_use(self, trace: _Trace, event: RunEvent) -> None:
        d = event.data
        parent = trace.agents.get(_text(d.get("session_id")))
        if parent is None:
            parent = trace.parent(_key(d, d.get("node") or event.node))
        span = self._start(
            trace,
            parent,
            _text(d.get("tool")),
            _ns(event),
            kind="tool",
            input=d.get("input"),
        )
        trace.tools[f"agent:{_text(d.get('tool_use_id'))}"] = span

    def _agent_tool_result(self, trace: _Trace, event: RunEvent) -> None:
        d = event.data
        span = trace.tools.pop(f"agent:{_text(d.get('tool_use_id'))}", None)
        if span is not None:
            span.end(
                _ns(event),
                self._observe(
                    output=d.get("text"),
                    metadata=dict(size=d.get("size")),
                    level="ERROR" if d.get("is_error") else None,
                ),
            )

    def _agent_result(self, trace: _Trace, event: RunEvent) -> None:
        d = event.data
        key = _key(d, d.get("node") or event.node)
        end = _ns(event)
        span = trace.agents.pop(_text(d.get("session_id")), None)
        if span is None:
            name = f"claude_code:{_text(d.get('role'))}"
            start = end - _ms_ns(d.get("duration_ms"))
            span = self._start(trace, trace.parent(key), name, start, kind="agent")
        failed = bool(d.get("is_error"))
        span.end(
            end,
            self._observe(
                output=d.get("text"),
                metadata={k: d.get(k) for k in _AGENT_RESULT_KEYS},
                level="ERROR" if failed else None,
                status_message=_text(d.get("kind"), "failed") if failed else None,
            ),
        )
        trace.agent_runs.setdefault(key, []).append(span)

    # -- the end ---------------------------------------------------------------------

    def _end_trace(self, trace: _Trace, event: RunEvent) -> None:
        end = _ns(event)
        unfinished = observation(level="WARNING", status_message="unfinished when the run ended")
        for span in list(trace.still_open()):
            span.end(end, unfinished)
        usage = _mapping(event.data.get("usage"))
        outcome = self._trace_attributes(self._outcome(trace, usage))
        trace.root.end(end, {**outcome, **self._ending(event, usage)})

    def _abandon(self, trace: _Trace, end: int) -> None:
        """End the trace of a run still going when the tracer closes."""
        unfinished = observation(
            level="WARNING", status_message="unfinished when the process stopped"
        )
        for span in list(trace.still_open()):
            span.end(end, unfinished)
        outcome = self._trace_attributes(self._outcome(trace, {}))
        trace.root.end(end, {**outcome, **unfinished})

    def _outcome(self, trace: _Trace, usage: Mapping[str, Any]) -> dict[str, Any]:
        """The trace metadata known at the end: the run's providers, models and cost
        model, and its fixed-subscription figures if it has them."""
        extra = trace.info.extra
        cost_models = list(usage.get("cost_models") or trace.cost_models)
        outcome: dict[str, Any] = {
            "provider": ",".join(trace.providers) or extra.get("provider") or "none",
            "model": ",".join(trace.models) or extra.get("model") or "none",
            "cost_model": ",".join(map(str, cost_models)) or extra.get("cost_model") or "none",
        }
        return outcome | _subscription(usage)

    def _ending(self, event: RunEvent, usage: Mapping[str, Any]) -> dict[str, Any]:
        """The root observation's output, level and status for the run's last event
        (never a failure's traceback: it stays local)."""
        d = event.data
        fields: dict[str, Any] = {}
        metadata = dict(
            status=_STATUS.get(event.type, event.type),
            duration_ms=d.get("duration_ms"),
            usage=dict(usage) or None,
        )
        if event.type in ("run.completed", "interrupt"):
            fields["output"] = d.get("output")
        if event.type == "interrupt":
            metadata |= dict(interrupts=d.get("interrupts"), node=d.get("node"))
        elif event.type == "run.failed":
            fields["level"] = "ERROR"
            error = f"{_text(d.get('error_type'), 'Error')}: {_text(d.get('message'), '')}"
            fields["status_message"] = error
            keys = ("kind", "node", "error_type", "provider", "model", "role", "attempts")
            metadata |= {k: d.get(k) for k in keys}
        elif event.type == "run.cancelled":
            fields["level"] = "WARNING"
            fields["status_message"] = _text(d.get("reason"), "cancelled")
        return self._observe(metadata=metadata, **fields)
