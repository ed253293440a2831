"""What agent nodes need at run time, and how they talk back to the engine.

:class:`AgentRuntime` is built once per process from the environment's settings
(the :class:`~lgp_engine.Runner` owns it): it binds agent roles to providers and
models (``agents:`` over the workflow's defaults), prices calls, redacts secrets
and owns the MCP sessions. For each run the executor puts a :class:`RunScope` in
the run's LangGraph config (``configurable["__lgp_run"]``), where every node of the
run finds it. A node reports tool calls, repairs and usage through the scope; the
reports travel in LangGraph's ``custom`` stream, marked with :data:`MARK`, so they
arrive in order with the node's tokens and the executor turns them into typed
events. Outside the engine (plain LangGraph, ``langgraph dev``) nodes still work:
they get a scope over the project's default settings, and reports are dropped.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import Settings, load_settings
from ..errors import ConfigError
from .base import ProviderError, Usage
from .pricing import PriceTable
from .redact import Redactor, secrets_from_env
from .settings import LlmProviderSettings

if TYPE_CHECKING:
    from .mcp import McpManager
    from .tools import ToolCallInfo

#: Key of the run scope in ``config["configurable"]`` (``__`` keeps LangGraph from
#: copying it into checkpoint metadata).
SCOPE_KEY = "__lgp_run"
#: Marks a ``custom`` stream payload as a report for the engine, not user data.
MARK = "__lgp_event__"


@dataclass(frozen=True)
class Endpoint:
    """One resolved model endpoint: a provider entry and a model on it."""

    provider: str  # the name under llm_providers (or the provider type)
    kind: str  # openai | ollama | vllm | openai_compatible
    model: str
    settings: LlmProviderSettings
    config_key: str  # where it is configured, for messages: "llm_providers.ollama"

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def base_url(self) -> str | None:
        return self.settings.url_for(self.provider)

    @property
    def local(self) -> bool:
        return self.settings.is_local(self.provider)


@dataclass(frozen=True)
class Binding:
    """How one agent role runs: its endpoint, fallbacks and limits."""

    role: str
    endpoint: Endpoint
    fallbacks: tuple[Endpoint, ...] = ()
    tools: tuple[str, ...] = ()
    timeout_s: float | None = None
    max_tool_iterations: int = 8
    max_repairs: int = 2
    temperature: float | None = None
    max_tokens: int | None = None
    source: str = "workflow"  # "workflow" or "config" (agents.<role> in the YAML)


@dataclass(frozen=True)
class Injection:
    """An agent role found in a workflow and what it was bound to (printed by the CLI)."""

    node: str
    role: str
    binding: Binding

    def describe(self) -> str:
        return f"Injected {self.role}_agent ({self.binding.endpoint.label})"


class AgentRuntime:
    """The agent layer of one process: bindings, prices, redaction, MCP sessions."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prices = PriceTable(settings.pricing)
        self.redactor = Redactor(_configured_secrets(settings))
        self._mcp: McpManager | None = None
        self._lock = threading.Lock()
        #: Where a Claude Code session stands (set by the Runner from its stores):
        #: ``(run_id, checkpoint, tip)`` of each of its recorded invocations, and the
        #: steps that made a checkpoint's state. A node resumes a session in place only
        #: when its state holds the session's newest invocation; otherwise it branches
        #: the conversation at the invocation its state holds.
        self.session_invocations: Callable[[str], list[tuple[str, str, str]]] = lambda _: []
        self.lineage_steps: Callable[[str, str], set[tuple[str, str]]] | None = None
        #: Called (on a worker thread) before each MCP tool call of this process's
        #: runs with its :class:`~lgp_engine.providers.tools.ToolCallInfo`; it may
        #: block, holding the call (the workbench's "break when tool X is called").
        self.tool_gate: Callable[[ToolCallInfo], None] | None = None

    # -- configuration ------------------------------------------------------------
    @property
    def config_name(self) -> str:
        """The config file as the user knows it (``config/experiment.yaml``)."""
        file = self.settings.config_file
        if file is None:
            return f"config/{self.settings.environment}.yaml"
        try:
            return str(file.relative_to(self.settings.project_dir))
        except ValueError:
            return str(file)

    def endpoint(
        self,
        provider: str,
        model: str | None,
        *,
        role: str,
        explicit: Mapping[str, Any] | None = None,
        model_key: str | None = None,
    ) -> Endpoint:
        """Resolve ``provider`` (a name under ``llm_providers``, or a provider type
        given ``explicit`` settings in code) and a model on it."""
        entry = self.settings.llm_providers.get(provider)
        key = f"llm_providers.{provider}"
        if entry is None and explicit is not None:
            entry = LlmProviderSettings(**{"kind": _kind_of(provider), **explicit})
            key = f"the provider_config of role {role!r}"
        if entry is None:
            known = ", ".join(sorted(self.settings.llm_providers)) or "none"
            raise ConfigError(
                f"agent role {role!r} uses provider {provider!r}, which is not configured "
                f"in {self.config_name} (configured: {known})",
                field=key,
                code="provider_not_configured",
                hint=f"add {key} to {self.config_name}, or bind the role to another "
                f"provider under agents.{role}.provider",
            )
        if not entry.enabled:
            raise ConfigError(
                f"agent role {role!r} uses provider {provider!r}, which is disabled "
                f"({key}.enabled is false in {self.config_name})",
                field=f"{key}.enabled",
                code="provider_disabled",
            )
        kind = entry.kind_for(provider)
        if kind == "openai" and not (entry.api_key and entry.api_key.get_secret_value()):
            raise ConfigError(
                f"agent role {role!r} uses provider {provider!r}, which has no API key "
                f"({key}.api_key is empty in {self.config_name})",
                field=f"{key}.api_key",
                code="provider_no_key",
                hint="set OPENAI_API_KEY, or api_key: ${OPENAI_API_KEY} under " + key,
            )
        if entry.url_for(provider) is None:
            raise ConfigError(
                f"agent role {role!r} uses provider {provider!r}, which has no base_url",
                field=f"{key}.base_url",
                code="provider_no_url",
            )
        chosen = model or entry.default_model
        if not chosen:
            raise ConfigError(
                f"agent role {role!r} names no model and {key}.default_model is not set",
                field=model_key or f"agents.{role}.model",
                code="model_missing",
            )
        return Endpoint(provider, kind, chosen, entry, key)

    def bind(
        self,
        role: str,
        *,
        provider: str,
        model: str | None,
        explicit: Mapping[str, Any] | None = None,
        tools: tuple[str, ...] = (),
        timeout_s: float | None = None,
        max_tool_iterations: int = 8,
        max_repairs: int = 2,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Binding:
        """The binding of ``role``: the workflow's defaults with ``agents.<role>`` of
        the config on top."""
        over = self.settings.agents.get(role)
        source = "workflow"
        if over is not None:
            source = "config"
            if over.provider and over.provider != provider:
                explicit = None  # settings given in code belong to the code's provider
                # a model named in code belongs to the code's provider too
                model = over.model
            provider = over.provider or provider
            model = over.model or model
        endpoint = self.endpoint(provider, model, role=role, explicit=explicit)
        fallbacks = []
        for i, spec in enumerate(over.fallbacks if over else ()):
            name, _, fb_model = spec.partition(":")
            fallbacks.append(
                self.endpoint(
                    name, fb_model or None, role=role, model_key=f"agents.{role}.fallbacks.{i}"
                )
            )
        return Binding(
            role=role,
            endpoint=endpoint,
            fallbacks=tuple(fallbacks),
            tools=tuple(over.tools) if over and over.tools is not None else tools,
            timeout_s=(over.timeout_s if over and over.timeout_s else None) or timeout_s,
            max_tool_iterations=_pick(over, "max_tool_iterations", max_tool_iterations),
            max_repairs=_pick(over, "max_repairs", max_repairs),
            temperature=_pick(over, "temperature", temperature),
            max_tokens=_pick(over, "max_tokens", max_tokens),
            source=source,
        )

    # -- MCP ------------------------------------------------------------------------
    @property
    def mcp(self) -> McpManager:
        """The process's MCP sessions (created on first use; servers start lazily)."""
        with self._lock:
            if self._mcp is None:
                from .mcp import McpManager

                self._mcp = McpManager(
                    self.settings.mcp_servers, project_dir=self.settings.project_dir
                )
            return self._mcp

    @property
    def has_mcp(self) -> bool:
        return self._mcp is not None

    def close(self) -> None:
        """Stop what the runtime started (MCP server processes)."""
        with self._lock:
            mcp, self._mcp = self._mcp, None
        if mcp is not None:
            mcp.close()

    # -- runs -------------------------------------------------------------------------
    def scope(
        self,
        run_id: str,
        *,
        max_cost_usd: float | None = None,
        thread_id: str | None = None,
        branch: bool = False,
    ) -> RunScope:
        """A fresh scope for one run (``branch``: it starts from a checkpoint that may
        not be the thread's newest: a replay or fork)."""
        budget = max_cost_usd if max_cost_usd is not None else self.settings.runs.max_cost_usd
        return RunScope(self, run_id, budget, thread_id=thread_id, branch=branch)


@dataclass
class RunScope:
    """One run's view of the agent layer: budget, reports to the engine."""

    runtime: AgentRuntime
    run_id: str | None
    max_cost_usd: float | None = None
    thread_id: str | None = None
    branch: bool = False
    spent_usd: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    #: A recorded replay (:class:`~lgp_engine.providers.replay.Replay`) that answers
    #: the run's model and tool calls; None: they are made live.
    replay: Any = None
    #: MCP servers whose tool list this run has recorded.
    listed: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def redact(self) -> Redactor:
        return self.runtime.redactor

    def report(self, type_: str, data: dict[str, Any], config: Mapping[str, Any]) -> None:
        """Send ``data`` to the engine as a ``type_`` event of the node running with
        ``config`` (a no-op outside the engine)."""
        writer = _writer(config)
        if writer is None:
            return
        meta = config.get("metadata") or {}
        payload = {
            MARK: type_,
            "node": meta.get("langgraph_node"),
            "task_id": task_id_of(config),
            "data": self.redact(data),
        }
        writer(payload)

    @property
    def remaining_usd(self) -> float | None:
        """What the run may still spend (None: no budget)."""
        if self.max_cost_usd is None:
            return None
        with self._lock:
            return max(self.max_cost_usd - self.spent_usd, 0.0)

    def check_budget(self, next_call_usd: float, *, role: str, endpoint: Endpoint) -> None:
        """Refuse a call that would take the run past its budget."""
        limit = self.max_cost_usd
        if limit is None:
            return
        with self._lock:
            spent = self.spent_usd
        if spent + next_call_usd > limit:
            raise ProviderError(
                "budget_exceeded",
                f"the run has cost ${spent:.4f}; the next call of {role!r} to "
                f"{endpoint.label} (about ${next_call_usd:.4f}) would pass its budget of "
                f"${limit:.4f}",
                provider=endpoint.provider,
                model=endpoint.model,
                role=role,
                hint="raise runs.max_cost_usd in the config, or the run's max_cost_usd",
                spent_usd=round(spent, 6),
                max_cost_usd=limit,
            )

    def record(self, usage: Usage, config: Mapping[str, Any]) -> Usage:
        """Count a finished model call (priced here) and report it to the engine."""
        with self._lock:
            self.spent_usd += usage.cost_usd
            self.calls.append(usage.to_dict())
        self.report("usage", usage.to_dict(), config)
        return usage


def run_usage(config: Mapping[str, Any] | None) -> Any:
    """The usage of the model calls of the run so far (for a node that reports cost,
    e.g. a comparison at the end of a workflow). Pass the node's config."""
    from .base import sum_usage

    return sum_usage(list(scope_of(config).calls))


def task_id_of(config: Mapping[str, Any]) -> str | None:
    """The LangGraph task id of the node running with ``config``."""
    ns = (config.get("metadata") or {}).get("langgraph_checkpoint_ns") or ""
    last = ns.split("|")[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _writer(config: Mapping[str, Any]) -> Any:
    from langgraph.config import get_stream_writer

    try:
        return get_stream_writer()
    except RuntimeError:  # not inside a LangGraph node
        return None


def scope_of(config: Mapping[str, Any] | None) -> RunScope:
    """The run scope in a node's config, or one over the default settings."""
    scope = ((config or {}).get("configurable") or {}).get(SCOPE_KEY)
    if isinstance(scope, RunScope):
        return scope
    return RunScope(default_runtime(), None)


@functools.cache
def default_runtime() -> AgentRuntime:
    """The runtime of a process that runs agent nodes outside the engine (plain
    LangGraph): the settings of the current directory's project."""
    return AgentRuntime(load_settings())


def _configured_secrets(settings: Settings) -> Iterator[str]:
    for entry in settings.llm_providers.values():
        if entry.api_key is not None:
            yield entry.api_key.get_secret_value()
    if settings.claude_code.api_key is not None:
        yield settings.claude_code.api_key.get_secret_value()
    yield from (v for k, v in settings.claude_code.env.items() if _secretish(k))
    for server in settings.mcp_servers.values():
        yield from server.headers.values()
        yield from (v for k, v in server.env.items() if _secretish(k))
    yield from settings.server.keys
    yield from secrets_from_env()


def _secretish(name: str) -> bool:
    from .redact import is_secret_key

    return is_secret_key(name)


def _kind_of(provider: str) -> str:
    return provider if provider in ("openai", "ollama", "vllm") else "openai_compatible"


def _pick(over: Any, name: str, default: Any) -> Any:
    value = getattr(over, name, None) if over is not None else None
    return default if value is None else value


__all__ = [
    "MARK",
    "SCOPE_KEY",
    "AgentRuntime",
    "Binding",
    "Endpoint",
    "Injection",
    "RunScope",
    "default_runtime",
    "run_usage",
    "scope_of",
    "task_id_of",
]
