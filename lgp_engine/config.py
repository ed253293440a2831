"""Environment configuration: ``config/<env>.yaml`` validated into :class:`Settings`.

The environment is chosen by ``--env``, else ``LGP_ENV``, else ``experiment``.
Values may reference the process environment as ``${VAR}`` or ``${VAR:-default}``
(``$${`` writes a literal ``${``). Any problem is a :class:`ConfigError` naming the
file, the line and the key, so a user can go straight to it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .providers.settings import (
    AgentRoleSettings,
    ClaudeCodeSettings,
    LlmProviderSettings,
    McpServerSettings,
    PriceSettings,
)

KNOWN_ENVIRONMENTS = ("experiment", "hosted", "production")
DEFAULT_ENVIRONMENT = "experiment"
_ENV_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckpointerSettings(_Section):
    """Where thread state (LangGraph checkpoints) lives."""

    backend: Literal["sqlite", "memory", "postgres"] = "sqlite"
    path: str = Field(".lgp/checkpoints.db", description="SQLite file, relative to the project")
    busy_timeout_ms: int = Field(5000, ge=0, description="How long a writer waits for a lock")
    dsn: SecretStr | None = Field(
        None,
        description="PostgreSQL connection URL (backend: postgres), usually ${LGP_DATABASE_URL}",
    )
    pool_size: int = Field(10, ge=1, le=200, description="PostgreSQL connections per process")

    @model_validator(mode="after")
    def _postgres_needs_dsn(self) -> CheckpointerSettings:
        if self.backend == "postgres" and not (self.dsn and self.dsn.get_secret_value()):
            raise ValueError(
                "backend postgres needs a dsn (e.g. dsn: ${LGP_DATABASE_URL}, "
                "postgresql://user@host:5432/db)"
            )
        return self

    @property
    def postgres_dsn(self) -> str:
        """The PostgreSQL URL (backend ``postgres``); never log it, it may hold a password."""
        return self.dsn.get_secret_value() if self.dsn else ""


class StoreIndexSettings(_Section):
    """Semantic search in the long-term store (``index`` of ``langgraph.json``'s ``store``)."""

    dims: int = Field(ge=1, description="Length of the embedding vectors")
    embed: str = Field(
        description="PROVIDER:MODEL (a name under llm_providers, or openai/ollama/vllm), "
        "or path/to/file.py:function"
    )
    fields: list[str] | None = Field(None, description="JSON paths to embed (default: all)")


class StoreTtlSettings(_Section):
    """Expiry of long-term store items (``ttl`` of ``langgraph.json``'s ``store``)."""

    default_ttl: float | None = Field(None, gt=0, description="Minutes an item lives")
    refresh_on_read: bool = Field(True, description="Reading an item restarts its clock")
    sweep_interval_minutes: int | None = Field(
        None, ge=1, description="How often expired items are deleted"
    )


class StoreSettings(_Section):
    """The long-term memory store every run gets (``runtime.store``, ``get_store()``).

    ``index`` and ``ttl`` of a project's ``langgraph.json`` ``store`` section win over
    these for its graphs.
    """

    backend: Literal["sqlite", "memory", "none"] | None = Field(
        None, description="Default: the checkpointer's (SQLite in the same file, or memory)"
    )
    index: StoreIndexSettings | None = None
    ttl: StoreTtlSettings | None = None


class NodeCacheSettings(_Section):
    """The cache of nodes that declare a ``cache_policy`` (LangGraph ``CachePolicy``)."""

    backend: Literal["sqlite", "memory", "none"] | None = Field(
        None, description="Default: the checkpointer's (SQLite in the same file, or memory)"
    )
    invalidate_on: Literal["code", "git"] = Field(
        "code",
        description="code: an edit of the workflow's code drops its entries; git: also a "
        "new commit of the project's repository",
    )


class WorkflowSettings(_Section):
    """Where named workflows and templates are found."""

    registry: str = Field("workflows/config.yaml", description="Named workflows for `lgp run NAME`")
    directory: str = Field("workflows", description="Where `lgp create` writes new workflows")
    templates: str | None = Field(None, description="Template folder; default: the bundled one")


class RunSettings(_Section):
    """The run store: how long run records and their event logs are kept."""

    max_age_days: float | None = Field(30, gt=0, description="Delete finished runs older")
    max_runs: int | None = Field(10_000, ge=1, description="Keep at most this many finished runs")
    max_cost_usd: float | None = Field(
        None, ge=0, description="A run stops (budget_exceeded) before a model call would pass it"
    )
    lease_s: float = Field(
        30,
        ge=1,
        le=3600,
        description="A running run renews its thread's lease within this time; a process "
        "that died frees its threads when it expires (at once on the same host)",
    )
    max_retries: int = Field(
        3,
        ge=0,
        le=20,
        description="A run that fails with a retryable error (a provider's rate_limit, "
        "unavailable, timeout or stalled, a lost database connection) continues from its "
        "last checkpoint up to this many times",
    )
    retry_backoff_s: float = Field(
        1.0, ge=0, le=300, description="First retry's delay; doubled each time, with jitter"
    )
    retry_backoff_max_s: float = Field(30.0, ge=0, le=3600, description="Longest retry delay")


class ServerSettings(_Section):
    """The hosted HTTP API (`lgp serve`)."""

    host: str = "127.0.0.1"
    port: int = Field(8123, ge=0, le=65535)
    api_keys: list[str] = Field(
        default_factory=list,
        description="Bearer keys (empty ones are ignored, so `${LGP_API_KEY:-}` may be unset)",
    )
    when_no_key: Literal["open_on_loopback", "generate", "refuse"] = Field(
        "open_on_loopback",
        description="Without a key: serve openly, but only on "
        "127.0.0.1 (open_on_loopback); make one at start and print it (generate); or "
        "refuse to start (refuse)",
    )
    rate_limit_per_minute: int = Field(100, ge=0, description="Per key; 0 turns it off")
    rate_limit_store: Literal["auto", "memory", "database", "redis"] = Field(
        "auto",
        description="Where requests are counted: auto = Redis when redis_url is set, else "
        "the PostgreSQL database, else the SQLite file with several workers, else memory; "
        "database = the checkpointer's PostgreSQL or SQLite file even with one process "
        "(several `lgp serve` on one file); memory = each process alone",
    )
    redis_url: SecretStr | None = Field(
        None,
        description="Redis shared by every process and replica (rate limits), usually "
        "${LGP_REDIS_URL:-}; redis://[:password@]host:6379/0, rediss:// or unix://",
    )
    redis_key_prefix: str = Field(
        "lgp:", description="Prepended to every Redis key (several projects on one Redis)"
    )
    auth_failures_per_minute: int = Field(
        10, ge=1, description="Wrong or missing keys per client address before 429"
    )
    max_body_bytes: int = Field(1_048_576, ge=1)
    cors_origins: list[str] = Field(default_factory=list)
    run_threads: int = Field(
        32,
        ge=1,
        le=1024,
        description="Threads for the sync nodes of "
        "runs (their own pool: busy runs never starve the server)",
    )
    max_concurrent_runs: int = Field(
        32, ge=1, description="Runs executing at once; more wait, in order (see /health)"
    )
    shutdown_grace_s: float = Field(
        0,
        ge=0,
        le=3600,
        description="On a stop signal, how long runs in flight may take to end; then "
        "they are handed to the other replicas (or this server, restarted), and go on "
        "from their last checkpoint",
    )
    max_steps: int = Field(
        1000,
        ge=1,
        description="Supersteps a run may take before it "
        "fails (LangGraph's recursion limit): a graph stuck in a loop "
        "stops here",
    )

    @property
    def keys(self) -> list[str]:
        """The configured keys that are set."""
        return [k for k in self.api_keys if k]

    @property
    def redis(self) -> str | None:
        """The Redis URL, None when unset or empty; never log it, it may hold a password."""
        return self.redis_url.get_secret_value() or None if self.redis_url else None

    @model_validator(mode="after")
    def _redis_url_scheme(self) -> ServerSettings:
        url = self.redis
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "redis_url must start with redis://, rediss:// or unix:// "
                "(e.g. redis_url: ${LGP_REDIS_URL:-}, redis://127.0.0.1:6379/0)"
            )
        if self.rate_limit_store == "redis" and url is None:
            raise ValueError("rate_limit_store redis needs a redis_url")
        return self


class WebhookSettings(_Section):
    """Where runs' ``webhook`` URLs may point, and how they are called."""

    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts a webhook may call (`*.example.com` for subdomains); empty: "
        "any public host. Loopback and private addresses only when listed",
    )
    require_https: bool = False
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Sent with every call; use ${ENV_VAR} for secrets"
    )
    timeout_s: float = Field(10.0, gt=0, le=300)
    max_attempts: int = Field(3, ge=1, le=10, description="Tries of a call that fails")


class AutoScalingSettings(_Section):
    """How many server replicas a deployment runs (``lgp deploy --target k8s`` writes
    them into its HorizontalPodAutoscaler; compose starts ``min_replicas``)."""

    min_replicas: int = Field(2, ge=1, le=1000, description="Replicas kept running at least")
    max_replicas: int = Field(10, ge=1, le=1000, description="Replicas at most")
    target_cpu_percent: int = Field(
        70, ge=1, le=1000, description="Average CPU use, in % of the CPU request, to scale at"
    )
    target_requests_per_second: float | None = Field(
        None,
        gt=0,
        description="Average HTTP requests per second per replica to scale at (a custom "
        "metric: the cluster needs a metrics adapter serving it); none: CPU only",
    )
    scale_down_stabilization_s: int = Field(
        300, ge=0, le=3600, description="How long load must stay low before replicas go"
    )

    @model_validator(mode="after")
    def _range(self) -> AutoScalingSettings:
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) is below min_replicas ({self.min_replicas})"
            )
        return self


class AnomalySettings(_Section):
    """Anomaly detection on served workflows (``lgp serve``): per workflow and version
    of its code, the error rate of the runs that ended in the last ``window_s``; above
    ``threshold`` (with at least ``min_runs`` runs) it alerts, rolls the workflow back
    to its previous good version and records an incident (``lgp incidents``)."""

    enabled: bool = Field(False, description="Watch the error rate of served workflows")
    window_s: float = Field(300, ge=1, le=86_400, description="Sliding window, in seconds")
    threshold: float = Field(
        0.10, gt=0, lt=1, description="Error rate (failed / ended runs) above which to act"
    )
    min_runs: int = Field(10, ge=1, description="Ended runs in the window needed to judge")
    check_interval_s: float = Field(
        10,
        gt=0,
        le=60,
        description="Longest time between checks (a run's end is also checked at once)",
    )
    rollback: bool = Field(
        True, description="Serve the previous good version on an anomaly (else alert only)"
    )
    alert_webhook: str | None = Field(
        None,
        description="URL POSTed the incident (webhooks.allowed_hosts and the webhook checks apply)",
    )
    alert_log: bool = Field(True, description="Say it in the server's log and console")

    @field_validator("alert_webhook")
    @classmethod
    def _unset_is_none(cls, value: str | None) -> str | None:
        return value or None  # ${LGP_ALERT_WEBHOOK:-} left unset


TracerName = Literal["console", "jsonl", "langfuse"]


class LangfuseSettings(_Section):
    """The Langfuse project traces go to (keys from the environment by default)."""

    public_key: str | None = Field(None, description="Default: $LANGFUSE_PUBLIC_KEY")
    secret_key: SecretStr | None = Field(None, description="Default: $LANGFUSE_SECRET_KEY")
    base_url: str | None = Field(
        None, description="Default: $LANGFUSE_BASE_URL, else https://cloud.langfuse.com"
    )
    tags: list[str] = Field(default_factory=list, description="Added to every trace")
    timeout_s: float = Field(1.0, gt=0, le=30, description="Longest an export may take")


class TracingSettings(_Section):
    """Where run traces go: ``backends`` (several at once), or the older ``backend``."""

    backend: Literal["none", "console", "jsonl", "langfuse"] = "none"
    backends: list[TracerName] | None = Field(
        None, description="Tracers fed by every run, e.g. [console, jsonl, langfuse]"
    )
    path: str = Field(".lgp/traces.jsonl", description="The JSON Lines log (relative: project)")
    max_bytes: int = Field(10_000_000, ge=1_000, description="Rotate the log past this size")
    backup_count: int = Field(5, ge=0, description="Rotated logs kept (traces.jsonl.1 ...)")
    max_length: int = Field(
        2000, ge=100, description="Longer strings are cut before leaving the process"
    )
    langfuse: LangfuseSettings = LangfuseSettings()

    @property
    def active(self) -> list[str]:
        """The tracers to run, in order, without repeats."""
        names = list(self.backends) if self.backends is not None else [self.backend]
        return [n for n in dict.fromkeys(names) if n != "none"]


#: The ``llm_providers`` entry that configures Claude Code nodes.
CLAUDE_CODE = "claude_code"


class Settings(_Section):
    """Validated configuration of one environment of one project."""

    environment: str = DEFAULT_ENVIRONMENT
    project_dir: Path = Field(default_factory=Path.cwd)
    config_file: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    checkpointer: CheckpointerSettings = CheckpointerSettings()
    store: StoreSettings = StoreSettings()
    node_cache: NodeCacheSettings = NodeCacheSettings()
    workflows: WorkflowSettings = WorkflowSettings()
    runs: RunSettings = RunSettings()
    server: ServerSettings = ServerSettings()
    webhooks: WebhookSettings = WebhookSettings()
    tracing: TracingSettings = TracingSettings()
    auto_scaling: AutoScalingSettings = AutoScalingSettings()
    anomaly: AnomalySettings = AnomalySettings()
    llm_providers: dict[str, LlmProviderSettings] = Field(default_factory=dict)
    #: ``llm_providers.claude_code`` of the file (moved here: its options differ).
    claude_code: ClaudeCodeSettings = ClaudeCodeSettings()
    agents: dict[str, AgentRoleSettings] = Field(default_factory=dict)
    mcp_servers: dict[str, McpServerSettings] = Field(default_factory=dict)
    pricing: dict[str, PriceSettings] = Field(
        default_factory=dict, description="Extends or overrides the bundled price table"
    )

    @model_validator(mode="before")
    @classmethod
    def _claude_code_entry(cls, data: Any) -> Any:
        """``llm_providers.claude_code`` configures Claude Code nodes, not a model
        endpoint: it becomes :attr:`claude_code`."""
        providers = data.get("llm_providers") if isinstance(data, dict) else None
        if isinstance(providers, dict) and CLAUDE_CODE in providers:
            providers = dict(providers)
            data = {**data, "llm_providers": providers, "claude_code": providers.pop(CLAUDE_CODE)}
            if data["claude_code"] is None:
                del data["claude_code"]
        return data

    def resolve(self, path: str | Path) -> Path:
        """A path from the config, made absolute against the project directory."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.project_dir / p


def select_environment(env: str | None = None) -> str:
    """The environment name from ``env``, else ``LGP_ENV``, else ``experiment``."""
    name = env or os.environ.get("LGP_ENV") or DEFAULT_ENVIRONMENT
    if not _ENV_NAME.match(name):
        raise ConfigError(
            f"invalid environment name {name!r}",
            hint="use lowercase letters, digits, '-' or '_', e.g. experiment, hosted, production",
        )
    return name


def load_settings(env: str | None = None, project_dir: str | Path | None = None) -> Settings:
    """Load and validate ``config/<env>.yaml`` of a project.

    A known environment without a file gets the defaults; an unknown one without a
    file is an error.
    """
    name = select_environment(env)
    root = Path(project_dir or Path.cwd()).resolve()
    path = root / "config" / f"{name}.yaml"
    if not path.is_file():
        if name in KNOWN_ENVIRONMENTS:
            return Settings(environment=name, project_dir=root)
        raise ConfigError(
            f"no configuration for environment {name!r}: {path} does not exist",
            hint=f"known environments: {', '.join(KNOWN_ENVIRONMENTS)}",
        )
    data, lines = read_yaml_with_lines(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{_rel(path, root)}:1: the file must hold a mapping of settings")
    data = {k: v for k, v in data.items() if k not in ("project_dir", "config_file")}
    data.setdefault("environment", name)
    try:
        return Settings(**data, project_dir=root, config_file=path)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        if loc[:1] == (CLAUDE_CODE,):  # it was written under llm_providers
            loc = ("llm_providers", *loc)
        line = _line_for(loc, lines)
        key = ".".join(loc) or "(top level)"
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        emptied = _emptied_by_unset(path, loc)
        if emptied:  # e.g. dsn: ${LGP_DATABASE_URL:-} with the variable unset
            line = lines.get(emptied[0][0], line)
            reason += (
                " ("
                + "; ".join(f"{'.'.join(k)} is empty: {var} is not set" for k, var in emptied)
                + ")"
            )
        raise ConfigError(f"{_rel(path, root)}:{line}: {key}: {reason}") from None


def _emptied_by_unset(path: Path, loc: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """``(key path, VAR)`` of the values under ``loc`` in the file that came out empty
    because ``VAR`` is not set (``${VAR:-}``): what a failed validation most likely
    lacks, so the error can name the variable rather than the empty value."""
    try:
        node: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    where: tuple[str, ...] = ()
    for part in loc:  # the deepest section of loc the file has
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            break
        where = (*where, part)
    found: list[tuple[tuple[str, ...], str]] = []

    def walk(value: Any, at: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*at, str(k)))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*at, str(i)))
        elif isinstance(value, str) and "${" in value:
            unset = [m[1] for m in _VAR.finditer(value) if m[1] and m[1] not in os.environ]
            try:
                empty = unset and interpolate(value) == ""
            except ConfigError:
                empty = False
            if empty:
                found.append((at, unset[0]))

    walk(node, where)
    return found


def read_yaml_with_lines(path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Parse a YAML file, interpolate ``${VAR}``, and remember each key's line.

    Returns the data and a map from key path (tuple of str) to 1-based line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    try:
        node = loader.get_single_node()
        lines: dict[tuple[str, ...], int] = {}
        data = _build(node, loader, (), lines, path) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = (exc.problem or exc.context or "invalid YAML").strip()
        raise ConfigError(f"{path}:{line}: invalid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise ConfigError(f"{path}: invalid YAML: {first}") from None
    finally:
        loader.dispose()
    return data, lines


def interpolate(value: str, *, where: str = "") -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in ``value`` from the environment."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        var, default = match.group(1), match.group(2)
        if var in os.environ:
            return os.environ[var]
        if default is not None:
            return default
        raise ConfigError(
            f"{where}environment variable {var} is not set",
            hint=f"set it, or give a default as ${{{var}:-value}}",
        )

    return _VAR.sub(sub, value)


def _build(
    node: yaml.Node,
    loader: yaml.SafeLoader,
    path: tuple[str, ...],
    lines: dict[tuple[str, ...], int],
    file: Path,
) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolve `<<: *anchor` merge keys
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            sub = (*path, str(key))
            lines[sub] = key_node.start_mark.line + 1
            out[key] = _build(value_node, loader, sub, lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            sub = (*path, str(i))
            lines[sub] = item.start_mark.line + 1
            items.append(_build(item, loader, sub, lines, file))
        return items
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and "$" in value:
        where = f"{file}:{node.start_mark.line + 1}: {'.'.join(path)}: "
        value = interpolate(value, where=where)
    return value


def _line_for(loc: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> int:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
