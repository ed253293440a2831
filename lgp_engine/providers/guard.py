"""Guardrails of agent nodes: which tools a node may call.

Tools are denied unless allowed (DESIGN.md, "Agents"): a model that invents a tool
name, or a server that grows a new tool, must not widen what a node can do.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase


def tool_allowed(patterns: Sequence[str] | None, server: str, tool: str) -> bool:
    """Whether ``server``'s ``tool`` matches one of the allow-list ``patterns``.

    No list (``None``) or an empty one allows nothing. A pattern is matched, with
    shell globs (``*``, ``?``, ``[...]``), against the bare tool name (``now``,
    ``git_*``) and against ``server.tool`` (``time.now``, ``time.*``); ``*`` allows
    every tool of every server. Matching is case-sensitive on every platform, as
    tool names are.
    """
    if not patterns:
        return False
    qualified = f"{server}.{tool}"
    return any(fnmatchcase(tool, p) or fnmatchcase(qualified, p) for p in patterns)
