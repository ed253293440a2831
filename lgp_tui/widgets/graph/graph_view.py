"""The graph pane: the workflow's nodes and edges in text, with live run state, and
the analyzer's warnings about the graph (``lgp check``) under it."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual.containers import ScrollableContainer
from textual.widgets import Static

from ...usage import Spent

if TYPE_CHECKING:
    from lgp_engine import GraphWarning

START, END = "__start__", "__end__"
_NAMES = {START: "START", END: "END"}


@dataclass(frozen=True)
class Edge:
    """One edge of the drawn graph; ``conditional`` edges are drawn ``─?→``."""

    target: str
    conditional: bool = False
    label: str | None = None


@dataclass
class GraphShape:
    """Nodes in a readable (breadth-first from START) order and their outgoing edges."""

    nodes: list[str]
    edges: dict[str, list[Edge]] = field(default_factory=dict)

    @classmethod
    def from_drawable(cls, drawable: Any) -> GraphShape:
        """From a LangGraph drawable graph (``compiled.get_graph()``)."""
        names = [str(node_id) for node_id in drawable.nodes]
        edges: dict[str, list[Edge]] = {name: [] for name in names}
        for edge in drawable.edges:
            label = edge.data if isinstance(edge.data, str) else None
            edges.setdefault(str(edge.source), []).append(
                Edge(str(edge.target), bool(edge.conditional), label)
            )
        for out in edges.values():
            out.sort(
                key=lambda e: (
                    e.target == END,
                    names.index(e.target) if e.target in names else len(names),
                )
            )
        return cls(_order(names, edges), edges)


def _order(names: list[str], edges: dict[str, list[Edge]]) -> list[str]:
    """Breadth-first from START (so a chain reads top to bottom), END last."""
    seen: list[str] = []
    queue = deque([START] if START in names else names[:1])
    while queue:
        name = queue.popleft()
        if name in seen or name == END:
            continue
        seen.append(name)
        queue.extend(e.target for e in edges.get(name, []))
    rest = [n for n in names if n not in seen and n != END]
    return seen + rest + ([END] if END in names else [])


def _name(node: str) -> str:
    return _NAMES.get(node, node)


class GraphView(ScrollableContainer):
    """Draws one :class:`GraphShape`; marks the running node, and finished nodes' timing
    and the tokens and cost of their model calls. Under the graph, the analyzer's
    warnings, each node they concern marked ⚠."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shape: GraphShape | None = None
        self.running: set[str] = set()
        self.durations: dict[str, float] = {}
        self.spent: dict[str, Spent] = {}
        self.failed: set[str] = set()
        self.cached: set[str] = set()  # served from the node cache in this run
        self.waiting: set[str] = set()  # stopped at an interrupt(): waits for an answer
        self.warnings: tuple[GraphWarning, ...] = ()
        self.plain: list[str] = []  # the graph's lines, then the warnings', as text
        self._note = "No workflow loaded."

    def compose(self):
        yield Static(Text(self._note, style="dim"), id="graph-text")
        warnings = Static("", id="graph-warnings")
        warnings.display = False  # until there are some
        yield warnings

    def on_mount(self) -> None:
        self.border_title = "Graph"

    # -- content ---------------------------------------------------------------
    def show_graph(
        self, shape: GraphShape | None, note: str = "", warnings: Sequence[GraphWarning] = ()
    ) -> None:
        """Draw ``shape`` (or ``note`` when there is none; under it when there is one)
        and ``warnings`` under it; clears run marks."""
        self.shape = shape
        self._note = note or ("" if shape is not None else "No graph.")
        self.warnings = tuple(warnings)
        self.reset_run()

    def reset_run(self) -> None:
        """Forget the marks of the previous run."""
        self.running.clear()
        self.durations.clear()
        self.spent.clear()
        self.failed.clear()
        self.cached.clear()
        self.waiting.clear()
        self._redraw()

    def node_started(self, node: str) -> None:
        self.running.add(node)
        self._redraw()

    def node_finished(
        self,
        node: str,
        duration_ms: float | None,
        *,
        failed: bool = False,
        interrupted: bool = False,
        spent: Spent | None = None,
    ) -> None:
        """``node`` ended (after ``duration_ms``), or stopped at an ``interrupt()``
        (``interrupted``: it waits, it did not finish); ``spent``: its model calls. A
        node that runs again (a revision loop, a resume) adds up."""
        self.running.discard(node)
        if interrupted:
            self.waiting.add(node)
        else:
            self.waiting.discard(node)
        if duration_ms is not None:
            self.durations[node] = self.durations.get(node, 0.0) + duration_ms
        if spent is not None:
            self.spent[node] = self.spent.get(node, Spent()) + spent
        if failed:
            self.failed.add(node)
        self._redraw()

    def node_cached(self, node: str) -> None:
        """``node`` was served from the node cache (it did not run)."""
        self.running.discard(node)
        self.cached.add(node)
        self._redraw()

    def run_ended(self) -> None:
        """The run is over: nothing is running any more."""
        self.running.clear()
        self._redraw()

    # -- drawing ---------------------------------------------------------------
    def _redraw(self) -> None:
        lines = self._lines()
        below = self._below()
        self.plain = [line.plain for line in lines] + [text.plain for _, text in below]
        if self.is_mounted:
            self.query_one("#graph-text", Static).update(Text("\n").join(lines))
            panel = self.query_one("#graph-warnings", Static)
            panel.update(Group(*(Padding(text, (0, 0, 0, indent)) for indent, text in below)))
            panel.display = bool(below)
            count = len(self.warnings)
            # on the border too, seen while the warnings are scrolled out of view
            self.border_subtitle = f"⚠ {count} warning{'s' * (count != 1)}" if count else ""

    def _lines(self) -> list[Text]:
        if self.shape is None:
            return [Text(self._note, style="dim")]
        lines: list[Text] = []
        for node in self.shape.nodes:
            lines.append(self._node_line(node))
            for edge in self.shape.edges.get(node, []):
                arrow = "─?→" if edge.conditional else "──→"
                label = f" [{edge.label}]" if edge.label else ""
                lines.append(
                    Text.assemble(
                        "   ",
                        (arrow, "yellow" if edge.conditional else "dim"),
                        " ",
                        _name(edge.target),
                        (label, "dim"),
                    )
                )
        return lines

    def _below(self) -> list[tuple[int, Text]]:
        """What is drawn under the graph, with its indent: the note, the warnings."""
        below: list[tuple[int, Text]] = []
        if self.shape is not None and self._note:
            below.append((0, Text(self._note, style="dim")))
        if self.warnings:
            count = len(self.warnings)
            below.append((0, Text(f"⚠ {count} warning{'s' * (count != 1)}", style="bold yellow")))
        for warning in self.warnings:
            heading = Text.assemble(
                ("⚠ ", "yellow"), (warning.node or "graph", "bold"), (f" · {warning.code}", "dim")
            )
            below.append((0, heading))
            below.append((2, Text(warning.message)))
            below.append((2, Text(f"fix: {warning.hint}", style="dim")))
            if warning.path:
                where = Path(warning.path).name + (f":{warning.line}" if warning.line else "")
                below.append((2, Text(f"at {where}", style="dim")))
        return below

    def _node_line(self, node: str) -> Text:
        line = self._state_line(node)
        if any(w.node == node or node in w.related for w in self.warnings):
            line.append(" ⚠", style="bold yellow")
        return line

    def _state_line(self, node: str) -> Text:
        if node in (START, END):
            return Text(f"◆ {_name(node)}", style="bold dim")
        if node in self.running:
            return Text.assemble(("▶ ", "bold"), (node, "bold reverse cyan"), (" running", "cyan"))
        spent = _spent(self.spent.get(node))
        if node in self.failed:
            timing = _timing(self.durations.get(node))
            return Text.assemble(("✖ ", "red"), (node, "red"), timing, spent)
        if node in self.waiting:
            return Text.assemble(("⏸ ", "yellow"), (node, "yellow"), (" waiting", "yellow"))
        if node in self.durations:
            timing = _timing(self.durations[node])
            return Text.assemble(("✓ ", "green"), (node, "green"), timing, spent)
        if node in self.cached:
            return Text.assemble(("⚡ ", "green"), (node, "green"), (" cached", "dim"))
        return Text.assemble("○ ", (node, "bold"))


def _timing(ms: float | None) -> Text:
    return Text(f" {ms:.1f} ms" if ms is not None else "", style="dim")


def _spent(spent: Spent | None) -> Text:
    return Text(f" · {spent.label}" if spent is not None else "", style="yellow")
