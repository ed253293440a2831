"""Claude Code nodes: a real Claude Code session, working in a repository, as a node.

::

    from lgp_engine import create_claude_code_node

    coder = create_claude_code_node("coder", "{repository}", allowed_tools=["Read", "Edit"])
    graph.add_node("coder", coder)

The node renders its task from the state (``prompt``, default ``{task}``), runs the
Claude Code CLI in the repository (see :mod:`.claude_cli`) and returns
``{"coder_output": text, "coder_session_id": id}``. The session id in the state is
what keeps the conversation: the role's next invocation on the thread resumes it,
and a run that branches off the thread's history (a replay, a fork, another thread
that copied the state) resumes it as a new session, so branches never share one.

Every stream message becomes a run event as it arrives (``agent.init``,
``agent.message``, ``agent.tool_use``, ``agent.tool_result``, ``agent.result``);
failures end the node with a :class:`ProviderError` kind (``stalled``, ``timeout``,
``unavailable``, ``auth``, ``crashed``, ``budget_exceeded``, ``max_turns``...) and
no process of the CLI outlives the node.

``llm_providers.claude_code`` in the config gives the CLI (``cli_path``), its
endpoint and key, the defaults of every option, and the cost model.
"""

from __future__ import annotations

import json
import os
import string
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError, UsageError
from .base import ProviderError
from .claude_cli import CliRun, find_cli
from .claude_session import PROVIDER, SessionWatch, failure_of, usage_of
from .redact import is_secret_key
from .runtime import RunScope, scope_of
from .settings import ClaudeCodeSettings

if TYPE_CHECKING:  # LangGraph reads the annotation's name: no import at run time
    from langchain_core.runnables import RunnableConfig

#: Built-in tools that touch files: a bare name in ``allowed_tools`` is limited to
#: the repository (and ``add_dirs``), so allowing one never opens the whole disk.
FILE_TOOLS = frozenset({"Read", "Edit", "MultiEdit", "Write", "Glob", "Grep", "NotebookEdit"})


class ClaudeCodeOptions(BaseModel):
    """A Claude Code node's options, validated; None takes ``llm_providers.claude_code``'s
    value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None
    allowed_tools: tuple[str, ...] | None = None
    permission_mode: str | None = None
    max_turns: int | None = Field(None, ge=1)
    max_budget_usd: float | None = Field(None, gt=0)
    append_system_prompt: str | None = None
    timeout_s: float | None = Field(None, gt=0)
    stall_timeout_s: float | None = Field(None, gt=0)
    mcp_servers: dict[str, dict[str, Any]] | None = None
    env: dict[str, str] | None = None
    add_dirs: tuple[str, ...] | None = None
    isolation: Literal["none", "worktree"] | None = None
    keep_worktree: bool | None = None
    prompt: str | Callable[[Mapping[str, Any]], str] = "{task}"

    @field_validator("allowed_tools", "add_dirs")
    @classmethod
    def _no_empty_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not all(item.strip() for item in value):
            raise ValueError("entries must be non-empty")
        return value

    @field_validator("mcp_servers")
    @classmethod
    def _json(cls, value: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
        if value is not None:
            try:
                json.dumps(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"must be JSON (it is passed to Claude Code): {exc}") from None
        return value

    def over(self, defaults: ClaudeCodeSettings) -> ClaudeCodeOptions:
        """These options with the config's defaults filled in (env merged)."""
        filled: dict[str, Any] = {}
        for name in type(self).model_fields:
            if getattr(self, name) is None and name in ClaudeCodeSettings.model_fields:
                default = getattr(defaults, name)
                filled[name] = tuple(default) if isinstance(default, list) else default
        filled["env"] = {**defaults.env, **(self.env or {})}
        filled["mcp_servers"] = {**defaults.mcp_servers, **(self.mcp_servers or {})}
        return self.model_copy(update=filled)


class ClaudeCodeNode:
    """A LangGraph node (async callable) that runs a Claude Code session."""

    def __init__(
        self,
        role: str,
        repository: str | Path | Callable[[Mapping[str, Any]], str | Path],
        options: ClaudeCodeOptions,
        mcp_session: str | None = None,
    ) -> None:
        self.role = role
        self.repository = repository
        self.options = options
        self.mcp_session = mcp_session
        self.provider_type = PROVIDER

    def __repr__(self) -> str:
        return f"ClaudeCodeNode({self.role!r}, {self.repository!r})"

    @property
    def output_key(self) -> str:
        return f"{self.role}_output"

    @property
    def session_key(self) -> str:
        return f"{self.role}_session_id"

    # -- what the node works on -------------------------------------------------------
    def render(self, state: Mapping[str, Any]) -> str:
        return _fill(self.options.prompt, state, self.role, "prompt")

    def repository_for(self, state: Mapping[str, Any], project_dir: Path) -> Path:
        """The repository the session works in (relative paths: from the project)."""
        raw = str(_fill(self.repository, state, self.role, "repository"))
        path = Path(raw).expanduser()
        path = (path if path.is_absolute() else project_dir / path).resolve()
        if not path.is_dir():
            raise UsageError(
                f"Claude Code role {self.role!r}: repository {raw} is not a directory",
                field="repository",
                code="repository_missing",
            )
        return path

    # -- running ------------------------------------------------------------------------
    async def __call__(self, state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        scope = scope_of(config)
        settings = scope.runtime.settings.claude_code
        if not settings.enabled:
            raise ConfigError(
                f"Claude Code role {self.role!r} cannot run: llm_providers.claude_code."
                f"enabled is false in {scope.runtime.config_name}",
                field="llm_providers.claude_code.enabled",
                code="provider_disabled",
            )
        if scope.replay is not None and not scope.replay.live_fallback:
            from .replay import RecordingMismatch, where

            node, path = where(config)
            raise RecordingMismatch(
                "/".join([*path, node or self.role]),
                1,
                "session",
                "Claude Code sessions are not recorded, so a recorded replay cannot answer "
                "this node",
            )
        task = self.render(state)
        repository = self.repository_for(state, scope.runtime.settings.project_dir)
        previous: str | None = state.get(self.session_key) or None
        options = self._options(scope, settings)
        budget = _budget(options.max_budget_usd, scope, self.role)
        if self.mcp_session is not None:
            from .claude_mesh import run_via_mcp

            text, session_id = await run_via_mcp(
                self.mcp_session,
                scope=scope,
                config=config,
                role=self.role,
                repository=repository,
                task=task,
                previous=previous,
                timeout_s=float(options.timeout_s or settings.timeout_s),
            )
            return {self.output_key: text, self.session_key: session_id}
        cli_path = settings.cli_path
        if cli_path and ("/" in cli_path or cli_path.startswith("~")):
            cli_path = str(scope.runtime.settings.resolve(cli_path))  # from the project
        cli = find_cli(cli_path, role=self.role)
        async with self._workdir(scope, options, repository) as (cwd, worktree):
            return await self._run_cli(
                scope, options, config, cli, task, repository, cwd, worktree, previous, budget
            )

    def _options(self, scope: RunScope, settings: ClaudeCodeSettings) -> ClaudeCodeOptions:
        options = self.options.over(settings)
        over = scope.runtime.settings.agents.get(self.role)  # agents.<role> in the config
        if over is not None:
            options = options.model_copy(
                update={
                    "model": over.model or options.model,
                    "timeout_s": over.timeout_s or options.timeout_s,
                }
            )
        return options

    @asynccontextmanager
    async def _workdir(
        self, scope: RunScope, options: ClaudeCodeOptions, repository: Path
    ) -> AsyncIterator[tuple[Path, Path | None]]:
        """Where the session works: the repository, or its worktree for this role on
        this thread (``isolation: worktree``); the second item is the worktree."""
        if options.isolation != "worktree":
            yield repository, None
            return
        from .worktree import worktree

        async with worktree(
            repository,
            scope.runtime.settings.project_dir / ".lgp" / "worktrees",
            self.role,
            scope.thread_id or "default",
            keep=bool(options.keep_worktree),
        ) as tree:
            yield tree.path, tree.path

    async def _run_cli(
        self,
        scope: RunScope,
        options: ClaudeCodeOptions,
        config: Mapping[str, Any],
        cli: Path,
        task: str,
        repository: Path,
        cwd: Path,
        worktree: Path | None,
        previous: str | None,
        budget: float | None,
    ) -> dict[str, Any]:
        fork, at = _resume_plan(scope, config, previous) if previous else (False, None)
        session_id = previous if previous and not fork else str(uuid.uuid4())
        watch = SessionWatch(
            scope,
            config,
            self.role,
            session_id,
            checkpoint=_where(config)[1],
            started={
                "repository": str(repository),
                "resumed": previous,
                "forked": fork,
                "forked_at": at,
                "via": "cli",
                "permission_mode": options.permission_mode,
                "mcp_servers": sorted(options.mcp_servers or {}),
                "worktree": str(worktree) if worktree else None,
            },
        )
        timeout_s, stall_s = float(options.timeout_s or 0), float(options.stall_timeout_s or 0)
        scope.redact.add(_secrets_of(options))
        with _mcp_config(options.mcp_servers) as mcp_config:
            argv = self._argv(cli, options, repository, cwd, budget, mcp_config)
            if previous:
                argv += ["--resume", previous] + (["--resume-session-at", at] if at else [])
            if fork or not previous:
                # the new session's id is known even if the CLI dies at once
                argv += ["--session-id", session_id] + (["--fork-session"] if fork else [])
            outcome = await CliRun(
                argv,
                cwd,
                self._env(scope.runtime.settings.claude_code, options),
                task,
                timeout_s=timeout_s,
                stall_timeout_s=stall_s,
                on_message=watch.on_message,
            ).run()
        result = outcome.result or {}
        failure = failure_of(self.role, outcome, stall_timeout_s=stall_s, timeout_s=timeout_s)
        usage = usage_of(
            result or watch.spent(),  # without a result: what its replies so far used
            model=watch.model,
            scope=scope,
            duration_ms=outcome.duration_ms,
        )
        watch.finish(result, usage, failure, outcome.duration_ms)
        if failure is not None:
            raise failure
        return {self.output_key: watch.answer(result), self.session_key: watch.session_id}

    def _argv(
        self,
        cli: Path,
        options: ClaudeCodeOptions,
        repository: Path,
        cwd: Path,
        budget: float | None,
        mcp_config: Path | None,
    ) -> list[str]:
        """The CLI's command line, but for the session to start or resume."""
        argv = [str(cli), "-p", "--output-format", "stream-json", "--verbose"]
        if options.permission_mode:
            argv += ["--permission-mode", options.permission_mode]
        if options.model:
            argv += ["--model", options.model]
        if options.max_turns:
            argv += ["--max-turns", str(options.max_turns)]
        if budget is not None:
            argv += ["--max-budget-usd", f"{budget:.6f}"]
        if options.append_system_prompt:
            argv += ["--append-system-prompt", options.append_system_prompt]
        dirs = [str((repository / d).resolve()) for d in options.add_dirs or ()]
        if dirs:
            argv += ["--add-dir", *dirs]
        if options.allowed_tools:
            argv += ["--allowedTools", ",".join(scoped_tools(options.allowed_tools, cwd, dirs))]
        if mcp_config is not None:
            argv += ["--mcp-config", str(mcp_config), "--strict-mcp-config"]
        return argv

    @staticmethod
    def _env(settings: ClaudeCodeSettings, options: ClaudeCodeOptions) -> dict[str, str]:
        env = dict(os.environ)
        if settings.base_url:
            env["ANTHROPIC_BASE_URL"] = settings.base_url
        if settings.api_key is not None and settings.api_key.get_secret_value():
            env["ANTHROPIC_API_KEY"] = settings.api_key.get_secret_value()
        if settings.max_retries is not None:
            env["CLAUDE_CODE_MAX_RETRIES"] = str(settings.max_retries)
        env.update(options.env or {})
        return env


def _resume_plan(
    scope: RunScope, config: Mapping[str, Any], session_id: str
) -> tuple[bool, str | None]:
    """How to continue ``session_id``: in place (``False, None``), or as a new session
    branched off it, at the message the state's invocation left (``True, tip``) or at
    its end (``True, None``).

    In place only when the state the node was given holds the session's newest
    invocation: a replay, a fork, a resumed branch or another thread that copied the
    state gets its own conversation, as it was at that point."""
    invocations = scope.runtime.session_invocations(session_id)
    lineage_of = scope.runtime.lineage_steps
    thread_id, checkpoint = _where(config)
    if not invocations or lineage_of is None or not thread_id or not checkpoint:
        return scope.branch, None  # a session this store never saw (given in the input)
    steps = lineage_of(thread_id, checkpoint)
    ours = [tip for run, at, tip in invocations if (at, run) in steps]
    if not ours:
        return True, None
    if ours[-1] == invocations[-1][2]:
        return False, None
    return True, ours[-1]


def _where(config: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The thread and the checkpoint a node's step runs from."""
    configurable = config.get("configurable") or {}
    checkpoint = (configurable.get("checkpoint_map") or {}).get("")
    thread = configurable.get("thread_id")
    return (str(thread) if thread else None), (str(checkpoint) if checkpoint else None)


@contextmanager
def _mcp_config(servers: Mapping[str, Any] | None) -> Iterator[Path | None]:
    """``servers`` as a ``--mcp-config`` file only this user can read (not on the
    command line, where any local user could read their tokens); removed after."""
    if not servers:
        yield None
        return
    fd, name = tempfile.mkstemp(prefix="lgp-mcp-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"mcpServers": dict(servers)}, out)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _secrets_of(options: ClaudeCodeOptions) -> list[str]:
    """Values of the node's options that must never be shown: env entries named like
    secrets, and the env and headers of the MCP servers it gives Claude Code."""
    found = [v for k, v in (options.env or {}).items() if is_secret_key(k)]
    for server in (options.mcp_servers or {}).values():
        for key in ("env", "headers"):
            entries = server.get(key)
            if isinstance(entries, Mapping):
                found += [
                    str(v) for k, v in entries.items() if key == "headers" or is_secret_key(k)
                ]
    return [v for v in found if v]


def scoped_tools(tools: tuple[str, ...] | list[str], cwd: Path, dirs: list[str]) -> list[str]:
    """``allowed_tools`` as CLI permission rules: a bare file tool (``Read``) becomes
    one rule per directory it may use (``Read(//repo/**)``); others pass as given."""
    rules: list[str] = []
    for tool in tools:
        if tool in FILE_TOOLS:
            rules += [f"{tool}(/{Path(d).resolve()}/**)" for d in (str(cwd), *dirs)]
        else:
            rules.append(tool)
    return rules


def _budget(node_limit: float | None, scope: RunScope, role: str) -> float | None:
    """``--max-budget-usd``: the node's limit, or what the run may still spend."""
    remaining = scope.remaining_usd
    if remaining is not None and remaining <= 0:
        raise ProviderError(
            "budget_exceeded",
            f"the run has spent its budget of ${scope.max_cost_usd:.4f}; Claude Code role "
            f"{role!r} was not started",
            provider=PROVIDER,
            role=role,
            hint="raise runs.max_cost_usd in the config, or the run's max_cost_usd",
        )
    limits = [x for x in (node_limit, remaining) if x is not None]
    return min(limits) if limits else None


def _fill(template: Any, state: Mapping[str, Any], role: str, what: str) -> Any:
    """A ``{field}`` template filled from the state, or a callable's answer."""
    if callable(template):
        return template(state)
    if not isinstance(template, str):
        return template
    wanted = [
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    ]
    missing = [name for name in wanted if name not in state]
    if missing:
        raise UsageError(
            f"Claude Code role {role!r}: the {what} needs state field(s) "
            f"{', '.join(missing)}, which the state does not have",
            field="input",
            code="prompt_field_missing",
            hint=f"give them in the input, e.g. {{{missing[0]!r}: ...}}",
        )
    try:
        return template.format_map(dict(state))
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"Claude Code role {role!r}: the {what} {template!r} cannot be filled from the "
            f"state: {type(exc).__name__}: {exc}",
            field=what,
            code="template_failed",
        ) from None


def create_claude_code_node(
    role: str,
    repository: str | Path | Callable[[Mapping[str, Any]], str | Path],
    mcp_session: str | None = None,
    **options: Any,
) -> ClaudeCodeNode:
    """A node that runs a Claude Code session as agent role ``role`` in ``repository``.

    Args:
        role: The role's name; the node returns ``{role}_output`` and
            ``{role}_session_id``.
        repository: The directory it works in: a path (relative to the project), a
            template over the state (``"{repository}"``) or a function of the state.
        mcp_session: The name of an MCP server (``mcp_servers`` in config) that runs
            Claude Code: the node then calls its ``mesh_execute`` tool (see
            ``llm_providers.claude_code.mcp_tool``) instead of the CLI.
        **options: ``prompt`` (template of the task, default ``{task}``), ``model``,
            ``allowed_tools``, ``permission_mode``, ``max_turns``, ``max_budget_usd``,
            ``append_system_prompt``, ``timeout_s``, ``stall_timeout_s``,
            ``mcp_servers`` (for Claude Code), ``env``, ``add_dirs``, ``isolation``
            (``none`` or ``worktree``), ``keep_worktree``. Unset ones come from
            ``llm_providers.claude_code`` in the config.
    """
    if not role or not role.isidentifier():
        raise ConfigError(
            f"a Claude Code role needs a name that can prefix state keys, not {role!r}",
            field="role",
            code="bad_role",
        )
    try:
        checked = ClaudeCodeOptions(**options)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "options"
        reason, hint = err["msg"], None
        if err["type"] == "extra_forbidden":
            reason, hint = "unknown option", f"options: {', '.join(ClaudeCodeOptions.model_fields)}"
        elif isinstance(err.get("input"), str) and err["type"] == "tuple_type":
            reason = "give a list of strings, not one string"
            hint = f"{where}=[{err['input']!r}]"
        raise ConfigError(
            f"Claude Code role {role!r}: {where}: {reason}",
            field=where,
            code="bad_option",
            hint=hint,
        ) from None
    return ClaudeCodeNode(role, repository, checked, mcp_session)


__all__ = ["ClaudeCodeNode", "ClaudeCodeOptions", "create_claude_code_node", "scoped_tools"]
