"""What the LangGraph Agent Server API takes, as typed models: the parts several
bodies share (checkpoints, commands, configs) and the fields a ``select`` may name.

Their vocabulary is the official one (``langgraph_sdk.schema``), so the OpenAPI
document says what the server accepts and what an SDK sends; free JSON in them is
:data:`~lgp_engine.server.params.JsonValue`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from ..params import JsonObject, JsonValue, OpenBody, Responses, whole
from ..usage import RunUsage

StreamMode = Literal[
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "custom",
    "debug",
    "tasks",
    "checkpoints",
    "events",
]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
RunStatusName = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
ThreadStatusName = Literal["idle", "busy", "interrupted", "error"]

AssistantField = Literal[
    "assistant_id",
    "graph_id",
    "name",
    "description",
    "config",
    "context",
    "created_at",
    "updated_at",
    "metadata",
    "version",
]
# The select fields name what langgraph_sdk may ask for ("context", "cancel_reason"
# included: this server has no such field, so a selection of them is empty).
ThreadField = Literal[
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "context",
    "status",
    "values",
    "interrupts",
    "error",
]
#: A field of a ThreadState, or ``values.KEY`` for one key of its values.
StateField = (
    Literal[
        "values",
        "next",
        "tasks",
        "checkpoint",
        "metadata",
        "created_at",
        "parent_checkpoint",
        "interrupts",
        "checkpoint_id",
        "parent_checkpoint_id",
    ]
    | Annotated[str, StringConstraints(pattern=r"^values\..+$")]
)
RunField = Literal[
    "run_id",
    "thread_id",
    "assistant_id",
    "created_at",
    "updated_at",
    "status",
    "metadata",
    "kwargs",
    "multitask_strategy",
    "cancel_reason",
]

#: What ``crons.search`` may select ("now" is in langgraph_sdk's list; this server has
#: no such field, so a selection of it is empty).
CronField = Literal[
    "cron_id",
    "assistant_id",
    "thread_id",
    "end_time",
    "schedule",
    "timezone",
    "created_at",
    "updated_at",
    "user_id",
    "payload",
    "next_run_date",
    "metadata",
    "now",
    "on_run_completed",
    "enabled",
]


def dump(model: BaseModel | None) -> dict[str, Any] | None:
    """A body part as the JSON it came as (fields it did not set left out)."""
    return None if model is None else model.model_dump(exclude_unset=True)


class CheckpointRef(OpenBody):
    """Which checkpoint: ``checkpoint_id`` in ``checkpoint_ns`` (the root graph's
    when empty); ``checkpoint_map`` for subgraphs."""

    thread_id: str | None = None
    checkpoint_ns: str | None = None
    checkpoint_id: str | None = None
    checkpoint_map: JsonObject | None = None


class SendTo(OpenBody):
    """``Send(node, input)``: run ``node`` with ``input``."""

    node: str
    input: JsonValue = None


class CommandBody(OpenBody):
    """A ``Command``: resume an interrupt, update the state, go to nodes."""

    update: JsonValue = None
    resume: JsonValue = None
    goto: str | SendTo | list[str | SendTo] | None = None


class StatelessCommand(OpenBody):
    """A ``Command`` for a run without a thread: nothing to resume."""

    update: JsonValue = None
    goto: str | SendTo | list[str | SendTo] | None = None
    resume: Annotated[
        Any,
        WithJsonSchema(
            {"not": {}, "description": "Not allowed: a run without a thread has nothing to resume."}
        ),
    ] = None

    @model_validator(mode="after")
    def _no_resume(self) -> StatelessCommand:
        if "resume" in self.model_fields_set:
            raise ValueError("cannot resume a run without a thread: pass a thread_id")
        return self


#: A whole number >= 1 (a limit), as JSON gives it.
Limit = Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(whole)]


class RunConfig(OpenBody):
    """A RunnableConfig: ``configurable`` (passed as the run's context when it has no
    ``context``), ``tags``, ``metadata``, ``recursion_limit``, ``run_name``,
    ``max_concurrency``. Other keys are not passed on, nor are LangGraph's private
    ``configurable`` keys (``__...``); a ``configurable.thread_id`` or ``checkpoint_id``
    other than the run's own is refused (400), never silently replaced."""

    configurable: JsonObject | None = None
    tags: list[str] | None = None
    metadata: JsonObject | None = None
    recursion_limit: Limit | None = None
    run_name: str | None = None
    max_concurrency: Limit | None = None


# --------------------------------------------------------------------------- answers
# The official JSON shapes this API answers (built by :mod:`.shapes` and
# :mod:`.threads`), for the OpenAPI document: routes return plain JSON, these say
# what it holds. A ``Selected`` shape is what an answer to a ``select`` holds: the
# same fields, each present only when selected.


def _selectable(schema: dict[str, Any]) -> None:
    schema.pop("required", None)


class Interrupt(BaseModel):
    """An interrupt waiting for a value."""

    id: str | None
    value: Any
    response_schema: dict[str, Any] | None = None


class Checkpoint(BaseModel):
    """Where a state is: a checkpoint of a thread (in a subgraph's namespace)."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    checkpoint_map: Any = None


class Task(BaseModel):
    """A task of a state: a node to run (or that ran), with its interrupts."""

    id: str
    name: str | None
    path: list[Any]
    error: Any
    interrupts: list[Interrupt]
    checkpoint: Any
    state: ThreadState | None
    result: Any


class ThreadState(BaseModel):
    """A thread's state at a checkpoint."""

    values: Any
    next: list[str]
    tasks: list[Task]
    metadata: dict[str, Any] | None
    created_at: str | None
    checkpoint: Checkpoint | None
    parent_checkpoint: Checkpoint | None
    interrupts: list[Interrupt]
    checkpoint_id: str | None
    parent_checkpoint_id: str | None


class ThreadStateSelected(ThreadState):
    """A ThreadState with the selected fields only."""

    model_config = ConfigDict(json_schema_extra=_selectable)


class RunError(BaseModel):
    error: str | None
    message: str | None


class Thread(BaseModel):
    """A thread: its metadata, status and newest values."""

    thread_id: str
    created_at: str
    updated_at: str
    state_updated_at: str | None
    metadata: dict[str, Any]
    status: ThreadStatusName
    config: dict[str, Any]
    values: Any
    interrupts: dict[str, list[Interrupt]] = Field(description="Waiting interrupts by task id.")
    error: RunError | None


class ThreadSelected(Thread):
    """A Thread with the selected fields only."""

    model_config = ConfigDict(json_schema_extra=_selectable)


class Assistant(BaseModel):
    """An assistant: a served workflow's own (system) one, or one a client created."""

    assistant_id: str
    graph_id: str
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    name: str
    description: str | None
    created_at: str
    updated_at: str
    version: int


class AssistantSelected(Assistant):
    """An Assistant with the selected fields only."""

    model_config = ConfigDict(json_schema_extra=_selectable)


class AssistantVersion(BaseModel):
    """One version of an assistant, as it was written."""

    assistant_id: str
    graph_id: str
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    name: str
    description: str | None
    created_at: str
    version: int


class AssistantGraph(BaseModel):
    """A drawable graph (LangGraph's ``Graph.to_json()``)."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


class SubgraphSchemas(BaseModel):
    """JSON schemas of a graph (null where LangGraph cannot describe one); the config
    schema is that of its ``configurable`` values."""

    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    state_schema: dict[str, Any] | None
    config_schema: dict[str, Any] | None
    context_schema: dict[str, Any] | None


class AssistantSchemas(SubgraphSchemas):
    """JSON schemas of an assistant's graph (null where LangGraph cannot describe one)."""

    graph_id: str


class InfoFlags(BaseModel):
    """What the server offers, as the Agent Server's ``/info`` flags say it."""

    model_config = ConfigDict(extra="allow")

    assistants: bool
    crons: bool
    langsmith: bool


class InfoHost(BaseModel):
    """Where the server runs (the Agent Server's deployment ids: none here)."""

    kind: str
    project_id: str | None
    host_revision_id: str | None
    revision_id: str | None
    tenant_id: str | None


class ServerInfo(BaseModel):
    """``GET /info``: versions and feature flags."""

    version: str = Field(description="The version of this server (LGP Workbench).")
    langgraph_py_version: str = Field(description="The version of LangGraph it runs.")
    flags: InfoFlags
    host: InfoHost
    metadata: dict[str, Any]


class RunMetadata(BaseModel):
    """The metadata the run was created with, and ``usage``: the tokens and cost of
    its model calls, set by the server (absent when it made none; a ``usage`` key given
    at creation is not kept)."""

    model_config = ConfigDict(extra="allow")

    usage: RunUsage | None = None


class Run(BaseModel):
    """A run, in the official vocabulary."""

    model_config = ConfigDict(validate_by_name=True)

    run_id: str
    thread_id: str
    assistant_id: str
    created_at: str | None
    updated_at: str | None
    status: RunStatusName
    metadata: RunMetadata
    multitask_strategy: MultitaskStrategy
    # (``kwargs`` as an attribute name would shadow the model's ``__init__(**kwargs)``)
    asked: dict[str, Any] = Field(
        alias="kwargs", description="What the run was asked (input, config...)."
    )
    langsmith_session_name: str | None


class RunSelected(Run):
    """A Run with the selected fields only."""

    model_config = ConfigDict(json_schema_extra=_selectable)


class Cron(BaseModel):
    """A cron: the run it starts on each tick of its schedule."""

    cron_id: str
    assistant_id: str
    thread_id: str | None = Field(description="Its thread; null: a new thread each tick.")
    on_run_completed: Literal["delete", "keep"] | None = Field(
        description="What becomes of a tick's new thread (null for a thread's cron)."
    )
    end_time: str | None = Field(description="No tick after this time (null: none).")
    schedule: str = Field(description="5 fields: minute hour day-of-month month day-of-week.")
    timezone: str | None = Field(description="The schedule's IANA time zone (null: UTC).")
    created_at: str
    updated_at: str
    payload: dict[str, Any] = Field(description="The run each tick starts.")
    user_id: str | None
    next_run_date: str | None = Field(description="Its next tick (null: none left).")
    metadata: dict[str, Any]
    enabled: bool


class CronSelected(Cron):
    """A Cron with the selected fields only."""

    model_config = ConfigDict(json_schema_extra=_selectable)


class StateUpdated(BaseModel):
    """The checkpoint an update wrote."""

    checkpoint: dict[str, Any]
    configurable: dict[str, Any]
    checkpoint_id: str | None


def answer(
    model: Any, description: str = "Successful Response", headers: dict[str, Any] | None = None
) -> Responses:
    """A route's JSON success (200), described by ``model`` (the route returns plain
    JSON: nothing is validated or converted on the way out)."""
    response: dict[str, Any] = {"model": model, "description": description}
    if headers:
        response["headers"] = headers
    return {200: response}


#: The paging headers of a search.
PAGINATION: dict[str, Any] = {
    "X-Pagination-Total": {
        "description": "How many match in all.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-Pagination-Next": {
        "description": "The offset of the next page (absent on the last page).",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
    },
}
