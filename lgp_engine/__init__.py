"""LGP engine: load, run, checkpoint and report LangGraph workflows headless.

The public API; everything else in the package is internal.

Example::

    from lgp_engine import Executor, load_settings, load_workflow, open_checkpoints, resolve_target

    settings = load_settings("experiment")
    workflow = load_workflow(resolve_target("workflows/basic_workflow.py"))
    with open_checkpoints(settings) as store:
        for event in Executor(workflow, store).stream({"input": "hi"}, thread_id="t1"):
            print(event.type, event.node)

The hosted API is part of the public API too (:class:`BackgroundServer`,
:class:`Catalog`, :func:`build_catalog`), but it is imported on first use: ``import
lgp_engine`` never loads FastAPI or uvicorn, so the engine starts fast and runs
where they are not installed.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .agent_sessions import (
    AGENT_EVENT_TYPES,
    AgentActivity,
    AgentErrorEntry,
    AgentErrorReport,
    AgentMetrics,
    AgentSession,
    AgentSummary,
    AgentTimeline,
    AgentTimelineEntry,
    AgentToolReport,
    AgentToolStat,
    agent_errors,
    agent_metrics,
    agent_summary,
    agent_timeline,
    agent_tool_calls,
    describe_agent_event,
    follow_agent_activity,
    latest_agent_session,
    list_agent_sessions,
    resolve_agent_activity,
)
from .assistants import (
    AssistantRecord,
    AssistantStore,
    AssistantVersion,
    system_assistant_id,
)
from .checkpointing import (
    CheckpointInfo,
    CheckpointStore,
    ThreadInfo,
    create_async_checkpointer,
    create_checkpointer,
    open_async_checkpoints,
    open_checkpoints,
)
from .config import Settings, load_settings
from .errors import (
    CheckpointError,
    ConfigError,
    LGPError,
    NotFoundError,
    RunError,
    StoreError,
    TemplateError,
    UsageError,
    WorkflowLoadError,
)
from .events import (
    ANOMALY_EVENT_TYPES,
    EVENT_TYPES,
    RELOAD_EVENT_TYPES,
    AnomalyEvent,
    ReloadEvent,
    RunEvent,
    asks_for_value,
)
from .executor import Executor, RunResult, collect, new_thread_id
from .jsonable import dumps, to_jsonable
from .loader import (
    LoadedWorkflow,
    WorkflowSource,
    load_workflow,
    resolve_in_project,
    resolve_target,
    workflow_files,
)
from .long_term import LongTermStore, StoreItem, parse_namespace
from .providers.base import ERROR_KINDS, LLMProvider, ProviderError, Usage
from .providers.claude_code import ClaudeCodeNode, create_claude_code_node
from .providers.factory import AgentNode, create_agent_node
from .providers.pricing import PriceTable, format_usd
from .providers.replay import RecordingMismatch
from .providers.runtime import AgentRuntime, Injection, run_usage
from .providers.tools import McpSession, ToolCallInfo, mcp_session
from .readable_values import MessageView, as_message, inline, message_text, pretty, readable
from .recorded_replay import (
    RecordingSource,
    ReplayComparison,
    compare_replay,
    find_recording,
    recording_start,
)
from .registry import WorkflowRegistry
from .reload import ReloadOutcome, WorkflowReloader, rerun_plan
from .run_config import check_run_config
from .runner import NO_VALUE, Admission, Runner
from .runs import RunRecord, RunStore
from .schemas import graph_schemas, input_schema, run_schemas
from .state_changes import DiffLine, describe_diff
from .status import IN_FLIGHT, RESUMABLE, STATUS_FOR_EVENT, TERMINAL, RunStatus
from .templates import (
    CreatedWorkflow,
    SavedWorkflow,
    Template,
    check_new_workflow,
    create_workflow,
    get_template,
    list_templates,
    normalize_workflow_name,
    save_workflow_as,
    templates_dir,
    validate_workflow_name,
)
from .thread_summaries import (
    MAX_THREAD_NAME,
    Lineage,
    ThreadStatus,
    ThreadSummary,
    input_title,
    rename_thread,
    summarize_threads,
)
from .timetravel import (
    Change,
    HistoryNode,
    MessagesAt,
    StateAt,
    SubgraphState,
    diff_values,
    flatten_tree,
    history_tree,
    messages_at,
    state_at,
    subgraph_states,
)
from .tracing.base import RunInfo, Tracer, Tracing
from .tracing.factory import open_tracing
from .tracing.sanitize import sanitize

if TYPE_CHECKING:  # imported on first use by __getattr__ below: FastAPI, uvicorn
    from .analysis import WARNING_CODES, GraphAnalysis, GraphWarning, analyze_workflow
    from .ops.incidents import Incident, IncidentStore
    from .ops.versions import VersionStore, WorkflowVersion
    from .server.background import BackgroundServer
    from .server.catalog import Catalog, build_catalog

# Public names whose modules load the web stack (or that few programs need), by the
# module that defines them.
_LAZY = {
    "GraphAnalysis": ".analysis",
    "GraphWarning": ".analysis",
    "WARNING_CODES": ".analysis",
    "analyze_workflow": ".analysis",
    "BackgroundServer": ".server.background",
    "Catalog": ".server.catalog",
    "build_catalog": ".server.catalog",
    "Incident": ".ops.incidents",
    "IncidentStore": ".ops.incidents",
    "VersionStore": ".ops.versions",
    "WorkflowVersion": ".ops.versions",
}


def __getattr__(name: str) -> Any:
    """Import the server's public names when first asked for (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AGENT_EVENT_TYPES",
    "ANOMALY_EVENT_TYPES",
    "ERROR_KINDS",
    "EVENT_TYPES",
    "IN_FLIGHT",
    "MAX_THREAD_NAME",
    "NO_VALUE",
    "RELOAD_EVENT_TYPES",
    "RESUMABLE",
    "STATUS_FOR_EVENT",
    "TERMINAL",
    "WARNING_CODES",
    "Admission",
    "AgentActivity",
    "AgentErrorEntry",
    "AgentErrorReport",
    "AgentMetrics",
    "AgentNode",
    "AgentRuntime",
    "AgentSession",
    "AgentSummary",
    "AgentTimeline",
    "AgentTimelineEntry",
    "AgentToolReport",
    "AgentToolStat",
    "AnomalyEvent",
    "AssistantRecord",
    "AssistantStore",
    "AssistantVersion",
    "BackgroundServer",
    "Catalog",
    "Change",
    "CheckpointError",
    "CheckpointInfo",
    "CheckpointStore",
    "ClaudeCodeNode",
    "ConfigError",
    "CreatedWorkflow",
    "DiffLine",
    "Executor",
    "GraphAnalysis",
    "GraphWarning",
    "HistoryNode",
    "Incident",
    "IncidentStore",
    "Injection",
    "LGPError",
    "LLMProvider",
    "Lineage",
    "LoadedWorkflow",
    "LongTermStore",
    "McpSession",
    "MessageView",
    "MessagesAt",
    "NotFoundError",
    "PriceTable",
    "ProviderError",
    "RecordingMismatch",
    "RecordingSource",
    "ReloadEvent",
    "ReloadOutcome",
    "ReplayComparison",
    "RunError",
    "RunEvent",
    "RunInfo",
    "RunRecord",
    "RunResult",
    "RunStatus",
    "RunStore",
    "Runner",
    "SavedWorkflow",
    "Settings",
    "StateAt",
    "StoreError",
    "StoreItem",
    "SubgraphState",
    "Template",
    "TemplateError",
    "ThreadInfo",
    "ThreadStatus",
    "ThreadSummary",
    "ToolCallInfo",
    "Tracer",
    "Tracing",
    "Usage",
    "UsageError",
    "VersionStore",
    "WorkflowLoadError",
    "WorkflowRegistry",
    "WorkflowReloader",
    "WorkflowSource",
    "WorkflowVersion",
    "__version__",
    "agent_errors",
    "agent_metrics",
    "agent_summary",
    "agent_timeline",
    "agent_tool_calls",
    "analyze_workflow",
    "as_message",
    "asks_for_value",
    "build_catalog",
    "check_new_workflow",
    "check_run_config",
    "collect",
    "compare_replay",
    "create_agent_node",
    "create_async_checkpointer",
    "create_checkpointer",
    "create_claude_code_node",
    "create_workflow",
    "describe_agent_event",
    "describe_diff",
    "diff_values",
    "dumps",
    "find_recording",
    "flatten_tree",
    "follow_agent_activity",
    "format_usd",
    "get_template",
    "graph_schemas",
    "history_tree",
    "inline",
    "input_schema",
    "input_title",
    "latest_agent_session",
    "list_agent_sessions",
    "list_templates",
    "load_settings",
    "load_workflow",
    "mcp_session",
    "message_text",
    "messages_at",
    "new_thread_id",
    "normalize_workflow_name",
    "open_async_checkpoints",
    "open_checkpoints",
    "open_tracing",
    "parse_namespace",
    "pretty",
    "readable",
    "recording_start",
    "rename_thread",
    "rerun_plan",
    "resolve_agent_activity",
    "resolve_in_project",
    "resolve_target",
    "run_schemas",
    "run_usage",
    "sanitize",
    "save_workflow_as",
    "state_at",
    "subgraph_states",
    "summarize_threads",
    "system_assistant_id",
    "templates_dir",
    "to_jsonable",
    "validate_workflow_name",
    "workflow_files",
]
