"""Tokens and cost of model calls as the workbench shows them.

Events carry usage totals (``node.finished`` for a node's calls, the terminal event
for the run's); these read them and say them the way ``lgp run`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lgp_engine import format_usd


@dataclass(frozen=True)
class Spent:
    """Tokens, calls and USD of some model calls."""

    tokens: int = 0
    cost: float = 0.0
    calls: int = 0

    def __add__(self, other: Spent) -> Spent:
        return Spent(self.tokens + other.tokens, self.cost + other.cost, self.calls + other.calls)

    @property
    def label(self) -> str:
        """``1,234 tok $0.0012``."""
        return f"{self.tokens:,} tok {usd(self.cost)}"


def spent(usage: Any) -> Spent | None:
    """The usage total of an event's ``usage`` field; None when no model was called."""
    if not isinstance(usage, Mapping) or not usage.get("calls"):
        return None
    try:
        return Spent(
            int(usage.get("total_tokens") or 0),
            float(usage.get("cost_usd") or 0.0),
            int(usage["calls"]),
        )
    except (TypeError, ValueError):
        return None


usd = format_usd  # the engine formats amounts the same way everywhere
