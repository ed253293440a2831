"""``create_agent_node``: a LangGraph node whose work a configured model does.

::

    from lgp_engine import create_agent_node

    writer = create_agent_node(
        "ollama",
        {"role_name": "writer", "model": "llama3.2", "prompt": "Write about {topic}"},
    )
    graph.add_node("writer", writer)

The node renders its prompt from the state, runs it on the role's provider and
returns ``{"writer_output": text}`` (and appends the exchange to ``messages`` when
the state has that channel). Which provider and model run the role is decided by
config at run time: ``agents.writer`` in ``config/<env>.yaml`` overrides the
workflow's defaults, so the same file runs on Ollama while experimenting and on
OpenAI when hosted.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..config import CLAUDE_CODE
from ..errors import ConfigError, UsageError
from .base import FALLBACK_KINDS, ProviderError
from .claude_code import ClaudeCodeNode, create_claude_code_node
from .repair import OutputSchema
from .runtime import AgentRuntime, Binding, Injection, scope_of
from .settings import PROVIDER_KINDS

if TYPE_CHECKING:  # LangGraph reads the annotation's name: no import at run time
    from langchain_core.runnables import RunnableConfig

#: Provider types :func:`create_agent_node` knows.
AGENT_PROVIDER_TYPES: tuple[str, ...] = PROVIDER_KINDS
DEFAULT_PROMPT = "{task}"


@dataclass(frozen=True)
class AgentConfig:
    """What a workflow says about one agent role (config may override the model)."""

    role_name: str
    model: str | None = None
    prompt: str | Callable[[Mapping[str, Any]], str] = DEFAULT_PROMPT
    system_prompt: str | None = None
    tools: tuple[str, ...] = ()
    output_schema: type[BaseModel] | dict[str, Any] | None = None
    timeout: float | None = None
    max_tool_iterations: int = 8
    max_repairs: int = 2
    temperature: float | None = None
    max_tokens: int | None = None


class AgentNode:
    """A LangGraph node (async callable) that runs an agent role."""

    def __init__(
        self, provider_type: str, config: AgentConfig, provider_config: Mapping[str, Any] | None
    ) -> None:
        self.provider_type = provider_type
        self.config = config
        self.provider_config = dict(provider_config) if provider_config else None
        self.schema = OutputSchema(config.output_schema) if config.output_schema else None
        self._fields = _template_fields(config.prompt) if isinstance(config.prompt, str) else []
        #: Whether the graph's state has a ``messages`` channel (set when the engine
        #: finds the node in a graph; a state holding ``messages`` says so too).
        self.messages_channel = False

    @property
    def role(self) -> str:
        return self.config.role_name

    @property
    def output_key(self) -> str:
        """The state key its answer is returned under (``{role}_output``)."""
        return f"{self.role}_output"

    def __repr__(self) -> str:
        return f"AgentNode({self.role!r}, {self.provider_type}:{self.config.model})"

    def bind(self, runtime: AgentRuntime) -> Binding:
        """This role's binding under ``runtime``'s config (raises ConfigError)."""
        c = self.config
        return runtime.bind(
            self.role,
            provider=self.provider_type,
            model=c.model,
            explicit=self.provider_config,
            tools=c.tools,
            timeout_s=c.timeout,
            max_tool_iterations=c.max_tool_iterations,
            max_repairs=c.max_repairs,
            temperature=c.temperature,
            max_tokens=c.max_tokens,
        )

    def render(self, state: Mapping[str, Any]) -> str:
        """The task: the prompt template filled from the state (or the prompt
        function's answer)."""
        if not isinstance(self.config.prompt, str):
            return str(self.config.prompt(state))
        missing = [f for f in self._fields if f not in state]
        if missing:
            raise UsageError(
                f"agent role {self.role!r}: the prompt needs state field(s) "
                f"{', '.join(missing)}, which the state does not have",
                field="input",
                code="prompt_field_missing",
                hint=f"give them in the input, e.g. {{{missing[0]!r}: ...}}",
            )
        return self.config.prompt.format_map({k: _show(v) for k, v in state.items()})

    async def __call__(self, state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        from .openai_compat import OpenAICompatProvider
        from .tools import ToolBox

        scope = scope_of(config)
        binding = self.bind(scope.runtime)
        task = self.render(state)
        tools = await ToolBox.for_node(scope, binding.tools, config)
        keep = "messages" in state or self.messages_channel
        endpoints = (binding.endpoint, *binding.fallbacks)
        for i, endpoint in enumerate(endpoints):
            provider = OpenAICompatProvider(
                binding,
                endpoint,
                scope,
                system_prompt=self.config.system_prompt,
                output_schema=self.schema,
                tools=tools,
                keep_messages=keep,
            )
            try:
                return await provider.execute_task(task, state, dict(config))
            except ProviderError as exc:
                if exc.kind not in FALLBACK_KINDS or i == len(endpoints) - 1:
                    raise
                scope.report(
                    "agent.fallback",
                    {
                        "role": self.role,
                        "failed": endpoint.label,
                        "kind": exc.kind,
                        "next": endpoints[i + 1].label,
                    },
                    config,
                )
        raise AssertionError("unreachable")  # pragma: no cover


def create_agent_node(
    provider_type: str,
    config: Mapping[str, Any],
    provider_config: Mapping[str, Any] | None = None,
) -> AgentNode | ClaudeCodeNode:
    """A node that runs an agent role on a model.

    Args:
        provider_type: ``openai``, ``ollama``, ``vllm`` or ``openai_compatible``: the
            role's default provider (a name under ``llm_providers`` in config); or
            ``claude_code``: a Claude Code session (``config`` then holds
            ``role_name``, ``repository``, ``mcp_session`` and the options of
            :func:`~lgp_engine.providers.claude_code.create_claude_code_node`).
        config: ``role_name`` (required), ``model``, ``prompt`` (a template over state
            fields; default ``{task}``), ``system_prompt``, ``tools`` (allow-list of
            MCP tools: ``"server.tool"``, ``"tool"``, ``"server.*"``),
            ``output_schema`` (pydantic model or JSON schema), ``timeout`` (s),
            ``max_tool_iterations``, ``max_repairs``, ``temperature``, ``max_tokens``.
        provider_config: The provider's settings (``base_url``, ``api_key``...) when
            the config has no ``llm_providers`` entry for it.

    Returns ``{f"{role_name}_output": answer}`` as the node's update, plus the
    exchange on ``messages`` when the state has that channel.
    """
    if provider_type == CLAUDE_CODE:
        options = dict(config)
        role = options.pop("role_name", None)
        if not role or "repository" not in options:
            raise ConfigError(
                "a claude_code agent node needs a role_name and a repository",
                field="role_name" if not role else "repository",
            )
        repository = options.pop("repository")
        return create_claude_code_node(
            role, repository, options.pop("mcp_session", None), **options
        )
    if provider_type not in AGENT_PROVIDER_TYPES:
        raise ConfigError(
            f"unknown provider type {provider_type!r} "
            f"(known: {', '.join((*AGENT_PROVIDER_TYPES, CLAUDE_CODE))})",
            field="provider_type",
            code="unknown_provider",
        )
    known = set(AgentConfig.__dataclass_fields__)
    unknown = sorted(set(config) - known)
    if unknown:
        raise ConfigError(
            f"unknown agent option(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            field="config",
            code="unknown_option",
        )
    if not config.get("role_name"):
        raise ConfigError("an agent node needs a role_name", field="role_name")
    options = dict(config)
    if "tools" in options:
        options["tools"] = tuple(options["tools"] or ())
    return AgentNode(provider_type, AgentConfig(**options), provider_config)


def find_agent_nodes(graph: Any) -> Iterator[tuple[str, AgentNode]]:
    """The agent nodes of a StateGraph or compiled graph (subgraphs included)."""
    builder = getattr(graph, "builder", graph)
    nodes = getattr(builder, "nodes", None)
    if not isinstance(nodes, Mapping):
        return
    for name, spec in nodes.items():
        runnable = getattr(spec, "runnable", spec)
        for attr in ("afunc", "func"):
            fn = getattr(runnable, attr, None)
            if isinstance(fn, AgentNode):
                fn.messages_channel = fn.messages_channel or "messages" in _channels(graph)
                yield name, fn
                break
        else:
            if hasattr(runnable, "builder"):  # a compiled subgraph as a node
                yield from find_agent_nodes(runnable)


def injections(graph: Any, runtime: AgentRuntime) -> list[Injection]:
    """Bind every agent role of ``graph``; ConfigError names the first that cannot."""
    return [
        Injection(name, node.role, node.bind(runtime)) for name, node in find_agent_nodes(graph)
    ]


def _template_fields(template: str) -> list[str]:
    fields = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name:
            head = name.split(".", 1)[0].split("[", 1)[0]
            if head and head not in fields:
                fields.append(head)
    return fields


def _show(value: Any) -> Any:
    """A state value as the prompt shows it: text as is, structures as JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _channels(graph: Any) -> set[str]:
    builder = getattr(graph, "builder", graph)
    return set(getattr(builder, "channels", None) or getattr(graph, "channels", None) or ())


def agent_roles(graph: Any) -> Sequence[str]:
    """The role names of the agent nodes of ``graph``."""
    return [node.role for _, node in find_agent_nodes(graph)]
