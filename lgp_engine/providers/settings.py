"""Configuration of the agent layer: ``llm_providers``, ``agents``, ``mcp_servers``
and ``pricing`` sections of ``config/<env>.yaml`` (validated with the rest of
:class:`lgp_engine.config.Settings`).

Example::

    llm_providers:
      ollama: {base_url: "${OLLAMA_BASE_URL:-http://localhost:11434/v1}"}
      openai: {api_key: "${OPENAI_API_KEY:-}", default_model: gpt-4o-mini}
      lab: {kind: openai_compatible, base_url: "http://gpu-box:8000/v1"}
    agents:
      writer: {provider: ollama, model: llama3.2, fallbacks: ["openai:gpt-4o-mini"]}
    mcp_servers:
      time: {command: python, args: ["-m", "my_time_server"]}
      search: {url: "http://127.0.0.1:9000/mcp", headers: {Authorization: "Bearer ${SEARCH_KEY}"}}
    pricing:
      my-finetune: {input_per_million: 0.3, output_per_million: 1.2}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

ProviderKind = Literal["openai", "ollama", "vllm", "openai_compatible"]
PROVIDER_KINDS: tuple[str, ...] = ("openai", "ollama", "vllm", "openai_compatible")

#: Where each kind of endpoint listens when ``base_url`` is not given.
DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "ollama": "http://localhost:11434/v1",
    "vllm": "http://localhost:8000/v1",
}
#: Kinds whose models run on the user's own hardware: they cost $0.
LOCAL_KINDS = frozenset({"ollama", "vllm"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LlmProviderSettings(_Section):
    """One model endpoint speaking OpenAI's Chat Completions API."""

    kind: ProviderKind | None = Field(
        None,
        description="openai | ollama | vllm | openai_compatible; default: the entry's "
        "name when it is one of those, else openai_compatible",
    )
    enabled: bool = True
    base_url: str | None = Field(None, description="Default: the kind's usual local or public URL")
    api_key: SecretStr | None = Field(None, description="Use ${ENV_VAR}; never logged")
    default_model: str | None = None
    timeout_s: float = Field(60.0, gt=0, description="Per model call, first byte to last")
    max_retries: int = Field(3, ge=0, le=20, description="For 429, 5xx, timeouts, lost connections")
    max_backoff_s: float = Field(30.0, ge=0, description="Longest wait between two attempts")
    structured_output: bool = Field(
        False, description="Ask the endpoint for JSON-schema output (response_format)"
    )
    local: bool | None = Field(None, description="Costs $0 (default: true for ollama and vllm)")

    def kind_for(self, name: str) -> str:
        if self.kind:
            return self.kind
        return name if name in DEFAULT_BASE_URLS else "openai_compatible"

    def url_for(self, name: str) -> str | None:
        return self.base_url or DEFAULT_BASE_URLS.get(self.kind_for(name))

    def is_local(self, name: str) -> bool:
        return self.local if self.local is not None else self.kind_for(name) in LOCAL_KINDS


class AgentRoleSettings(_Section):
    """How one agent role of the workflows runs (overrides the workflow's defaults)."""

    provider: str | None = Field(None, description="A name under llm_providers")
    model: str | None = None
    fallbacks: list[str] = Field(
        default_factory=list,
        description="'provider:model' tried in order when the call still fails "
        "with unavailable, rate_limit or timeout after its retries",
    )
    tools: list[str] | None = Field(
        None, description="Tools the role may call ('server.tool', 'tool', 'server.*')"
    )
    timeout_s: float | None = Field(None, gt=0)
    max_tool_iterations: int | None = Field(None, ge=0)
    max_repairs: int | None = Field(None, ge=0)
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)


class McpServerSettings(_Section):
    """An MCP server: a command speaking stdio, or a streamable HTTP URL."""

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict, description="Added to the process env")
    cwd: str | None = Field(None, description="Relative to the project")
    url: str | None = Field(None, description="Streamable HTTP endpoint, e.g. http://host/mcp")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Sent with every request; use ${ENV_VAR} for secrets"
    )
    enabled: bool = True
    timeout_s: float = Field(30.0, gt=0, description="Per tool call")
    startup_timeout_s: float = Field(20.0, gt=0, description="Start and initialize")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if bool(self.command) == bool(self.url):
            raise ValueError("give either command (stdio) or url (streamable HTTP)")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command else "http"


class PriceSettings(_Section):
    """USD per million tokens of one model, and its context window."""

    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)
    cached_input_per_million: float | None = Field(None, ge=0)
    cache_write_per_million: float | None = Field(None, ge=0)
    context_window: int | None = Field(
        None,
        gt=0,
        description="Tokens the model takes in one call, prompt and answer (its model "
        "card); the workbench's context meter says 'unknown' without it",
    )


class ClaudeCodeSettings(_Section):
    """``llm_providers.claude_code``: how Claude Code nodes run the Claude Code CLI, and
    the defaults of their options (a node's own options win)."""

    enabled: bool = True
    cli_path: str | None = Field(
        None,
        description="The claude executable; default: the one claude-agent-sdk bundles, "
        "else `claude` on PATH",
    )
    base_url: str | None = Field(None, description="ANTHROPIC_BASE_URL for the CLI")
    api_key: SecretStr | None = Field(
        None, description="ANTHROPIC_API_KEY for the CLI (default: its own login); never logged"
    )
    model: str | None = None
    allowed_tools: list[str] | None = Field(
        None,
        description="Tools the CLI may use without asking; bare file tools (Read, Edit...) "
        "are limited to the repository",
    )
    permission_mode: str = Field("acceptEdits", description="The CLI's --permission-mode")
    max_turns: int | None = Field(None, ge=1)
    max_budget_usd: float | None = Field(None, gt=0, description="Per invocation")
    append_system_prompt: str | None = None
    timeout_s: float = Field(1800.0, gt=0, description="Longest one invocation may run")
    stall_timeout_s: float = Field(
        300.0, gt=0, description="Longest the CLI may go without a stream message"
    )
    max_retries: int | None = Field(
        None, ge=0, le=20, description="CLAUDE_CODE_MAX_RETRIES for API errors (CLI default 10)"
    )
    env: dict[str, str] = Field(default_factory=dict, description="Added to the CLI's env")
    add_dirs: list[str] = Field(
        default_factory=list, description="Directories besides the repository it may use"
    )
    mcp_servers: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="MCP servers for Claude Code (its --mcp-config)"
    )
    isolation: Literal["none", "worktree"] = Field(
        "none", description="worktree: each invocation in its own git worktree"
    )
    keep_worktree: bool = False
    mcp_tool: str = Field(
        "mesh_execute", description="The tool nodes with an mcp_session call instead"
    )
    cost_model: Literal["per_token", "fixed_subscription"] = "per_token"
    monthly_cost: float = Field(20.0, ge=0, description="USD a month, for fixed_subscription")
