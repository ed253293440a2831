"""Runs with a memory: start, resume, replay and fork, each recorded in the run store.

:class:`Runner` is what the front ends use. It wraps the :class:`Executor` (which
only turns LangGraph's stream into events) with the run store: every run gets a
record, every event is persisted before it is yielded, and the record's status
follows the run. Each operation checks its inputs before anything is written, so a
bad thread, checkpoint, node name or update leaves the stores untouched.

Every operation is an async generator (``astart``, ``aresume``, ``areplay``,
``afork``) with a sync twin (``start``, ...) for scripts and the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from . import sync_bridge
from ._version import __version__
from .backends.leases import Lease, ThreadLeases
from .checkpointing import CheckpointStore, open_checkpoints
from .config import Settings
from .errors import ConflictError, NotFoundError, UsageError
from .events import (
    RunCancelledData,
    RunEvent,
    RunRetryingData,
    SubscriptionCost,
    asks_for_value,
)
from .executor import Executor, new_run_id, new_thread_id
from .ids import check_thread_id
from .jsonable import dumps
from .loader import LoadedWorkflow, iter_graph_nodes
from .ops.retries import RetryPolicy, retryable
from .providers.base import merge_usage
from .providers.factory import injections
from .providers.runtime import AgentRuntime, Injection
from .recorded_replay import RecordingSource, find_recording
from .run_config import check_owned_keys, check_run_config
from .runs import Along, RunRecord, RunStore, ThreadMerge
from .status import RESUMABLE, STATUS_FOR_EVENT, RunStatus
from .timetravel import state_at
from .tracing.base import RunInfo, Tracing

if TYPE_CHECKING:  # imported when a runner opens (they import LangGraph)
    from .backends.memory_store import MemoryStores
    from .backends.node_cache import NodeCacheDb


class _NoValue(enum.Enum):
    NO_VALUE = "NO_VALUE"

    def __repr__(self) -> str:
        return "NO_VALUE"


#: "No resume value given": resume a thread without answering an interrupt (the
#: nodes still to run just run). Distinct from ``None``, which is a value.
NO_VALUE: Final = _NoValue.NO_VALUE


Strategy = Literal["reject", "enqueue", "interrupt", "rollback"]
_T = TypeVar("_T")
log = logging.getLogger("lgp.runner")


@dataclass(frozen=True)
class Admission:
    """How a run takes its thread when another run holds it, in this process or any
    other sharing the database (see :class:`~lgp_engine.backends.leases.ThreadLeases`).

    ``strategy`` is the Agent Server's multitask strategy: ``enqueue`` waits for the
    holder to end, ``reject`` raises :class:`ConflictError` (``thread_busy``),
    ``interrupt`` and ``rollback`` ask the holder to cancel and wait until it did.
    ``on_wait`` hears the holder's lease once, when this run starts waiting;
    ``on_replaced`` hears the ids of the runs it cancelled, once it holds the thread
    (a rollback deletes them there).
    """

    strategy: Strategy = "enqueue"
    on_wait: Callable[[Lease], None] | None = None
    on_replaced: Callable[[list[str]], None] | None = None


#: How often a running run looks for a cancel request from another process (seconds).
CANCEL_POLL_S = 0.1


@dataclass
class _Plan:
    workflow: LoadedWorkflow
    thread_id: str
    input: Any
    kind: str
    checkpoint_id: str | None = None
    context: Any = None
    interrupt_before: list[str] | None = None
    interrupt_after: list[str] | None = None
    existing: RunRecord | None = None  # an interrupted run that continues, or a queued one
    started: dict[str, Any] | None = None
    update: dict[str, Any] | None = None  # fork: values to write first
    as_node: str | None = None
    on_part: Any = None  # raw LangGraph stream parts, for LangGraph-speaking front ends
    meta: dict[str, Any] | None = None  # extra fields kept on the run record
    max_cost_usd: float | None = None  # budget of the run's model calls
    config: dict[str, Any] | None = None  # the caller's run config (checked)
    on_lc_event: Any = None  # LangChain astream_events, for the Agent Server's events mode
    admission: Admission | None = None  # how it takes a busy thread (default: waits)
    adopted: str | None = None  # a running run whose process died: why it is taken over
    replay: Any = None  # a recorded replay: the Replay that answers its calls


#: The longest the tracers may take to send what is pending when a runner closes (with
#: the interpreter's own teardown, a process exits within a second of its last run).
TRACING_FLUSH_S = 0.8
#: Why a server cancels its runs when it stops: a run made through its API is then
#: handed over, not ended (no end recorded, still ``running``, its thread lease given
#: up), and another server process, or this one restarted, goes on with it from its
#: last checkpoint; any other run is cancelled.
HAND_BACK = "handed back: its server is shutting down"
#: The reason a run that cannot be handed over is cancelled with instead.
SHUTTING_DOWN = "the server is shutting down"


def _adoptable(plan: _Plan) -> bool:
    """Whether a server process goes on with the run if this one stops (a run made
    through the HTTP API; those of the CLI and the workbench their user resumes)."""
    meta = plan.meta if plan.meta is not None else (plan.existing.meta if plan.existing else None)
    return bool((meta or {}).get("api"))


class Runner:
    """Starts and continues runs of workflows, recording them.

    Args:
        store: Checkpoints (thread state).
        runs: Run records and event logs.
        environment: Reported in ``run.started``.
        max_steps: Supersteps a run may take before it fails (LangGraph's recursion
            limit); None keeps LangGraph's default.
        agents: The agent layer of the environment (role bindings, MCP sessions,
            prices, redaction); :meth:`open` makes one from the settings.
        memory: The long-term stores of the project (see :meth:`long_term_store`).
        node_cache: The node cache (entries keyed by the workflow's code).
        leases: The thread leases of the database (default: this process only).
        retry: Retries of runs that fail with a retryable error (default: 3).
    """

    def __init__(
        self,
        store: CheckpointStore,
        runs: RunStore,
        *,
        environment: str,
        max_steps: int | None = None,
        agents: AgentRuntime | None = None,
        tracing: Tracing | None = None,
        project: str | None = None,
        memory: MemoryStores | None = None,
        node_cache: NodeCacheDb | None = None,
        leases: ThreadLeases | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.store = store
        self.runs = runs
        #: Who runs on which thread, shared by every process on the database.
        self.leases = leases or ThreadLeases(None)
        #: Which failed runs continue from their last checkpoint, and when.
        self.retry = retry or RetryPolicy()
        self._remote = runs.backend == "postgres"  # store calls leave the event loop
        #: Long-term stores (LangGraph ``BaseStore``) runs get as ``runtime.store``.
        self.memory = memory
        #: The node cache of nodes with a cache policy.
        self.node_cache = node_cache
        self.environment = environment
        self.max_steps = max_steps
        self.agents = agents
        #: Where every run's events also go (console, JSON Lines, Langfuse...).
        self.tracing = tracing or Tracing([])
        self.project = project
        if agents is not None:
            agents.session_invocations = runs.agent_invocations
            agents.lineage_steps = store.lineage_steps
        self._executors: dict[str, Executor] = {}
        self._injections: dict[int, list[Injection]] = {}
        self._group: _GroupCommit | None = None

    @classmethod
    @contextlib.contextmanager
    def open(
        cls,
        settings: Settings,
        *,
        max_steps: int | None = None,
        warn: Callable[[str], None] | None = None,
        console: Callable[[str], None] | None = None,
    ) -> Iterator[Runner]:
        """A runner over the project's checkpoint and run stores, long-term store and
        node cache (one SQLite file, or the checkpointer's PostgreSQL database, each
        store with its own pool of connections), with the environment's agent layer
        (its MCP servers stop on exit) and tracers (flushed on exit, for at most a
        second). ``warn`` hears tracing problems, ``console`` gets the console
        tracer's lines."""
        from .backends.memory_store import MemoryStores
        from .backends.node_cache import NodeCacheDb
        from .tracing.factory import open_tracing

        with open_checkpoints(settings) as store:
            runs = RunStore.for_settings(settings, store.db_path)
            agents = AgentRuntime(settings)
            memory = MemoryStores(settings, store.db_path)
            node_cache = NodeCacheDb(settings, store.db_path)
            leases = ThreadLeases.for_settings(settings, store.db_path)
            tracing = open_tracing(settings, warn=warn, console=console)
            try:
                runs.reap_abandoned()
                runs.prune(max_age_days=settings.runs.max_age_days, max_runs=settings.runs.max_runs)
                yield cls(
                    store,
                    runs,
                    environment=settings.environment,
                    max_steps=max_steps,
                    agents=agents,
                    tracing=tracing,
                    project=settings.project_dir.name,
                    memory=memory,
                    node_cache=node_cache,
                    leases=leases,
                    retry=RetryPolicy.from_settings(settings),
                )
            finally:
                tracing.close(TRACING_FLUSH_S)
                leases.close()
                agents.close()
                memory.close()
                node_cache.close()
                runs.close()

    def executor(self, workflow: LoadedWorkflow) -> Executor:
        """The executor for ``workflow`` (one per loaded workflow, reused)."""
        current = self._executors.get(workflow.name)
        if current is None or current.workflow is not workflow:  # a reload replaces it
            current = Executor(
                workflow,
                self.store,
                environment=self.environment,
                max_steps=self.max_steps,
                agents=self.agents,
                memory=self.long_term_store(workflow),
                cache=self.node_cache.for_workflow(workflow) if self.node_cache else None,
            )
            self._executors[workflow.name] = current
        return current

    def long_term_store(self, workflow: LoadedWorkflow | None = None) -> Any:
        """The long-term store (LangGraph ``BaseStore``) of ``workflow``'s runs: the
        one its ``langgraph.json`` ``store`` section describes, else the config's;
        None when the runner has none (``store.backend: none``)."""
        from .backends.memory_store import project_store_section

        if self.memory is None:
            return None
        if workflow is None:
            return self.memory.default()
        project = workflow.source.project_file
        return self.memory.get(project_store_section(project), str(project or ""))

    def injections(self, workflow: LoadedWorkflow) -> list[Injection]:
        """The agent roles of ``workflow`` and what config binds them to; a
        :class:`ConfigError` names a role whose provider is disabled or not
        configured. (Graphs made by a factory are bound when their nodes run.)"""
        if self.agents is None or workflow.kind == "factory":
            return []
        key = id(workflow)
        found = self._injections.get(key)
        if found is None:
            found = injections(self.executor(workflow).graph(), self.agents)
            self._injections = {key: found}  # one workflow at a time (reloads replace it)
        return found

    # -- operations -------------------------------------------------------------
    async def astart(
        self,
        workflow: LoadedWorkflow,
        input: Any = None,  # noqa: A002
        *,
        thread_id: str | None = None,
        context: Any = None,
        interrupt_before: list[str] | None = None,
        interrupt_after: list[str] | None = None,
        checkpoint_id: str | None = None,
        on_part: Any = None,
        meta: dict[str, Any] | None = None,
        max_cost_usd: float | None = None,
        config: dict[str, Any] | None = None,
        run_id: str | None = None,
        on_lc_event: Any = None,
        admission: Admission | None = None,
        record: RunRecord | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Run ``workflow`` on a thread (new unless ``thread_id`` is given).

        ``input`` may be a ``langgraph.types.Command``; ``checkpoint_id`` starts from
        that checkpoint instead of the thread's newest; ``max_cost_usd`` caps what the
        run's model calls may cost (default: the config's ``runs.max_cost_usd``);
        ``config`` is the caller's run config (``configurable`` values, ``tags``,
        ``metadata``, ``recursion_limit``...; see :mod:`lgp_engine.run_config`);
        ``run_id`` names a run recorded by :meth:`queue` that this run carries out
        (``record``: its record as :meth:`queue` returned it, not read again);
        ``on_lc_event`` hears the run's LangChain ``astream_events`` (see
        :meth:`Executor.astream`); ``admission`` says what to do when another run
        holds the thread (default: wait for it).
        """
        self.check_input(workflow, input)
        if thread_id is not None:
            check_thread_id(thread_id)
        caller = check_run_config(config)
        check_owned_keys(caller, thread_id, checkpoint_id)
        self._check_nodes(workflow, interrupt_before, "interrupt_before")
        self._check_nodes(workflow, interrupt_after, "interrupt_after")
        if checkpoint_id is not None and thread_id is not None:
            self._require_checkpoint(thread_id, checkpoint_id)
        plan = _Plan(
            workflow,
            thread_id or new_thread_id(),
            input,
            "run",
            context=context,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            checkpoint_id=checkpoint_id,
            on_part=on_part,
            meta=meta,
            max_cost_usd=max_cost_usd,
            config=caller or None,
            existing=self._queued(run_id, record) if run_id is not None else None,
            on_lc_event=on_lc_event,
            admission=admission,
        )
        async for event in self._aexecute(plan):
            yield event

    def queue(
        self,
        workflow: LoadedWorkflow,
        input: Any = None,  # noqa: A002
        *,
        thread_id: str,
        checkpoint_id: str | None = None,
        meta: dict[str, Any] | None = None,
        shared: bool = False,
        along: Along | None = None,
        thread: ThreadMerge | None = None,
    ) -> RunRecord:
        """Record a run that waits for its turn (status ``queued``), as :meth:`astart`
        would record it; ``astart(..., run_id=record.run_id)`` carries it out later
        (``shared``: in the shared run queue, for any server process to claim;
        ``along``: written in the same transaction; ``thread``: metadata merged into
        the thread's record; see :meth:`RunStore.create`)."""
        return self.runs.create(
            new_run_id(),
            thread_id,
            workflow.name,
            target=workflow.source.spec,
            kind="run",
            input=self.executor(workflow).redact(_describe_input(input)),
            checkpoint_id=checkpoint_id,
            meta=meta,
            shared=shared,
            along=along,
            thread=thread,
        )

    def _queued(self, run_id: str, record: RunRecord | None = None) -> RunRecord:
        if record is None or record.run_id != run_id:
            record = self.runs.get(run_id)
        if record.status != RunStatus.QUEUED:
            raise ConflictError(
                f"run {run_id} is {record.status}, not queued", code="not_queued", run_id=run_id
            )
        return record

    async def aresume(
        self,
        workflow: LoadedWorkflow,
        thread_id: str,
        value: Any = NO_VALUE,
        *,
        context: Any = None,
        on_part: Any = None,
        meta: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        admission: Admission | None = None,
        interrupt_before: list[str] | None = None,
        interrupt_after: list[str] | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Continue a thread that stopped: an interrupt (answered with ``value``), or
        a run that was cancelled, failed or abandoned with nodes still to run
        (``value`` left as :data:`NO_VALUE`); ``config`` as for :meth:`astart`;
        ``interrupt_before``/``interrupt_after``: where the continued run stops next
        (static breakpoints, as for :meth:`astart`; the one it stopped at does not stop
        it again)."""
        from langgraph.types import Command

        caller = check_run_config(config)
        check_owned_keys(caller, thread_id, None)
        self._check_nodes(workflow, interrupt_before, "interrupt_before")
        self._check_nodes(workflow, interrupt_after, "interrupt_after")
        state = state_at(self.store, thread_id)
        last = self.runs.latest_for_thread(thread_id)
        if last is not None and last.status == RunStatus.INTERRUPTED:
            waiting = [i for i in state.interrupts if asks_for_value(i)]
            if waiting and value is NO_VALUE:
                raise ConflictError(
                    f"thread {thread_id} is waiting for a value: give {{field}} "
                    f"(asked: {dumps(waiting[0]['value'])})",
                    field="value",
                    code="value_required",
                    thread_id=thread_id,
                )
            if waiting:
                ids = [i["id"] for i in waiting]
                if len(ids) > 1 and not (isinstance(value, dict) and set(value) == set(ids)):
                    example = dumps({i: "..." for i in ids})
                    raise ConflictError(
                        f"{len(ids)} interrupts are waiting on thread {thread_id}; give "
                        f"{{field}} as one value per interrupt id: {example}",
                        field="value",
                        code="value_per_interrupt",
                        thread_id=thread_id,
                    )
                payload: Any = Command(resume=value)
            else:
                payload = None  # a static breakpoint: just continue
            continues = last  # the interrupted run goes on
        elif state.next and (last is None or last.status in RESUMABLE):
            if value is not NO_VALUE and not state.interrupts:
                raise ConflictError(
                    f"thread {thread_id} is not waiting for a value; resume it without {{field}}",
                    field="value",
                    code="value_not_expected",
                    thread_id=thread_id,
                )
            payload = None
            if state.interrupts and value is not NO_VALUE:
                payload = Command(resume=value)
            continues = None  # a new run finishes what the stopped one left
        else:
            status = last.status if last else "not running"
            raise ConflictError(
                f"thread {thread_id} is not interrupted (its last run is {status}); "
                "nothing to resume",
                code="nothing_to_resume",
                thread_id=thread_id,
            )
        plan = _Plan(
            workflow,
            thread_id,
            payload,
            "resume",
            context=context,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            existing=continues,
            started={"resumed": True},
            on_part=on_part,
            meta=meta,
            config=caller or None,
            admission=admission,
        )
        async for event in self._aexecute(plan):
            yield event

    async def areplay(
        self,
        workflow: LoadedWorkflow,
        thread_id: str,
        checkpoint_id: str,
        *,
        context: Any = None,
        admission: Admission | None = None,
        recorded: str | bool | RecordingSource | None = None,
        live_fallback: bool = False,
    ) -> AsyncIterator[RunEvent]:
        """Re-run the nodes after ``checkpoint_id``; the thread's history keeps both branches.

        ``recorded`` makes it a recorded replay: the agent nodes' model calls and MCP
        tool calls are answered by what the original branch recorded (no request is
        sent, nothing spent; ``recorded_usage`` on the last event says what they had
        cost), so a code change can be tried on a real past conversation offline.
        ``True`` (or the thread's id) takes the calls of the runs that made the
        branch after ``checkpoint_id``, a run id that run's, a
        :class:`RecordingSource` what :func:`find_recording` found. A call the
        recording lacks fails its node with a
        :class:`~lgp_engine.providers.replay.RecordingMismatch`, or is made live with
        ``live_fallback``. Compare the branches with :func:`compare_replay`.
        """
        self._require_checkpoint(thread_id, checkpoint_id)
        started: dict[str, Any] = {"replay_of": checkpoint_id}
        replay = None
        if recorded is not None and recorded is not False:
            if self.agents is None:
                raise UsageError(
                    "a recorded replay needs the runner's agent layer (open it with "
                    "Runner.open, or give it agents)",
                    field="recorded",
                    code="no_agent_layer",
                )
            source = (
                recorded
                if isinstance(recorded, RecordingSource)
                else await self.io(
                    find_recording, self.store, self.runs, thread_id, checkpoint_id, recorded
                )
            )
            replay = source.replay(live_fallback=live_fallback)
            started["recorded"] = {
                "runs": list(source.run_ids),
                "original": source.original_checkpoint,
                "model_calls": source.model_calls,
                "tool_calls": source.tool_calls,
                "live_fallback": live_fallback,
            }
        plan = _Plan(
            workflow,
            thread_id,
            None,
            "replay",
            checkpoint_id=checkpoint_id,
            context=context,
            started=started,
            admission=admission,
            replay=replay,
            meta={"recorded": True} if replay is not None else None,
        )
        async for event in self._aexecute(plan):
            yield event

    async def afork(
        self,
        workflow: LoadedWorkflow,
        thread_id: str,
        checkpoint_id: str,
        update: Any,
        *,
        as_node: str | None = None,
        context: Any = None,
        admission: Admission | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Write ``update`` onto a past checkpoint (as ``as_node``), then continue from it.

        The original history is untouched; the fork is a new branch of the thread.
        """
        if not isinstance(update, dict):
            raise UsageError(
                '{field} must be an object of state keys, e.g. {"x": 1}',
                field="update",
                code="not_an_object",
            )
        self._require_checkpoint(thread_id, checkpoint_id)
        executor = self.executor(workflow)
        async with executor.agraph(context=context) as graph:
            nodes = list(iter_graph_nodes(graph))
            if as_node is not None and as_node not in graph.nodes:
                raise UsageError(
                    f"unknown node {as_node!r} for {{field}}; nodes: {', '.join(nodes)}",
                    field="as_node",
                    code="unknown_node",
                )
            keys = _state_keys(graph)
            unknown = sorted(set(update) - keys) if keys else []
            if unknown:
                raise UsageError(
                    f"unknown state key(s) in {{field}}: {', '.join(unknown)}; "
                    f"state keys: {', '.join(sorted(keys))}",
                    field="update",
                    code="unknown_key",
                )
        plan = _Plan(
            workflow,
            thread_id,
            None,
            "fork",
            checkpoint_id=checkpoint_id,
            context=context,
            update=update,
            as_node=as_node,
            started={"fork_of": checkpoint_id, "update": update, "as_node": as_node},
            admission=admission,
        )
        async for event in self._aexecute(plan):
            yield event

    async def acopy_checkpoint(
        self,
        workflow: LoadedWorkflow,
        thread_id: str,
        checkpoint_id: str | None = None,
        *,
        context: Any = None,
    ) -> str:
        """Copy a checkpoint of the thread (its newest when no ``checkpoint_id``) as the
        thread's newest: a fork (``source="fork"``: the same values, parent and next
        nodes) that the next run continues from, so the nodes after it run again
        (LangGraph's ``update_state(config, None, as_node="__copy__")``, LangGraph
        Studio's "re-run from here"). The history stays; returns the copy's id."""
        from .runs import owner_alive
        from .status import IN_FLIGHT

        self.store.thread(thread_id)
        if checkpoint_id is not None:
            self._require_checkpoint(thread_id, checkpoint_id)
        last = self.runs.latest_for_thread(thread_id)
        if last is not None and last.status in IN_FLIGHT and owner_alive(last.owner):
            raise ConflictError(
                f"thread {thread_id} has a run in flight ({last.run_id})",
                code="thread_busy",
                hint="cancel the run or wait for it to end first",
                thread_id=thread_id,
            )
        conf = {"thread_id": thread_id, "checkpoint_ns": ""}
        if checkpoint_id is not None:
            conf["checkpoint_id"] = checkpoint_id
        async with self.executor(workflow).agraph(context=context) as graph:
            new = await graph.aupdate_state({"configurable": conf}, None, as_node="__copy__")
        return str(new["configurable"]["checkpoint_id"])

    # sync twins ------------------------------------------------------------------
    def start(self, workflow: LoadedWorkflow, input: Any = None, **kw: Any) -> Iterator[RunEvent]:  # noqa: A002
        return sync_bridge.iterate(self.astart(workflow, input, **kw), "Runner.start()")

    def resume(
        self, workflow: LoadedWorkflow, thread_id: str, value: Any = NO_VALUE, **kw: Any
    ) -> Iterator[RunEvent]:
        return sync_bridge.iterate(
            self.aresume(workflow, thread_id, value, **kw), "Runner.resume()"
        )

    def replay(
        self, workflow: LoadedWorkflow, thread_id: str, checkpoint_id: str, **kw: Any
    ) -> Iterator[RunEvent]:
        return sync_bridge.iterate(
            self.areplay(workflow, thread_id, checkpoint_id, **kw), "Runner.replay()"
        )

    def fork(
        self, workflow: LoadedWorkflow, thread_id: str, checkpoint_id: str, update: Any, **kw: Any
    ) -> Iterator[RunEvent]:
        return sync_bridge.iterate(
            self.afork(workflow, thread_id, checkpoint_id, update, **kw), "Runner.fork()"
        )

    def delete_thread(self, thread_id: str) -> None:
        """Forget a thread: its checkpoints, runs and events (:class:`NotFoundError`
        if it has no checkpoint). Refused while a run of this process uses it."""
        self.store.thread(thread_id)
        active = self.runs.latest_for_thread(thread_id)
        if active is not None and active.status == RunStatus.RUNNING:
            raise ConflictError(
                f"thread {thread_id} has a run in progress ({active.run_id})",
                code="thread_busy",
                hint="cancel the run first",
                thread_id=thread_id,
            )
        self.forget_thread(thread_id)

    def forget_thread(self, thread_id: str) -> None:
        """Delete whatever is stored for ``thread_id`` (checkpoints, runs, events, its
        record), without the checks of :meth:`delete_thread`; a no-op when unknown."""
        self.store.saver.delete_thread(thread_id)
        self.runs.delete_thread(thread_id)

    async def aadopt(
        self,
        workflow: LoadedWorkflow,
        record: RunRecord,
        cause: str,
        *,
        input: Any = None,  # noqa: A002
        context: Any = None,
        on_part: Any = None,
        interrupt_before: list[str] | None = None,
        interrupt_after: list[str] | None = None,
        config: dict[str, Any] | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Go on with a run whose process died while it ran (claimed with
        :meth:`RunStore.claim`): its next attempt starts from the thread's newest
        checkpoint (finished nodes are not run again), in the same run and event log,
        opened by ``run.retrying`` with ``cause``; past ``max_retries`` it fails. A run
        that died before it wrote a checkpoint starts again from ``input`` (what it
        was asked) and the checkpoint it was asked to start from, as a retry does."""
        plan = _Plan(
            workflow,
            record.thread_id,
            input,
            record.kind,
            checkpoint_id=record.checkpoint_id,
            context=context,
            existing=record,
            on_part=on_part,
            adopted=cause,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            config=check_run_config(config) or None,
        )
        async for event in self._aexecute(plan):
            yield event

    def forget_runs(self, run_ids: list[str]) -> None:
        """Delete runs as a rollback does: the checkpoints they wrote (their thread's
        state goes back to what it was before them), their records and events."""
        by_thread: dict[str | None, list[str]] = {}
        for run_id in run_ids:  # a thread's checkpoints are found by its key (PostgreSQL)
            try:
                thread_id: str | None = self.runs.get(run_id).thread_id
            except NotFoundError:
                thread_id = None  # no record: searched in every thread
            by_thread.setdefault(thread_id, []).append(run_id)
        for thread_id, ids in by_thread.items():
            self.store.delete_runs(ids, thread_id=thread_id)
        for run_id in run_ids:
            self.runs.delete_run(run_id)

    def admission(
        self, strategy: Strategy, on_wait: Callable[[Lease], None] | None = None
    ) -> Admission:
        """An :class:`Admission` for ``strategy``; a rollback forgets the runs it replaced."""
        forget = self.forget_runs if strategy == "rollback" else None
        return Admission(strategy, on_wait=on_wait, on_replaced=forget)

    # -- queries ----------------------------------------------------------------
    def events(self, run_id: str, after_seq: int = 0) -> list[RunEvent]:
        """A run's persisted events after ``after_seq``."""
        return self.runs.events(self.runs.find(run_id).run_id, after_seq)

    def target_for_thread(self, thread_id: str) -> str:
        """The workflow target the thread's newest run used (to reload it)."""
        self.store.thread(thread_id)
        last = self.runs.latest_for_thread(thread_id)
        if last is None or not last.target:
            raise NotFoundError(
                f"no recorded run for thread {thread_id!r}, so its workflow is unknown; "
                "give {field}",
                field="workflow",
                code="workflow_unknown",
                thread_id=thread_id,
            )
        return last.target

    # -- internals --------------------------------------------------------------
    async def _aexecute(self, plan: _Plan) -> AsyncIterator[RunEvent]:
        """Admit the run to its thread (see :class:`Admission`), then execute it while
        holding the thread's lease; the lease is released however the run ends."""
        executor = self.executor(plan.workflow)
        self.injections(plan.workflow)  # a role that cannot run stops here, before writes
        run_id = plan.existing.run_id if plan.existing is not None else new_run_id()
        running = await self._start_at_once(plan, run_id)
        if running is None:
            await self._admit(plan, run_id)
        ended = asyncio.Event()  # set once the run's end is recorded: no cancel after it
        task = asyncio.current_task()
        lease = _Lease()
        watch = asyncio.ensure_future(self._hold(plan.thread_id, run_id, task, ended, lease))
        try:
            async for event in self._arun(plan, executor, run_id, lease, running):
                if event.is_terminal:
                    ended.set()
                yield event
        finally:
            ended.set()
            watch.cancel()
            if not lease.released:
                self.leases.release(plan.thread_id, run_id)

    async def _admit(self, plan: _Plan, run_id: str) -> None:
        """Take the thread's lease for ``run_id``, as the plan's admission says."""
        admission = plan.admission or Admission()
        replaced: list[str] = []
        told = False
        delay = 0.002
        adoptable = _adoptable(plan)  # a server carries it on if this process dies
        while (holder := await self._acquire(plan.thread_id, run_id, adoptable)) is not None:
            if admission.strategy == "reject":
                raise ConflictError(
                    f"thread {plan.thread_id} is already running {holder.run_id}; wait for it "
                    "to end or choose another multitask strategy",
                    code="thread_busy",
                    thread_id=plan.thread_id,
                )
            if admission.strategy in ("interrupt", "rollback") and holder.run_id not in replaced:
                reason = f"replaced by a new run ({admission.strategy})"
                if await self.io(self.leases.request_cancel, holder.run_id, reason):
                    replaced.append(holder.run_id)
            if not told and admission.on_wait is not None:
                admission.on_wait(holder)
                told = True
            await asyncio.sleep(delay)  # the holder ends, or its process dies
            delay = min(delay * 2, 0.05)
        if replaced and admission.on_replaced is not None:
            try:
                admission.on_replaced(replaced)
            except BaseException:
                self.leases.release(plan.thread_id, run_id)
                raise

    async def _acquire(self, thread_id: str, run_id: str, adoptable: bool) -> Lease | None:
        """:meth:`ThreadLeases.acquire` off the loop; a cancel that comes meanwhile
        gives back what the call may still have taken."""
        try:
            return await self.io(self.leases.acquire, thread_id, run_id, adoptable=adoptable)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self.leases.release(thread_id, run_id)
            raise

    async def _hold(
        self,
        thread_id: str,
        run_id: str,
        task: asyncio.Task[Any] | None,
        ended: asyncio.Event,
        lease: _Lease,
    ) -> None:
        """While the run executes: renew its lease, and cancel it when another run asks
        (``interrupt``, ``rollback``, a cancel from another process) or when the lease
        was lost (this process stalled past the lease time and another took over); not
        once the run records its end (which gives the lease up on PostgreSQL)."""
        ttl = self.leases.ttl_s
        renewed = time.monotonic()
        poll = CANCEL_POLL_S * (3 if self._remote else 1)  # a round trip each on PostgreSQL
        while not ended.is_set():
            await asyncio.sleep(poll)
            due = time.monotonic() - renewed >= ttl / 3
            try:
                held, reason = await self.io(
                    self.leases.renew if due else self.leases.check, thread_id, run_id
                )
            except Exception as exc:  # noqa: BLE001 - the database is away for now
                if time.monotonic() - renewed < ttl * 2 / 3:
                    continue  # try again: the lease still holds
                held, reason = True, f"its thread lease could not be renewed ({exc})"
            else:
                if due:
                    renewed = time.monotonic()
                if not held:
                    reason = "another process took the run over (this run's lease was lost)"
            if reason and task is not None and not ended.is_set() and not lease.ending:
                task.cancel(reason)
                return

    async def _start_at_once(self, plan: _Plan, run_id: str) -> RunRecord | None:
        """A queued run's thread lease taken and its start recorded in one statement,
        on PostgreSQL, when the thread is free: its record, running. None to go the
        usual way (:meth:`_admit`, then the start): the thread is held, or the run is
        taken over, updates the state first, or the store is SQLite (no round trips)."""
        existing = plan.existing
        if not self._remote or existing is None or plan.adopted is not None:
            return None
        if plan.update is not None:
            return None
        versioned = _versioned(existing.meta, plan.workflow)
        more = {"meta": versioned} if versioned != existing.meta else {}
        taken = self.leases.take_statement(plan.thread_id, run_id, _adoptable(plan))
        call = asyncio.ensure_future(self.io(self.runs.start_if, run_id, taken, **more))
        try:
            return await asyncio.shield(call)
        except BaseException:  # refused, or cancelled meanwhile: the lease it took goes
            with contextlib.suppress(BaseException):
                await call  # cancelled: the statement may still commit; let it end first
            with contextlib.suppress(Exception):
                self.leases.release(plan.thread_id, run_id)
            raise

    async def _arun(
        self,
        plan: _Plan,
        executor: Executor,
        run_id: str,
        lease: _Lease,
        running: RunRecord | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Record the run as running (``running``: recorded already, with its lease),
        execute it and record its events and end."""
        checkpoint_id = plan.checkpoint_id
        if plan.update is not None:
            async with executor.agraph(context=plan.context) as graph:
                config = {
                    "configurable": {
                        "thread_id": plan.thread_id,
                        "checkpoint_ns": "",
                        "checkpoint_id": plan.checkpoint_id,
                    }
                }
                new = await graph.aupdate_state(config, plan.update, as_node=plan.as_node)
                checkpoint_id = new["configurable"]["checkpoint_id"]
        # the transitions below count the run's events (its last_seq); a claimed
        # run's record may be older than its log
        counted = plan.adopted is None
        if plan.adopted is not None and plan.existing is not None:
            record = plan.existing  # claimed (still running): it goes on here
        elif running is not None:
            record = running
        elif plan.existing is not None:
            versioned = _versioned(plan.existing.meta, plan.workflow)
            more = {"meta": versioned} if versioned != plan.existing.meta else {}
            record = await self.io(
                self.runs.transition, plan.existing.run_id, RunStatus.RUNNING, **more
            )
        else:
            record = await self.io(
                self.runs.create,
                run_id,
                plan.thread_id,
                plan.workflow.name,
                target=plan.workflow.source.spec,
                kind=plan.kind,
                input=executor.redact(_describe_input(plan.input)),
                checkpoint_id=checkpoint_id,
                meta=_versioned(plan.meta, plan.workflow),
            )
            record = await self.io(self.runs.transition, record.run_id, RunStatus.RUNNING)
        last: RunEvent | None = None
        started = time.perf_counter()
        traced = RunInfo(
            run_id=record.run_id,
            thread_id=plan.thread_id,
            workflow=plan.workflow.name,
            environment=self.environment,
            kind=plan.kind,
            repository=self.project,
            runtime_version=__version__,
        )
        self.tracing.start_run(traced)
        traced_end = False  # whether the tracers have seen the run's end

        def attempt(
            input: Any,  # noqa: A002
            checkpoint_id: str | None,
            started: dict[str, Any] | None,
            seq_start: int,
            budget: float | None = plan.max_cost_usd,
        ) -> AsyncIterator[RunEvent]:
            return executor.astream(
                input,
                thread_id=plan.thread_id,
                run_id=record.run_id,
                context=plan.context,
                checkpoint_id=checkpoint_id,
                interrupt_before=plan.interrupt_before,
                interrupt_after=plan.interrupt_after,
                seq_start=seq_start,
                started=started,
                on_part=plan.on_part,
                max_cost_usd=budget,
                config=plan.config,
                on_lc_event=plan.on_lc_event,
                replay=plan.replay,
                on_record=recorded.append,
            )

        recorded: list[dict[str, Any]] = []  # calls recorded since the last event

        async def keep_recorded() -> None:
            """Store the calls recorded since the last event (before the next one)."""
            if recorded:
                batch = recorded[:]
                recorded.clear()
                await self.io(self.runs.add_recordings, record.run_id, batch)

        retries = 0
        spent: Any = None  # usage of the attempts that failed (UsageTotals)
        started_with = plan.started
        if plan.adopted is not None:  # its process died: this is its next attempt
            retries = len(self.runs.events_of_types(["run.retrying"], run_ids=[record.run_id]))
            lost = self._adopted(record, plan.adopted, retries)
            self.runs.append(lost)
            if lost.is_terminal:
                self.tracing.finish_run(traced, lost)
                self._finish(record, lost, started)
                yield lost
                return
            self.tracing.event(traced, lost)
            retries += 1
            started_with = {"resumed": True, "retry": retries}
            spent = self._spent_before(record.run_id)
            yield lost
        first_input, first_from = plan.input, checkpoint_id
        if plan.adopted is not None and await self.io(
            self._wrote_head, plan.thread_id, record.run_id
        ):  # from its newest checkpoint (what finished stays finished)
            first_input, first_from = None, None
        agen = attempt(
            first_input,
            first_from,
            started_with,
            record.last_seq if counted else await self.io(self.runs.last_seq, record.run_id),
            self._left(plan, spent) if spent is not None else plan.max_cost_usd,
        )
        handed_back = False  # left running for another process: no end recorded here
        try:
            while True:
                retrying: RunEvent | None = None
                async for event in agen:
                    if event.type == "run.cancelled" and event.data.get("reason") == HAND_BACK:
                        if _adoptable(plan):
                            handed_back = self._hand_back(record, traced, event)
                            return
                        event = dataclasses.replace(
                            event, data={**event.data, "reason": SHUTTING_DOWN}
                        )
                    if event.type == "run.failed" and self._retry_now(event, retries):
                        retries += 1
                        spent = merge_usage(spent, event.data.get("usage"))
                        retrying = self._retrying(event, retries)
                        event = retrying
                    elif event.is_terminal:
                        event = self._with_subscription(record, event)
                        event = _with_retries(event, retries, spent, started)
                        url = self.tracing.finish_run(traced, event)
                        traced_end = True
                        if url:
                            data = {**event.data, "trace_url": url}
                            event = dataclasses.replace(event, data=data)
                    await keep_recorded()
                    ends = event.type in STATUS_FOR_EVENT
                    if ends and self._remote:  # the event, the run's end, its lease given up:
                        # one statement
                        release = self.leases.release_statement(plan.thread_id, record.run_id)
                        lease.ending = True  # a lease found gone from now on: this, no loss
                        await self.io(self._finish, record, event, started, also=release)
                        lease.released = True
                    else:
                        await self._append(event)
                    if not event.is_terminal:
                        self.tracing.event(traced, event)
                    if ends and not self._remote:
                        await self.io(self._finish, record, event, started)
                    last = event
                    yield event
                    if retrying is not None:
                        break
                if retrying is None:
                    break
                await agen.aclose()  # type: ignore[attr-defined]
                try:
                    await asyncio.sleep(retrying.data["delay_s"])
                except asyncio.CancelledError as exc:
                    reason = str(exc.args[0]) if exc.args else "cancelled"
                    event = RunEvent(
                        record.run_id,
                        retrying.seq + 1,
                        "run.cancelled",
                        plan.thread_id,
                        RunCancelledData(reason=reason),
                    )
                    if reason == HAND_BACK:
                        if _adoptable(plan):
                            handed_back = self._hand_back(record, traced, event)
                            return
                        event = dataclasses.replace(
                            event, data={**event.data, "reason": SHUTTING_DOWN}
                        )
                    event = _with_retries(event, retries, spent, started)
                    self.runs.append(event)
                    self._finish(record, event, started)
                    self.tracing.finish_run(traced, event)
                    traced_end = True
                    last = event
                    yield event
                    return
                # from the thread's newest checkpoint, if this run wrote it (what finished
                # stays finished); else the attempt saved nothing: start again as asked
                if await self.io(self._wrote_head, plan.thread_id, record.run_id):
                    again, again_from = None, None
                else:
                    again, again_from = plan.input, checkpoint_id
                started_again = {"resumed": True, "retry": retries}
                agen = attempt(
                    again, again_from, started_again, retrying.seq, self._left(plan, spent)
                )
        finally:
            await agen.aclose()  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):
                await keep_recorded()
            if not handed_back and (last is None or not last.is_terminal):
                # the consumer went away mid-run: record it as cancelled. Its last event
                # may have been written after all (a group commit already under way
                # when the consumer was cancelled): the stored seq is the one to follow.
                seq = last.seq + 1 if last else 1
                with contextlib.suppress(Exception):
                    seq = max(seq, self.runs.last_seq(record.run_id) + 1)
                event = RunEvent(
                    record.run_id,
                    seq,
                    "run.cancelled",
                    plan.thread_id,
                    RunCancelledData(reason="the consumer stopped reading"),
                )
                try:
                    self.runs.append(event)
                except Exception:  # the end below must be recorded all the same
                    log.warning("cannot record run %s's cancel event", record.run_id, exc_info=True)
                try:
                    self._finish(record, event, started)
                except Exception:
                    log.warning("cannot record run %s as cancelled", record.run_id, exc_info=True)
                if not traced_end:
                    self.tracing.finish_run(traced, event)

    async def _append(self, event: RunEvent) -> None:
        """Persist a run's event: inline on SQLite; on PostgreSQL through the process's
        group commit (:class:`_GroupCommit`), with the events of its other runs."""
        if not self._remote:
            self.runs.append(event)
            return
        loop = asyncio.get_running_loop()
        group = self._group
        if group is None or group.loop is not loop:  # one per event loop
            group = self._group = _GroupCommit(self.runs, loop)
        await group.append(event)

    async def io(self, fn: Callable[..., _T], *args: Any, **kw: Any) -> _T:
        """A store call (of a run, or a server request): inline on SQLite (microseconds),
        on a worker thread on PostgreSQL, where each is a network round trip (most a
        commit) that must not hold the event loop: a process's runs overlap their waits."""
        if self._remote:
            return await asyncio.to_thread(fn, *args, **kw)
        return fn(*args, **kw)

    def _hand_back(self, record: RunRecord, traced: RunInfo, event: RunEvent) -> bool:
        """Leave a run its server stopped for another process (see :data:`HAND_BACK`):
        nothing is recorded (its thread lease is given up as the run stops here); its
        trace ends. Returns True."""
        log.info("run %s stops here and goes on in another server process", record.run_id)
        self.tracing.finish_run(traced, event)
        return True

    def _spent_before(self, run_id: str) -> Any:
        """What the attempts of an adopted run made before its process died used: its
        finished nodes' usage (a node cut short by the death counts nothing), so the
        run keeps one budget and its end reports every attempt."""
        spent: Any = None
        for event in self.runs.events_of_types(["node.finished"], run_ids=[run_id]):
            usage = event.data.get("usage")
            if isinstance(usage, dict):
                spent = merge_usage(spent, usage)
        return spent

    def _left(self, plan: _Plan, spent: Any) -> float | None:
        """What a retry may still spend: the run's budget less its failed attempts'
        cost (one budget for the run, not one per attempt)."""
        budget = plan.max_cost_usd
        if budget is None and self.agents is not None:
            budget = self.agents.settings.runs.max_cost_usd
        if budget is None:
            return None
        return max(0.0, budget - float((spent or {}).get("cost_usd") or 0.0))

    def _wrote_head(self, thread_id: str, run_id: str) -> bool:
        """Whether the thread's newest checkpoint was written by ``run_id``."""
        head = self.store.heads([thread_id]).get(thread_id)
        return head is not None and head.metadata.get("lgp_run_id") == run_id

    def _retry_now(self, failed: RunEvent, retries: int) -> bool:
        """Whether a failure is retried: retryable, and retries left."""
        return retries < self.retry.max_retries and retryable(failed.data)

    def _retrying(self, failed: RunEvent, attempt: int) -> RunEvent:
        """The ``run.retrying`` event that takes a retryable failure's place."""
        d = failed.data
        data = RunRetryingData(
            attempt=attempt,
            max_retries=self.retry.max_retries,
            delay_s=self.retry.delay(attempt),
            error_type=str(d.get("error_type")),
            message=str(d.get("message")),
            node=d.get("node"),
        )
        if d.get("kind"):
            data["kind"] = d["kind"]
        return RunEvent(failed.run_id, failed.seq, "run.retrying", failed.thread_id, data)

    def _adopted(self, record: RunRecord, cause: str, retries: int) -> RunEvent:
        """The event that opens an adopted run's next attempt (``run.retrying``), or
        ends it (``run.failed``) when it has no retry left."""
        seq = self.runs.last_seq(record.run_id) + 1
        if retries >= self.retry.max_retries:
            failed = {
                "error_type": "ReplicaLost",
                "message": f"{cause}; no retry left ({retries} of {self.retry.max_retries})",
                "traceback": "",
                "node": None,
                "duration_ms": 0.0,
                "kind": "crashed",
            }
            return RunEvent(record.run_id, seq, "run.failed", record.thread_id, failed)
        data = RunRetryingData(
            attempt=retries + 1,
            max_retries=self.retry.max_retries,
            delay_s=0.0,
            error_type="ReplicaLost",
            message=cause,
            node=None,
        )
        return RunEvent(record.run_id, seq, "run.retrying", record.thread_id, data)

    def _with_subscription(self, record: RunRecord, event: RunEvent) -> RunEvent:
        """The run's end with what it cost under a fixed subscription, when its agent
        calls are billed that way: the month's fee over the workflow's runs so far
        this month (``workflow_invocations``), this one included."""
        usage = event.data.get("usage")
        if self.agents is None or not isinstance(usage, dict):
            return event
        if "subscription" not in (usage.get("cost_models") or ()):
            return event
        plan = self.agents.settings.claude_code
        month = (
            datetime.now().astimezone().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        )
        runs = max(self.runs.count_runs(workflow=record.workflow, since=month.timestamp()), 1)
        cost = SubscriptionCost(
            cost_model="fixed_subscription",
            monthly_cost=plan.monthly_cost,
            workflow_invocations=runs,
            cost_per_invocation=round(plan.monthly_cost / runs, 2),
        )
        data = {**event.data, "usage": {**usage, "subscription": cost}}
        return dataclasses.replace(event, data=data)

    def _finish(
        self,
        record: RunRecord,
        event: RunEvent,
        started: float,
        *,
        also: tuple[str, Sequence[Any]] | None = None,
    ) -> None:
        """Record the run's end (or interrupt) that ``event`` says; with ``also`` (a
        statement: the thread's lease given up), append the event too and write
        ``also``, in the same statement on PostgreSQL."""
        status = STATUS_FOR_EVENT[event.type]
        fields: dict[str, Any] = {"duration_ms": round((time.perf_counter() - started) * 1000, 3)}
        if event.type == "run.failed":
            keys = ("error_type", "message", "node", "kind")
            fields["error"] = {k: event.data.get(k) for k in keys if k in event.data}
        usage = event.data.get("usage")
        if usage or record.usage:
            # a resumed run continues its record: its usage adds to what it had
            fields["usage"] = merge_usage(record.usage, usage)
            if isinstance(usage, dict) and "subscription" in usage:
                fields["usage"]["subscription"] = usage["subscription"]
        if event.data.get("trace_url"):
            fields["meta"] = {**(record.meta or {}), "trace_url": event.data["trace_url"]}
        if also is None:
            self.runs.transition(record.run_id, status, **fields)
        else:
            self.runs.transition(record.run_id, status, event=event, also=also, **fields)

    def _require_checkpoint(self, thread_id: str, checkpoint_id: str) -> None:
        self.store.thread(thread_id)
        if self.store.checkpoint(thread_id, checkpoint_id) is None:
            raise NotFoundError(
                f"unknown checkpoint {checkpoint_id!r} in thread {thread_id!r}",
                field="checkpoint_id",
                code="unknown_checkpoint",
                thread_id=thread_id,
            )

    def _check_nodes(self, workflow: LoadedWorkflow, nodes: list[str] | None, field: str) -> None:
        if not nodes or workflow.kind == "factory":
            return
        graph = self.executor(workflow).graph()
        unknown = [n for n in nodes if n not in graph.nodes]
        if unknown:
            known = ", ".join(iter_graph_nodes(graph))
            raise UsageError(
                f"unknown node(s) for {{field}}: {', '.join(unknown)}; nodes: {known}",
                field=field,
                code="unknown_node",
            )

    @staticmethod
    def check_input(workflow: LoadedWorkflow, value: Any) -> None:
        """:class:`UsageError` unless ``value`` can be ``workflow``'s input: an object
        of state keys (or a ``Command``); only a functional ``@entrypoint`` takes any
        value. Runs check it before anything is written."""
        from langgraph.types import Command

        if value is None or isinstance(value, dict | Command) or workflow.kind == "functional":
            return
        if hasattr(value, "model_dump") or dataclasses.is_dataclass(value):
            return  # a typed state object, from Python
        raise UsageError(
            f"{{field}} must be an object of state keys, not {_json_kind(value)}",
            field="input",
            code="not_an_object",
        )


@dataclasses.dataclass
class _Lease:
    """A run's thread lease as its end is recorded: ``ending`` once the statement that
    records the end and gives the lease up is sent (the lease watcher then takes a
    lease found gone for that, not for a loss), ``released`` once it committed."""

    ending: bool = False
    released: bool = False


#: At most this many events go in one statement of a group commit.
GROUP_COMMIT_MAX = 500


class _GroupCommit:
    """Appends the events of a process's runs (on one event loop) that are ready
    together in one statement (:meth:`RunStore.append_many`): on PostgreSQL each
    append is a round trip and a commit, and a busy server's runs each emit an event
    every few milliseconds.

    An event is written at once when nothing is being written; those that arrive
    while a statement is in flight go together in the next one. Each caller waits
    until its own event is persisted (nothing is yielded unwritten), and gets its own
    error: the events of a batch that failed are written again one by one.
    """

    def __init__(self, runs: RunStore, loop: asyncio.AbstractEventLoop) -> None:
        self.runs = runs
        self.loop = loop
        self._pending: list[tuple[RunEvent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, event: RunEvent) -> None:
        done = self.loop.create_future()
        self._pending.append((event, done))
        if self._writer is None:
            self._writer = self.loop.create_task(self._write())
        try:
            await done
        except asyncio.CancelledError:
            # not taken by a statement yet: it is not written (as if never appended)
            for i, (_, waiting) in enumerate(self._pending):
                if waiting is done:
                    del self._pending[i]
                    break
            raise

    async def _write(self) -> None:
        batch: list[tuple[RunEvent, asyncio.Future[None]]] = []
        try:
            while self._pending:
                batch = self._pending[:GROUP_COMMIT_MAX]
                del self._pending[:GROUP_COMMIT_MAX]
                try:
                    await asyncio.to_thread(self.runs.append_many, [e for e, _ in batch])
                except Exception as exc:  # noqa: BLE001 - each caller gets its own outcome
                    if len(batch) == 1:
                        _settle(batch[0][1], exc)
                    else:
                        for event, done in batch:
                            try:
                                await asyncio.to_thread(self.runs.append, event)
                            except Exception as one:  # noqa: BLE001 - its caller's error
                                _settle(done, one)
                            else:
                                _settle(done, None)
                else:
                    for _, done in batch:
                        _settle(done, None)
                batch = []
        finally:
            self._writer = None
            for _, done in batch + self._pending:  # the writer itself was cancelled
                done.cancel()
            self._pending.clear()


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its caller was cancelled meanwhile
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


def _state_keys(graph: Any) -> set[str]:
    builder = getattr(graph, "builder", None)
    channels = getattr(builder, "channels", None)
    if not channels:
        return set()
    return {k for k in channels if not k.startswith("__")}


def _json_kind(value: Any) -> str:
    """``an array``, ``a string``...: the JSON name of a value's type, for messages."""
    kinds = (
        (bool, "a boolean"),
        (int | float, "a number"),
        (str, "a string"),
        (list | tuple, "an array"),
    )
    return next(
        (name for kind, name in kinds if isinstance(value, kind)), f"a {type(value).__name__}"
    )


def _versioned(meta: dict[str, Any] | None, workflow: LoadedWorkflow) -> dict[str, Any] | None:
    """A run's meta with the version of the code it runs (``version``), once recorded."""
    if not workflow.version:
        return meta
    return {**(meta or {}), "version": workflow.version}


def _with_retries(event: RunEvent, retries: int, spent: Any, started: float) -> RunEvent:
    """A run's end after retries: what every attempt used, the whole run's duration,
    and (completed) how many retries it took to recover."""
    if not retries:
        return event
    data = dict(event.data)
    if spent:
        data["usage"] = merge_usage(spent, data.get("usage"))
    data["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    if event.type == "run.completed":
        data["retries"] = retries
    return dataclasses.replace(event, data=data)


def _describe_input(value: Any) -> Any:
    from langgraph.types import Command

    if isinstance(value, Command):
        return {"command": {"resume": value.resume}}
    return value
