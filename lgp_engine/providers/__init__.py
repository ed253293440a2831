"""Agent nodes: model providers, MCP tools, usage and cost, guardrails, output repair.

See DESIGN.md, "Agents (providers)". The public names are re-exported by
:mod:`lgp_engine`.
"""
