"""LGP engine: load, run, checkpoint and report LangGraph workflows headless.

The public API; everything else in the package is internal.

Example::

    from lgp_engine import Executor, load_settings, load_workflow, open_checkpoints, resolve_target

    settings = load_settings("experiment")
    workflow = load_workflow(resolve_target("workflows/basic_workflow.py"))
    with open_checkpoints(settings) as store:
        for event in Executor(workflow, store).stream({"input": "hi"}, thread_id="t1"):
            print(event.type, event.node)
"""

from ._version import __version__
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
    TemplateError,
    UsageError,
    WorkflowLoadError,
)
from .events import EVENT_TYPES, RELOAD_EVENT_TYPES, ReloadEvent, RunEvent
from .executor import Executor, RunResult, collect, new_thread_id
from .loader import (
    LoadedWorkflow,
    WorkflowSource,
    load_workflow,
    resolve_in_project,
    resolve_target,
)
from .registry import WorkflowRegistry
from .reload import ReloadOutcome, WorkflowReloader, rerun_plan
from .runner import Runner
from .runs import RunRecord, RunStore
from .templates import Template, create_workflow, get_template, list_templates
from .timetravel import Change, StateAt, diff_values, state_at

__all__ = [
    "EVENT_TYPES",
    "RELOAD_EVENT_TYPES",
    "Change",
    "CheckpointError",
    "CheckpointInfo",
    "CheckpointStore",
    "ConfigError",
    "Executor",
    "LGPError",
    "LoadedWorkflow",
    "NotFoundError",
    "ReloadEvent",
    "ReloadOutcome",
    "RunError",
    "RunEvent",
    "RunRecord",
    "RunResult",
    "RunStore",
    "Runner",
    "Settings",
    "StateAt",
    "Template",
    "TemplateError",
    "ThreadInfo",
    "UsageError",
    "WorkflowLoadError",
    "WorkflowRegistry",
    "WorkflowReloader",
    "WorkflowSource",
    "__version__",
    "collect",
    "create_async_checkpointer",
    "create_checkpointer",
    "create_workflow",
    "diff_values",
    "get_template",
    "list_templates",
    "load_settings",
    "load_workflow",
    "new_thread_id",
    "open_async_checkpoints",
    "open_checkpoints",
    "rerun_plan",
    "resolve_in_project",
    "resolve_target",
    "state_at",
]
