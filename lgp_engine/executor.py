"""Run a workflow on a thread and report what happens as :class:`RunEvent` s.

:class:`Executor` wraps a loaded workflow and a checkpoint store. ``stream`` (sync)
and ``astream`` (async) yield events while LangGraph runs; ``invoke`` / ``ainvoke``
consume them and return a :class:`RunResult`. A failing node never escapes as an
exception: it ends the run with a ``run.failed`` event naming the node and carrying
the traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import sync_bridge
from .checkpointing import CheckpointStore
from .events import (
    EVENT_TYPES,
    BreakpointData,
    CheckpointData,
    CustomData,
    EventData,
    EventType,
    InterruptData,
    InterruptItem,
    MessageDeltaData,
    NodeCachedData,
    NodeError,
    NodeFinishedData,
    NodeStartedData,
    RunCancelledData,
    RunCompletedData,
    RunEvent,
    RunFailedData,
    RunStartedData,
    UsageTotals,
)
from .jsonable import to_jsonable
from .loader import LoadedWorkflow
from .providers.base import ProviderError, sum_usage
from .providers.pricing import PriceTable
from .providers.redact import Redactor, secrets_from_env
from .providers.replay import RECORDED_USAGE, RECORDING
from .providers.runtime import MARK, SCOPE_KEY, AgentRuntime
from .providers.settings import LOCAL_KINDS
from .run_config import check_owned_keys, check_run_config, merge_run_config
from .status import STATUS_FOR_EVENT, RunStatus

STREAM_MODES = ["updates", "tasks", "values", "custom", "messages", "checkpoints"]


@dataclass
class RunResult:
    """How a run ended, collected from its events."""

    run_id: str
    thread_id: str
    status: str  # completed | failed | interrupted | cancelled
    output: Any = None
    error: dict[str, Any] | None = None
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    duration_ms: float = 0.0
    events: list[RunEvent] = field(default_factory=list)


def new_thread_id() -> str:
    """A fresh thread id."""
    return str(uuid.uuid4())


def new_run_id() -> str:
    """A fresh run id."""
    return str(uuid.uuid4())


class _Translator:
    """Turns LangGraph v2 stream parts into numbered RunEvents for one run."""

    def __init__(
        self,
        run_id: str,
        thread_id: str,
        seq: int = 0,
        redact: Redactor | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self.seq = seq
        self.redact = redact or Redactor()
        self.prices = prices or PriceTable()
        self.calls: list[dict[str, Any]] = []  # usage of every model call of the run
        #: The recorded usage of the calls a recorded replay answered (not spent again).
        self.recorded: list[dict[str, Any]] = []
        self._replayed_ids: set[str] = set()  # replies a recorded replay gave (not model calls)
        #: Hears each call the run records (see :mod:`.providers.replay`), stamped with
        #: its node, path and the seq of the event before it (``after_seq``).
        self.on_record: Callable[[dict[str, Any]], None] | None = None
        self._task_calls: dict[str, list[dict[str, Any]]] = {}
        self.started = time.perf_counter()
        self.output: Any = None
        self.interrupted = False
        self.interrupts: list[InterruptItem] = []
        self.interrupt_node: str | None = None
        self.failed_node: str | None = None
        self._task_starts: dict[str, float] = {}
        self._task_names: dict[str, tuple[str, tuple[str, ...]]] = {}
        #: Nodes of the top graph with a cache policy: their runs are cache misses.
        self.cached_nodes: frozenset[str] = frozenset()
        #: The top graph's static breakpoints (the run's and those compiled in).
        self.break_before: frozenset[str] = frozenset()
        self.break_after: frozenset[str] = frozenset()
        self._step_ran: list[str] = []  # top-graph nodes that ran since its last checkpoint
        self._last_step: list[str] = []  # those of the step its last checkpoint ended
        self._next: list[str] = []  # what its last checkpoint said runs next

    def event(self, type_: EventType, data: EventData, node: str | None = None) -> RunEvent:
        self.seq += 1
        return RunEvent(self.run_id, self.seq, type_, self.thread_id, self.redact(data), node)

    def usage(self) -> UsageTotals | None:
        """The run's usage so far (None when no model was called)."""
        return sum_usage(self.calls) if self.calls else None

    def _count_chat_model(self, chunk: Any, meta: dict[str, Any], usage: Any) -> None:
        """Count a model call of a node that is not an agent node (agent nodes report
        their own): the usage its chat model reported on the message, priced by model."""
        from .providers.base import Usage
        from .providers.runtime import task_id_of

        details = usage.get("input_token_details") or {}
        provider = str(meta.get("ls_provider") or "") or None
        call = Usage(
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            total_tokens=int(usage.get("total_tokens") or 0),
            cache_read_tokens=int(details.get("cache_read") or 0),
            cache_write_tokens=int(details.get("cache_creation") or 0),
            model=(getattr(chunk, "response_metadata", None) or {}).get("model_name")
            or meta.get("ls_model_name"),
            provider=provider,
        )
        priced = self.prices.price_usage(call, local=provider in LOCAL_KINDS).to_dict()
        self.calls.append({**priced, "node": meta.get("langgraph_node")})
        task = task_id_of({"metadata": meta})
        self._task_calls.setdefault(str(task), []).append(priced)

    def _report(self, part: dict[str, Any], path: list[str]) -> RunEvent | None:
        """A report of an agent node (tool calls, repairs, usage) as its event."""
        kind = part[MARK]
        node = part.get("node")
        data = dict(part.get("data") or {})
        if kind == "usage":
            self.calls.append({**data, "node": node})
            self._task_calls.setdefault(str(part.get("task_id")), []).append(data)
            return None
        if kind == RECORDING:
            if self.on_record is not None:
                self.on_record({**data, "node": node, "path": path, "after_seq": self.seq})
            return None
        if kind == RECORDED_USAGE:
            reply = data.pop("reply_id", None)
            if reply:  # LangGraph streams it from the node's output: not a model call
                self._replayed_ids.add(str(reply))
            self.recorded.append({**data, "node": node})
            return None
        if kind not in EVENT_TYPES:
            return None
        return self.event(kind, {"node": node, "path": path, **data}, node)  # type: ignore[arg-type]

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)

    def translate(self, part: dict[str, Any]) -> RunEvent | None:
        kind = part["type"]
        ns: tuple[str, ...] = part.get("ns") or ()
        data = part["data"]
        if kind == "values":
            if not ns:
                self.output = data
            return None
        if kind == "tasks":
            return self._task(ns, data)
        if kind == "updates":
            if not ns and isinstance(data, dict) and "__interrupt__" in data:
                self.interrupted = True
                for item in data["__interrupt__"]:
                    found = InterruptItem(
                        id=getattr(item, "id", None), value=to_jsonable(item.value)
                    )
                    schema = getattr(item, "response_schema", None)
                    if schema is not None:  # interrupt(..., response_schema=...)
                        found["response_schema"] = to_jsonable(schema)
                    self.interrupts.append(found)
            if isinstance(data, dict) and (data.get("__metadata__") or {}).get("cached"):
                return self._cached(ns, data)
            return None
        path = _path(ns)
        if kind == "custom":
            if isinstance(data, dict) and MARK in data:
                return self._report(data, path)
            # LangGraph does not say which node wrote it: the one task running in its
            # namespace did (with several in parallel it stays unattributed)
            running = {n for n, task_ns in self._task_names.values() if task_ns == ns}
            node = running.pop() if len(running) == 1 else None
            return self.event("custom", CustomData(value=to_jsonable(data), path=path), node)
        if kind == "messages":
            chunk, meta = data
            node = meta.get("langgraph_node") if isinstance(meta, dict) else None
            usage = getattr(chunk, "usage_metadata", None)
            replayed = getattr(chunk, "id", None) in self._replayed_ids
            if usage and isinstance(meta, dict) and not meta.get("lgp_agent") and not replayed:
                self._count_chat_model(chunk, meta, usage)  # a hand-written node's model
            delta = MessageDeltaData(
                content=to_jsonable(getattr(chunk, "content", chunk)),
                id=getattr(chunk, "id", None),
                message_type=getattr(chunk, "type", None),
                usage=to_jsonable(usage) if usage else None,
                path=path,
            )
            return self.event("message.delta", delta, node)
        if kind == "checkpoints":
            if not ns:  # where a breakpoint stops is told by the top graph's steps
                self._last_step, self._step_ran = self._step_ran, []
                self._next = [str(n) for n in data.get("next") or ()]
            conf = (data.get("config") or {}).get("configurable", {})
            parent = (data.get("parent_config") or {}).get("configurable") or {}
            meta = data.get("metadata") or {}
            saved = CheckpointData(
                checkpoint_id=conf.get("checkpoint_id"),
                parent_id=parent.get("checkpoint_id"),
                step=meta.get("step"),
                source=meta.get("source"),
                next=list(data.get("next") or ()),
                path=path,
            )
            return self.event("checkpoint", saved)
        return None

    def _cached(self, ns: tuple[str, ...], data: dict[str, Any]) -> RunEvent | None:
        """A node served from the node cache (LangGraph reports it as an update with
        ``__metadata__.cached``, and no task events)."""
        path = _path(ns)
        for name, update in data.items():
            if name == "__metadata__":
                continue
            served = NodeCachedData(node=name, path=path, update=to_jsonable(update))
            # LangGraph announced the task (node.started); this event ends it, when it
            # is the only one of that node waiting (a Send fan-out runs several at once,
            # and which of them was served is not said: those stay open until the end)
            waiting = [t for t, n in self._task_names.items() if n == (name, ns)]
            task_id = waiting[0] if len(waiting) == 1 else None
            if task_id is not None:
                del self._task_names[task_id]
                self._task_starts.pop(task_id, None)
                served["task_id"] = task_id
            return self.event("node.cached", served, name)
        return None

    def _task(self, ns: tuple[str, ...], data: dict[str, Any]) -> RunEvent | None:
        name = str(data.get("name"))
        task_id = str(data.get("id"))
        path = _path(ns)
        if "input" in data:
            self._task_starts[task_id] = time.perf_counter()
            self._task_names[task_id] = (name, ns)
            started_data = NodeStartedData(
                node=name, path=path, task_id=task_id, triggers=list(data.get("triggers") or ())
            )
            return self.event("node.started", started_data, name)
        started = self._task_starts.pop(task_id, None)
        self._task_names.pop(task_id, None)
        duration = round((time.perf_counter() - started) * 1000, 3) if started else None
        error = data.get("error")
        interrupts = data.get("interrupts") or []
        if error is not None and self.failed_node is None:
            self.failed_node = name
        if interrupts and self.interrupt_node is None:
            self.interrupt_node = name
        if not ns and error is None and not interrupts:
            self._step_ran.append(name)
        payload = NodeFinishedData(
            node=name,
            path=path,
            task_id=task_id,
            duration_ms=duration,
            update=to_jsonable(data.get("result")),
        )
        calls = self._task_calls.pop(task_id, None)
        if calls:
            payload["usage"] = sum_usage(calls)
            payload["usage"]["llm_calls"] = calls
        if error is not None:
            payload["error"] = NodeError(type=type(error).__name__, message=str(error))
            if isinstance(error, ProviderError):
                payload["error"]["kind"] = error.kind
        if interrupts:
            payload["interrupts"] = to_jsonable(interrupts)
        if not ns and name in self.cached_nodes and error is None and not interrupts:
            payload["cache"] = "miss"
        return self.event("node.finished", payload, name)

    def breakpoint(self) -> BreakpointData | None:
        """The static breakpoint the run stopped at (None: it did not stop at one).
        LangGraph checks ``interrupt_after`` when a step ends, then ``interrupt_before``
        when the next starts, both once its checkpoint is written."""
        if self.interrupts:
            return None
        after = [n for n in self._last_step if n in self.break_after]
        if after:
            return BreakpointData(when="after", nodes=after)
        before = [n for n in self._next if n in self.break_before]
        return BreakpointData(when="before", nodes=before) if before else None

    def finish(self) -> RunEvent:
        if self.interrupted:
            stop = self.breakpoint()
            node = self.interrupt_node or (stop["nodes"][0] if stop else None)
            stopped = InterruptData(
                interrupts=self.interrupts,
                node=node,
                output=to_jsonable(self.output),
                duration_ms=self.elapsed_ms(),
            )
            if stop is not None:
                stopped["breakpoint"] = stop
            if self.calls:
                stopped["usage"] = sum_usage(self.calls)
            if self.recorded:
                stopped["recorded_usage"] = sum_usage(self.recorded)
            return self.event("interrupt", stopped, node)
        done = RunCompletedData(output=to_jsonable(self.output), duration_ms=self.elapsed_ms())
        if self.calls:
            done["usage"] = sum_usage(self.calls)
        if self.recorded:
            done["recorded_usage"] = sum_usage(self.recorded)
        return self.event("run.completed", done)

    def failed(self, exc: BaseException) -> RunEvent:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        failure = RunFailedData(
            error_type=type(exc).__name__,
            message=str(exc),
            traceback=tb,
            node=self.failed_node,
            duration_ms=self.elapsed_ms(),
        )
        if isinstance(exc, ProviderError):
            failure["message"] = exc.describe()
            failure.update(exc.fields())  # type: ignore[typeddict-item]
        if self.calls:
            failure["usage"] = sum_usage(self.calls)
        if self.recorded:
            failure["recorded_usage"] = sum_usage(self.recorded)
        return self.event("run.failed", failure, self.failed_node)

    def cancelled(self, reason: str) -> RunEvent:
        cancelled = RunCancelledData(reason=reason, duration_ms=self.elapsed_ms())
        if self.calls:
            cancelled["usage"] = sum_usage(self.calls)
        if self.recorded:
            cancelled["recorded_usage"] = sum_usage(self.recorded)
        return self.event("run.cancelled", cancelled)


def cached_nodes(graph: Any) -> frozenset[str]:
    """Nodes of ``graph`` that have a cache policy (their own or the graph's)."""
    every = getattr(graph, "cache_policy", None) is not None
    return frozenset(
        name
        for name, node in getattr(graph, "nodes", {}).items()
        if not name.startswith("__") and (every or getattr(node, "cache_policy", None))
    )


def _breakpoints(graph: Any, given: Any, compiled: str) -> frozenset[str]:
    """The nodes a run of ``graph`` stops at: ``given`` to the run, else (none given, as
    LangGraph reads it) those compiled into the graph (its ``compiled`` attribute);
    ``"*"``: every node."""
    nodes = given or getattr(graph, compiled, None)
    if nodes == "*":
        return frozenset(n for n in getattr(graph, "nodes", {}) if not n.startswith("__"))
    return frozenset(nodes or ())


def _path(ns: tuple[str, ...]) -> list[str]:
    return [seg.split(":", 1)[0] for seg in ns]


class Executor:
    """Runs one loaded workflow against one checkpoint store.

    Args:
        workflow: The workflow to run (see :func:`lgp_engine.load_workflow`).
        store: Where thread state is read and written.
        environment: Reported in ``run.started`` (experiment, hosted, ...).
        max_steps: Supersteps a run may take before it fails with
            ``GraphRecursionError`` (LangGraph's ``recursion_limit``); None keeps
            LangGraph's default.
        agents: The agent layer (role bindings, prices, MCP sessions, redaction) its
            agent nodes use; without one they use the current project's settings.
        memory: The long-term store (LangGraph ``BaseStore``) its runs get as
            ``runtime.store``; None: no store.
        cache: The node cache (LangGraph ``BaseCache``) of nodes with a cache policy.
    """

    def __init__(
        self,
        workflow: LoadedWorkflow,
        store: CheckpointStore,
        *,
        environment: str = "experiment",
        max_steps: int | None = None,
        agents: AgentRuntime | None = None,
        memory: Any = None,
        cache: Any = None,
    ) -> None:
        self.workflow = workflow
        self.store = store
        self.memory = memory
        self.cache = cache
        self.environment = environment
        self.max_steps = max_steps
        self.agents = agents
        self.redact = agents.redactor if agents is not None else Redactor(secrets_from_env())
        self._graph: Any = None

    def graph(self, config: dict[str, Any] | None = None, context: Any = None) -> Any:
        """The compiled graph (built once; sync factories are called each time)."""
        if self.workflow.kind == "factory":
            return self._wired(
                self.workflow.build(self.store.saver, config, context=context, store=self.memory)
            )
        if self._graph is None:
            self._graph = self._wired(self.workflow.build(self.store.saver))
        return self._graph

    def _wired(self, graph: Any) -> Any:
        """``graph`` with the engine's long-term store and node cache (replacing any
        the graph was compiled with, as the LangGraph server does)."""
        update = {}
        if self.memory is not None and graph.store is not self.memory:
            update["store"] = self.memory
        if self.cache is not None and graph.cache is not self.cache:
            update["cache"] = self.cache
        return graph.copy(update=update) if update else graph

    @contextlib.asynccontextmanager
    async def agraph(
        self, config: dict[str, Any] | None = None, context: Any = None
    ) -> AsyncIterator[Any]:
        """The compiled graph for one run (async factories included)."""
        config = config or {"configurable": {}}
        if self.workflow.kind == "factory":
            async with self.workflow.abuild(
                self.store.saver, config, context=context, store=self.memory
            ) as graph:
                yield self._wired(graph)
        else:
            yield self.graph()

    def _config(
        self,
        thread_id: str,
        run_id: str,
        checkpoint_id: str | None,
        max_cost_usd: float | None = None,
        caller: dict[str, Any] | None = None,
        replay: Any = None,
    ) -> dict[str, Any]:
        """The run's LangGraph config: the caller's (see :mod:`.run_config`) with the
        engine's thread, checkpoint, agent scope (with the recorded ``replay`` that
        answers its calls, if any) and run id on top."""
        configurable: dict[str, Any] = {"thread_id": thread_id}
        if self.agents is not None:
            scope = self.agents.scope(
                run_id, max_cost_usd=max_cost_usd, thread_id=thread_id, branch=bool(checkpoint_id)
            )
            scope.replay = replay
            configurable[SCOPE_KEY] = scope
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        config: dict[str, Any] = {
            "configurable": configurable,
            "run_id": uuid.UUID(run_id),
            "metadata": {"lgp_run_id": run_id},
        }
        if self.max_steps is not None:
            config["recursion_limit"] = self.max_steps
        return merge_run_config(caller, config) if caller else config

    def _started(
        self,
        tr: _Translator,
        input_: Any,
        checkpoint_id: str | None,
        extra: dict[str, Any] | None = None,
    ) -> RunEvent:
        from langgraph.types import Command

        if isinstance(input_, Command):
            input_ = {
                "command": {"resume": input_.resume, "goto": input_.goto, "update": input_.update}
            }
        data = RunStartedData(
            workflow=self.workflow.name,
            input=to_jsonable(input_),
            thread_id=tr.thread_id,
            checkpoint_id=checkpoint_id,
            environment=self.environment,
        )
        if self.workflow.version:
            data["version"] = self.workflow.version
        data.update(extra or {})  # type: ignore[typeddict-item]
        return tr.event("run.started", data)

    async def astream(
        self,
        input: Any = None,  # noqa: A002 - mirrors LangGraph's parameter name
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
        context: Any = None,
        checkpoint_id: str | None = None,
        interrupt_before: list[str] | None = None,
        interrupt_after: list[str] | None = None,
        seq_start: int = 0,
        started: dict[str, Any] | None = None,
        on_part: Callable[[dict[str, Any]], None] | None = None,
        max_cost_usd: float | None = None,
        config: dict[str, Any] | None = None,
        on_lc_event: Callable[[dict[str, Any]], None] | None = None,
        replay: Any = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Run the workflow and yield its events as they happen; the last is terminal.

        Args:
            input: The graph input (a dict), or a ``langgraph.types.Command``.
            thread_id: Thread to run on; a new one if omitted.
            run_id: Id for this run; a new one if omitted.
            context: Runtime context for graphs with a ``context_schema``.
            checkpoint_id: Start from this checkpoint of the thread instead of its head.
            interrupt_before: Nodes to stop before (static breakpoints).
            interrupt_after: Nodes to stop after.
            seq_start: Number events after this seq (a resumed run continues its log).
            started: Extra fields for the ``run.started`` event (e.g. ``{"resumed": True}``).
            on_part: Called with every raw LangGraph v2 stream part (``{type, ns, data}``)
                before it is translated; for front ends that speak LangGraph's own
                stream format (the Agent Server compatible API).
            max_cost_usd: Budget of the run's model calls (default: the config's
                ``runs.max_cost_usd``); a call that would pass it fails the run with
                ``budget_exceeded``.
            config: The caller's run config (``configurable``, ``tags``, ``metadata``,
                ``recursion_limit``, ...; see :func:`~lgp_engine.run_config.check_run_config`),
                merged under the engine's own keys.
            on_lc_event: Called with every LangChain ``astream_events`` (v2) event of
                the run (``on_chain_start``, ``on_chat_model_stream``, ...; the root
                graph's ``on_chain_stream`` excepted): the run is then driven by
                ``astream_events``, whose root stream carries the same parts.
            replay: A :class:`~lgp_engine.providers.replay.Replay` that answers the
                run's model and MCP tool calls from a recording (a recorded replay);
                their recorded usage is the terminal event's ``recorded_usage``.
            on_record: Hears each model and tool call of the run as it is recorded
                (what the runner stores for later recorded replays).

        Cancelling the task that iterates this generator ends the run with a
        ``run.cancelled`` event (the cancel message is its reason); its checkpoints
        stay and the thread can be resumed.
        """
        tr = _Translator(
            run_id or new_run_id(),
            thread_id or new_thread_id(),
            seq_start,
            self.redact,
            self.agents.prices if self.agents is not None else None,
        )
        caller = check_run_config(config)
        check_owned_keys(caller, tr.thread_id, checkpoint_id)
        tr.on_record = on_record
        run_config = self._config(
            tr.thread_id, tr.run_id, checkpoint_id, max_cost_usd, caller, replay
        )
        if caller:
            started = {**(started or {}), "config": to_jsonable(caller)}
        yield self._started(tr, input, checkpoint_id, started)
        try:
            async with self.agraph(run_config, context) as graph:
                tr.cached_nodes = cached_nodes(graph)
                tr.break_before = _breakpoints(graph, interrupt_before, "interrupt_before_nodes")
                tr.break_after = _breakpoints(graph, interrupt_after, "interrupt_after_nodes")
                options: dict[str, Any] = {
                    "context": context,
                    "stream_mode": STREAM_MODES,
                    "subgraphs": True,
                    "interrupt_before": interrupt_before,
                    "interrupt_after": interrupt_after,
                }
                parts = (
                    graph.astream(input, run_config, version="v2", **options)
                    if on_lc_event is None
                    else _event_parts(graph, input, run_config, tr.run_id, on_lc_event, options)
                )
                async for part in parts:
                    if on_part is not None:
                        on_part(part)
                    event = tr.translate(part)
                    if event is not None:
                        yield event
        except asyncio.CancelledError as exc:
            yield tr.cancelled(str(exc.args[0]) if exc.args else "cancelled")
            return
        except Exception as exc:  # noqa: BLE001 - a workflow's failure is an event
            yield tr.failed(exc)
            return
        yield tr.finish()

    def stream(
        self,
        input: Any = None,  # noqa: A002
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
        **options: Any,
    ) -> Iterator[RunEvent]:
        """Sync :meth:`astream` (same arguments), for scripts, the CLI and thread workers.

        It drives the async run on an event loop private to the calling thread, so
        it must not be called from inside a running event loop. Ctrl+C (or closing
        the generator) cancels the run and yields ``run.cancelled``.
        """
        return sync_bridge.iterate(
            self.astream(input, thread_id=thread_id, run_id=run_id, **options),
            "Executor.stream()",
        )

    def invoke(self, input: Any = None, **kwargs: Any) -> RunResult:  # noqa: A002
        """Run to the end and summarize (see :meth:`astream` for the arguments)."""
        return collect(self.stream(input, **kwargs))

    async def ainvoke(self, input: Any = None, **kwargs: Any) -> RunResult:  # noqa: A002
        """Async :meth:`invoke`."""
        return collect([e async for e in self.astream(input, **kwargs)])


async def _event_parts(
    graph: Any,
    input_: Any,
    config: dict[str, Any],
    run_id: str,
    on_lc_event: Callable[[dict[str, Any]], None],
    options: dict[str, Any],
) -> AsyncIterator[dict[str, Any]]:
    """The run's v2 stream parts, from ``astream_events`` (v2): the root graph's
    ``on_chain_stream`` events carry them (as ``(ns, mode, payload)``), every other
    event goes to ``on_lc_event``. One run, one stream: this is how LangGraph's own
    Agent Server serves the ``events`` stream mode."""
    events = graph.astream_events(input_, config, version="v2", **options)
    async with contextlib.aclosing(events):
        async for event in events:
            if event.get("event") == "on_chain_stream" and event.get("run_id") == run_id:
                ns, mode, payload = event["data"]["chunk"]
                part: dict[str, Any] = {"type": mode, "ns": ns, "data": payload}
                if mode == "values":  # v2 moves interrupts out of the values
                    if isinstance(payload, dict) and "__interrupt__" in payload:
                        payload = {k: v for k, v in payload.items() if k != "__interrupt__"}
                        part["interrupts"] = event["data"]["chunk"][2]["__interrupt__"]
                        part["data"] = payload
                    else:
                        part["interrupts"] = ()
                yield part
            else:
                on_lc_event(event)


def collect(events: Any) -> RunResult:
    """Summarize an iterable of one run's events into a :class:`RunResult`."""
    seen: list[RunEvent] = list(events)
    first, last = seen[0], seen[-1]
    status = STATUS_FOR_EVENT.get(last.type, RunStatus.RUNNING)
    return RunResult(
        run_id=first.run_id,
        thread_id=first.thread_id,
        status=status,
        output=last.data.get("output"),
        error=dict(last.data) if last.type == "run.failed" else None,
        interrupts=last.data.get("interrupts", []) if last.type == "interrupt" else [],
        duration_ms=float(last.data.get("duration_ms") or 0.0),
        events=seen,
    )
