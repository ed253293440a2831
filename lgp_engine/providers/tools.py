"""Tools of an agent node: MCP tools offered to the model, allow-listed, each call
reported as ``tool.called`` / ``tool.result`` (or ``tool.denied``).

Tools are denied by default: a node offers the model only the tools its allow-list
names (``tools: ["git_status", "time.*"]``), and a call to any other tool is refused
with an error the model can read; the run goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .replay import RECORDING, tool_request, where
from .runtime import RunScope

if TYPE_CHECKING:  # the MCP client loads only for nodes that have tools
    from .mcp import McpTool, ToolResult

#: Longest tool result text kept on a ``tool.result`` event (the model gets it whole).
EVENT_TEXT_LIMIT = 2000


class ToolBox:
    """The tools one agent node may call, and how it calls them."""

    def __init__(self, scope: RunScope, patterns: Sequence[str], tools: Sequence[McpTool]) -> None:
        self.scope = scope
        self.patterns = list(patterns)
        self.tools: dict[str, McpTool] = {}
        if tools:
            from .mcp import openai_tool_spec

            self.tools = {openai_tool_spec(t)["function"]["name"]: t for t in tools}

    @classmethod
    async def for_node(
        cls, scope: RunScope, patterns: Sequence[str], config: Mapping[str, Any] | None = None
    ) -> ToolBox:
        """The MCP tools that ``patterns`` allow (no MCP server starts without any);
        ``config``: the node's (its tool lists are recorded, or replayed, as its)."""
        if not patterns:
            return cls(scope, (), ())
        from .guard import tool_allowed

        servers = scope.runtime.settings.mcp_servers
        wanted = _servers_named(patterns, [n for n, s in servers.items() if s.enabled])
        found: list[McpTool] = []
        for server in wanted:
            found += await list_tools(scope, server, config or {})
        allowed = [t for t in found if tool_allowed(patterns, t.server, t.name)]
        return cls(scope, patterns, allowed)

    @property
    def specs(self) -> list[dict[str, Any]]:
        """The tools in OpenAI's function-tool format."""
        if not self.tools:
            return []
        from .mcp import openai_tool_spec

        return [openai_tool_spec(t) for t in self.tools.values()]

    async def call(
        self, call: Mapping[str, Any], config: Mapping[str, Any], *, turn: int | None = None
    ) -> tuple[str, bool]:
        """Run one tool call of the model; the text for the model and whether it is
        an error. Refused and failed calls are errors the model reads, never
        exceptions (a dead server is: it raises ``ProviderError``). ``turn``: the
        model's reply that asked for it (1, 2...), in the events (calls of one turn
        are shown together)."""
        from .mcp import parse_tool_name

        name = str(call.get("name") or "")
        args = call.get("args") or {}
        tool = self.tools.get(name)
        if tool is None:
            try:
                server, tool_name = parse_tool_name(name)
            except ValueError:  # a name no spec of ours has: the model made it up
                server, tool_name = None, name
            allowed = ", ".join(self.patterns) or "none"
            self.scope.report(
                "tool.denied",
                {
                    "server": server,
                    "tool": tool_name,
                    "arguments": args,
                    "reason": "not on the node's allow-list",
                    "allowed": list(self.patterns),
                    **_turn(turn),
                },
                config,
            )
            return (
                f"Error: tool {name!r} is not available to this agent (allowed: {allowed}).",
                True,
            )
        self.scope.report(
            "tool.called",
            {
                "server": tool.server,
                "tool": tool.name,
                "arguments": args,
                "call_id": call.get("id"),
                **_turn(turn),
            },
            config,
        )
        started = time.perf_counter()
        result = await call_tool(self.scope, config, tool.server, tool.name, args)
        text = result.text if result.text or result.structured is None else _json(result.structured)
        self.scope.report(
            "tool.result",
            {
                "server": tool.server,
                "tool": tool.name,
                "call_id": call.get("id"),
                "is_error": result.is_error,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "size": len(text),
                "text": text[:EVENT_TEXT_LIMIT],
                **_turn(turn),
            },
            config,
        )
        return (f"Error: {text}" if result.is_error else text), result.is_error


async def list_tools(scope: RunScope, server: str, config: Mapping[str, Any]) -> list[McpTool]:
    """The tools of ``server``: from the recording in a recorded replay, else listed
    live; recorded once per run either way (see :mod:`.replay`)."""
    from .mcp import McpTool

    tools: list[McpTool] | None = None
    if scope.replay is not None:
        node, _ = where(config)
        recorded = scope.replay.tools(node, server)
        if recorded is not None:
            tools = [McpTool(**_unlisted(t)) for t in recorded]
    if tools is None:
        tools = await scope.runtime.mcp.list_tools(server)
    if server not in scope.listed:
        scope.listed.add(server)
        listed = [_listed(t) for t in tools]
        scope.report(RECORDING, {"kind": "tools", "server": server, "tools": listed}, config)
    return tools


async def call_tool(
    scope: RunScope,
    config: Mapping[str, Any],
    server: str,
    name: str,
    arguments: Mapping[str, Any],
    *,
    timeout_s: float | None = None,
) -> ToolResult:
    """Call an MCP tool for the node running with ``config``: answered by the
    recording in a recorded replay, else live; recorded either way."""
    from .mcp import ToolResult

    request = tool_request(server, name, dict(arguments), scope.redact)
    gate = scope.runtime.tool_gate
    if gate is not None:  # a front end may hold the call (a break on this tool)
        node, _path = where(config)
        held = ToolCallInfo(
            node=node,
            server=server,
            tool=name,
            arguments=scope.redact(dict(arguments)),
            run_id=scope.run_id,
            thread_id=scope.thread_id,
        )
        await asyncio.to_thread(gate, held)
    result: ToolResult | None = None
    if scope.replay is not None:
        node, path = where(config)
        found = scope.replay.tool(node, path, request)
        if found is not None:
            kept = found.get("result") or {}
            result = ToolResult(
                text=str(kept.get("text") or ""),
                structured=kept.get("structured"),
                is_error=bool(kept.get("is_error")),
                duration_ms=0.0,
                content=list(kept.get("content") or []),
            )
    replayed = result is not None
    if result is None:
        result = await scope.runtime.mcp.call_tool(
            server, name, dict(arguments), timeout_s=timeout_s
        )
    data: dict[str, Any] = {
        "kind": "tool",
        "request": request,
        "result": {
            "text": result.text,
            "structured": result.structured,
            "is_error": result.is_error,
            "content": result.content,
        },
    }
    if replayed:
        data["replayed"] = True
    scope.report(RECORDING, data, config)
    return result


@dataclasses.dataclass(frozen=True)
class ToolCallInfo:
    """An MCP tool call about to be made, as a front end's tool gate sees it
    (:attr:`AgentRuntime.tool_gate <lgp_engine.providers.runtime.AgentRuntime.tool_gate>`);
    the arguments redacted as in events."""

    node: str | None
    server: str
    tool: str
    arguments: Any
    run_id: str | None
    thread_id: str | None

    @property
    def name(self) -> str:
        """``server.tool``, as allow-lists and events name it."""
        return f"{self.server}.{self.tool}"


def _listed(tool: McpTool) -> dict[str, Any]:
    """A tool as its list is recorded: its input schema as JSON text, so redaction
    (by key name) leaves a property called ``api_key`` or ``token`` a property. It
    describes values; it holds none (known secrets in its text are still replaced)."""
    return {**dataclasses.asdict(tool), "input_schema": json.dumps(tool.input_schema)}


def _unlisted(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded tool back as :class:`McpTool` fields (older recordings kept the
    schema as an object)."""
    schema = recorded.get("input_schema")
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError:
            schema = {}
    return {**recorded, "input_schema": schema if isinstance(schema, dict) else {}}


def _servers_named(patterns: Sequence[str], servers: Sequence[str]) -> list[str]:
    """The servers a set of patterns can reach: ``time.*`` only ``time``; a pattern
    without a server part may match a tool of any server."""
    reach: list[str] = []
    for server in servers:
        for pattern in patterns:
            head = pattern.split(".", 1)[0] if "." in pattern else None
            if head is None or fnmatch.fnmatchcase(server, head):
                reach.append(server)
                break
    return reach


def _turn(turn: int | None) -> dict[str, int]:
    return {} if turn is None else {"turn": turn}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class McpSession:
    """A node's handle on one configured MCP server; each call is reported as
    ``tool.called`` / ``tool.result`` events of the node."""

    def __init__(self, scope: RunScope, server: str, config: Mapping[str, Any]) -> None:
        self.scope = scope
        self.server = server
        self.config = config

    async def list_tools(self) -> list[McpTool]:
        """The server's tools (it starts on first use)."""
        return await list_tools(self.scope, self.server, self.config)

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> Any:
        """Call tool ``name``; its :class:`~lgp_engine.providers.mcp.ToolResult`.
        An error inside the tool is ``is_error=True``, not an exception; a server
        that cannot be reached raises ``ProviderError`` (``unavailable``/``timeout``)."""
        args = dict(arguments or {})
        call_id = f"{self.server}.{name}"
        self.scope.report(
            "tool.called",
            {"server": self.server, "tool": name, "arguments": args, "call_id": call_id},
            self.config,
        )
        started = time.perf_counter()
        result = await call_tool(
            self.scope, self.config, self.server, name, args, timeout_s=timeout_s
        )
        text = result.text
        self.scope.report(
            "tool.result",
            {
                "server": self.server,
                "tool": name,
                "call_id": call_id,
                "is_error": result.is_error,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "size": len(text),
                "text": text[:EVENT_TEXT_LIMIT],
            },
            self.config,
        )
        return result


def mcp_session(server: str, config: Mapping[str, Any] | None = None) -> McpSession:
    """The MCP server ``server`` (a name under ``mcp_servers`` in config) for the node
    that is running: ``await mcp_session("time").call_tool("now", {})``.

    Pass the node's ``config`` (or leave it out inside a LangGraph node). The session
    belongs to the process: it starts once, on first use, and stops with it.
    """
    from langgraph.config import get_config

    from .runtime import scope_of

    if config is None:
        config = get_config()
    scope = scope_of(config)
    if server not in scope.runtime.settings.mcp_servers:
        from ..errors import ConfigError

        known = ", ".join(sorted(scope.runtime.settings.mcp_servers)) or "none"
        raise ConfigError(
            f"no MCP server {server!r} in {scope.runtime.config_name} (configured: {known})",
            field=f"mcp_servers.{server}",
            code="mcp_server_unknown",
        )
    return McpSession(scope, server, config)
