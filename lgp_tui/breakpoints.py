"""Breakpoints set from the graph pane: where the next runs of a workflow stop
(LangGraph's static breakpoints, ``interrupt_before``/``interrupt_after``), and
stepping (a stop after every node)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

When = Literal["before", "after"]

#: What ``b`` on a node does: no breakpoint → before → after → none.
CYCLE: dict[When | None, When | None] = {None: "before", "before": "after", "after": None}


@dataclass(frozen=True)
class Breaks:
    """The breakpoints a run is given: the nodes it stops ``before`` and ``after``."""

    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    @classmethod
    def of(cls, marks: Mapping[str, When], nodes: Iterable[str] | None = None) -> Breaks:
        """From the graph pane's marks (node → when); ``nodes``: those the graph has
        (a mark on a node that a reload took away is left out)."""
        known = None if nodes is None else set(nodes)
        kept = sorted(n for n in marks if known is None or n in known)
        return cls(
            tuple(n for n in kept if marks[n] == "before"),
            tuple(n for n in kept if marks[n] == "after"),
        )

    def stepping(self, nodes: Iterable[str]) -> Breaks:
        """These breakpoints plus a stop after every one of ``nodes``: each run (or
        resume) goes one step."""
        return Breaks(self.before, tuple(sorted({*self.after, *nodes})))

    @property
    def interrupt_before(self) -> list[str] | None:
        """``Runner.astart``'s (and ``aresume``'s) argument."""
        return list(self.before) or None

    @property
    def interrupt_after(self) -> list[str] | None:
        """``Runner.astart``'s (and ``aresume``'s) argument."""
        return list(self.after) or None

    @property
    def label(self) -> str:
        """``review(before), plan(after)``; empty without breakpoints."""
        marks = [(n, "before") for n in self.before] + [(n, "after") for n in self.after]
        return ", ".join(f"{n}({when})" for n, when in sorted(marks))

    def __bool__(self) -> bool:
        return bool(self.before or self.after)
