"""The graph pane: the workflow's nodes and edges in text, with live run state, and
the analyzer's warnings about the graph (``lgp check``) under it.

Focused, it has a node cursor (up/down): ``x`` expands subgraph nodes into their
inner nodes (xray), ``b`` sets a breakpoint on the node for the next runs (before →
after → none), ``s`` asks to run one node (:class:`GraphView.StepRequested`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.geometry import Region
from textual.message import Message
from textual.widgets import Static

from ...breakpoints import CYCLE, Breaks, When
from ...usage import Spent

if TYPE_CHECKING:
    from lgp_engine import GraphWarning

START, END = "__start__", "__end__"
_NAMES = {START: "START", END: "END"}
#: How deep xray draws subgraphs in subgraphs.
MAX_DEPTH = 8


@dataclass(frozen=True)
class Edge:
    """One edge of the drawn graph; ``conditional`` edges are drawn ``─?→``."""

    target: str
    conditional: bool = False
    label: str | None = None


@dataclass
class GraphShape:
    """Nodes in a readable (breadth-first from START) order and their outgoing edges;
    ``subgraphs``: the shape of each node that is a compiled subgraph."""

    nodes: list[str]
    edges: dict[str, list[Edge]] = field(default_factory=dict)
    subgraphs: dict[str, GraphShape] = field(default_factory=dict)

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

    @classmethod
    def from_compiled(cls, compiled: Any, depth: int = 0) -> GraphShape:
        """From a compiled graph, with the shape of each subgraph node in it (and of
        theirs, :data:`MAX_DEPTH` deep)."""
        shape = cls.from_drawable(compiled.get_graph())
        if depth >= MAX_DEPTH:
            return shape
        try:
            children = list(compiled.get_subgraphs())
        except Exception:  # noqa: BLE001 - a graph LangGraph cannot look into: drawn flat
            children = []
        for name, sub in children:
            if name in shape.nodes:
                shape.subgraphs[name] = cls.from_compiled(sub, depth + 1)
        return shape

    @property
    def own_nodes(self) -> list[str]:
        """The graph's nodes, START and END left out."""
        return [n for n in self.nodes if n not in (START, END)]


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


def node_key(node: str, path: Sequence[str] = ()) -> str:
    """How the pane names a node: its name, under the subgraph nodes it runs in
    (``research/search``)."""
    return "/".join((*path, node))


class GraphView(ScrollableContainer):
    """Draws one :class:`GraphShape`; marks the running node, and finished nodes' timing
    and the tokens and cost of their model calls. Under the graph, the analyzer's
    warnings, each node they concern marked ⚠. Breakpoints are kept per workflow
    (:meth:`breaks` gives the current one's) and drawn on their nodes: ``⏸▸ node``
    stops before it, ``node ▸⏸`` after it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("home", "cursor(-1000000)", "First", show=False),
        Binding("end", "cursor(1000000)", "Last", show=False),
        Binding(
            "x",
            "toggle_xray",
            "Xray",
            id="graph.xray",
            tooltip="Expand subgraph nodes into their inner nodes, or fold them again",
        ),
        Binding(
            "b",
            "cycle_break",
            "Break",
            id="graph.break",
            tooltip="Breakpoint on the node for the next runs: before it, after it, none",
        ),
        Binding(
            "s",
            "step",
            "Step",
            id="graph.step",
            tooltip="Run (or continue the stopped thread) one node, and stop after it",
        ),
    ]

    class BreakpointsChanged(Message):
        """The breakpoints of ``workflow`` (the one shown) are now ``breaks``."""

        def __init__(self, workflow: str | None, breaks: Breaks) -> None:
            super().__init__()
            self.workflow = workflow
            self.breaks = breaks

    class StepRequested(Message):
        """``s``: run one node (a new run, or the stopped thread continued)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shape: GraphShape | None = None
        self.workflow: str | None = None  # whose graph is shown (breakpoints are its)
        self.running: set[str] = set()
        self.durations: dict[str, float] = {}
        self.spent: dict[str, Spent] = {}
        self.failed: set[str] = set()
        self.cached: set[str] = set()  # served from the node cache in this run
        self.waiting: set[str] = set()  # stopped at an interrupt(): waits for an answer
        self.paused: dict[str, When] = {}  # stopped at a breakpoint before/after the node
        self.warnings: tuple[GraphWarning, ...] = ()
        self.plain: list[str] = []  # the graph's lines, then the warnings', as text
        self.xray = False
        """Subgraph nodes drawn with their inner nodes under them."""
        self.cursor = 0  # the node (an index of node_keys) that b and the highlight are on
        self.node_keys: list[str] = []  # the nodes drawn, in order (node_key of each)
        self._rows: list[str | None] = []  # each line's node (None: an edge, START, END)
        self._marks: dict[str | None, dict[str, When]] = {}  # workflow -> node -> when
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
        self,
        shape: GraphShape | None,
        note: str = "",
        warnings: Sequence[GraphWarning] = (),
        workflow: str | None = None,
    ) -> None:
        """Draw ``shape`` (or ``note`` when there is none; under it when there is one)
        and ``warnings`` under it; clears run marks. ``workflow``: whose graph it is
        (its breakpoints are drawn; None keeps the workflow shown)."""
        current = self.current_node
        self.shape = shape
        self._note = note or ("" if shape is not None else "No graph.")
        self.warnings = tuple(warnings)
        changed = workflow is not None and workflow != self.workflow
        if workflow is not None:
            self.workflow = workflow
        self.reset_run()
        if current in self.node_keys and not changed:
            self.cursor = self.node_keys.index(current)  # a reload keeps it on its node
        elif changed:
            self.cursor = 0
        self._redraw()
        if changed:
            self.post_message(self.BreakpointsChanged(self.workflow, self.breaks()))

    def reset_run(self) -> None:
        """Forget the marks of the previous run."""
        self.running.clear()
        self.durations.clear()
        self.spent.clear()
        self.failed.clear()
        self.cached.clear()
        self.waiting.clear()
        self.paused.clear()
        self._redraw()

    def resumed(self) -> None:
        """The stopped run goes on: its marks stay (a node that runs again adds up),
        where it stopped goes."""
        self.paused.clear()
        self._redraw()

    def node_started(self, node: str, path: Sequence[str] = ()) -> None:
        """``node`` (in the subgraph nodes ``path``) began."""
        key = node_key(node, path)
        self.running.add(key)
        self.paused.pop(key, None)
        self._redraw()

    def node_finished(
        self,
        node: str,
        duration_ms: float | None,
        *,
        failed: bool = False,
        interrupted: bool = False,
        spent: Spent | None = None,
        path: Sequence[str] = (),
    ) -> None:
        """``node`` ended (after ``duration_ms``), or stopped at an ``interrupt()``
        (``interrupted``: it waits, it did not finish); ``spent``: its model calls. A
        node that runs again (a revision loop, a resume) adds up."""
        key = node_key(node, path)
        self.running.discard(key)
        if interrupted:
            self.waiting.add(key)
        else:
            self.waiting.discard(key)
        if duration_ms is not None:
            self.durations[key] = self.durations.get(key, 0.0) + duration_ms
        if spent is not None:
            self.spent[key] = self.spent.get(key, Spent()) + spent
        if failed:
            self.failed.add(key)
        self._redraw()

    def node_cached(self, node: str, path: Sequence[str] = ()) -> None:
        """``node`` was served from the node cache (it did not run)."""
        key = node_key(node, path)
        self.running.discard(key)
        self.cached.add(key)
        self._redraw()

    def stopped_at(self, stop: Mapping[str, Any]) -> None:
        """The run stopped at a breakpoint (``stop``: an ``interrupt`` event's
        ``breakpoint``, ``when`` before or after its ``nodes``)."""
        when = stop.get("when")
        if when in ("before", "after"):
            for node in stop.get("nodes") or []:
                self.paused[str(node)] = when
        self._redraw()

    def run_ended(self) -> None:
        """The run is over: nothing is running any more."""
        self.running.clear()
        self._redraw()

    # -- breakpoints -------------------------------------------------------------
    @property
    def marks(self) -> dict[str, When]:
        """The shown workflow's breakpoints: node → ``before`` or ``after``."""
        return self._marks.setdefault(self.workflow, {})

    def breaks(self) -> Breaks:
        """The shown workflow's breakpoints, for its next run (on nodes it has)."""
        nodes = self.shape.own_nodes if self.shape is not None else None
        return Breaks.of(self.marks, nodes)

    def set_break(self, node: str, when: When | None) -> None:
        """Stop the next runs ``when`` (before/after) ``node``, or not at all (None)."""
        if when is None:
            self.marks.pop(node, None)
        else:
            self.marks[node] = when
        self._redraw()
        self.post_message(self.BreakpointsChanged(self.workflow, self.breaks()))

    @property
    def current_node(self) -> str | None:
        """The node under the cursor (``node_key``), if any."""
        if not self.node_keys:
            return None
        return self.node_keys[min(self.cursor, len(self.node_keys) - 1)]

    # -- keys --------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        if not self.node_keys:
            return
        self.cursor = max(0, min(len(self.node_keys) - 1, self.cursor + delta))
        self._redraw()
        self._show_cursor()

    def action_toggle_xray(self) -> None:
        if self.shape is None or not self.shape.subgraphs:
            self.notify("This graph has no subgraph nodes to expand.", title="Xray")
            return
        current = self.current_node
        self.xray = not self.xray
        self._redraw()
        if current is not None:
            # folding keeps the cursor on the subgraph node an inner node was in
            top = current.split("/", 1)[0]
            at = current if current in self.node_keys else top
            self.cursor = self.node_keys.index(at) if at in self.node_keys else 0
            self._redraw()
        self._show_cursor()

    def action_cycle_break(self) -> None:
        node = self.current_node
        if node is None:
            self.app.bell()
            return
        if "/" in node:
            outer = node.split("/", 1)[0]
            self.notify(
                f"{node.rsplit('/', 1)[-1]} is inside the subgraph {outer}: breakpoints go on "
                f"the workflow's own nodes (on {outer}, it stops before or after it whole).",
                title="Breakpoint",
                severity="warning",
            )
            return
        self.set_break(node, CYCLE[self.marks.get(node)])

    def action_step(self) -> None:
        self.post_message(self.StepRequested())

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = int(self.scroll_offset.y + offset.y)
        if 0 <= row < len(self._rows) and (key := self._rows[row]) is not None:
            self.cursor = self.node_keys.index(key)
            self._redraw()

    def on_focus(self) -> None:
        self._redraw()

    def on_blur(self) -> None:
        self._redraw()

    def _show_cursor(self) -> None:
        """Scroll the cursor's line into view, once the lines just drawn are laid out."""
        if self.is_mounted:
            self.call_after_refresh(self._scroll_to_cursor)

    def _scroll_to_cursor(self) -> None:
        key = self.current_node
        if key is not None and key in self._rows:
            row = self._rows.index(key)
            self.scroll_to_region(Region(0, row, 1, 1), animate=False, immediate=True)

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
            parts = [f"⚠ {count} warning{'s' * (count != 1)}"] if count else []
            if self.xray:
                parts.append("xray")
            self.border_subtitle = " · ".join(parts)

    def _lines(self) -> list[Text]:
        self._rows = []
        if self.shape is None:
            self.node_keys = []
            self._rows.append(None)
            return [Text(self._note, style="dim")]
        lines: list[Text] = []
        self._draw(self.shape, (), lines)
        self.node_keys = [key for key in self._rows if key is not None]
        self.cursor = max(0, min(self.cursor, len(self.node_keys) - 1))
        current = self.current_node
        if current is not None and self.has_focus:
            lines[self._rows.index(current)].stylize("reverse")
        return lines

    def _draw(self, shape: GraphShape, path: tuple[str, ...], lines: list[Text]) -> None:
        """``shape``'s lines (a subgraph's under its node when ``path`` is its place)."""
        lead = " " + "│ " * len(path) if path else ""
        for node in shape.nodes:
            if path and node in (START, END):
                continue  # a subgraph starts at its first node, and ends back outside
            key = None if node in (START, END) else node_key(node, path)
            lines.append(Text.assemble((lead, "dim"), self._node_line(node, path)))
            self._rows.append(key)
            sub = shape.subgraphs.get(node)
            if sub is not None and self.xray:
                self._draw(sub, (*path, node), lines)
            for edge in shape.edges.get(node, []):
                arrow = "─?→" if edge.conditional else "──→"
                label = f" [{edge.label}]" if edge.label else ""
                lines.append(
                    Text.assemble(
                        (lead, "dim"),
                        "   ",
                        (arrow, "yellow" if edge.conditional else "dim"),
                        " ",
                        _name(edge.target),
                        (label, "dim"),
                    )
                )
                self._rows.append(None)

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

    def _node_line(self, node: str, path: tuple[str, ...] = ()) -> Text:
        if node in (START, END):
            return Text(f"◆ {_name(node)}", style="bold dim")
        key = node_key(node, path)
        mark = None if path else self.marks.get(node)
        icon, style, tail = self._state(key)
        line = Text.assemble(icon, ("⏸▸ ", "bold red") if mark == "before" else "", (node, style))
        shape = self._shape_at(path)
        if shape is not None and node in shape.subgraphs:
            line.append(" ⊟" if self.xray else " ⊞", style="magenta")
        if mark == "after":
            line.append(" ▸⏸", style="bold red")
        line.append_text(tail)
        if key in self.paused:
            line.append(" paused", style="bold yellow")
        if not path and any(w.node == node or node in w.related for w in self.warnings):
            line.append(" ⚠", style="bold yellow")
        return line

    def _shape_at(self, path: tuple[str, ...]) -> GraphShape | None:
        shape = self.shape
        for part in path:
            shape = shape.subgraphs.get(part) if shape is not None else None
        return shape

    def _state(self, key: str) -> tuple[Text, str, Text]:
        """The node's icon, the style of its name and what follows it, for its state
        in the run."""
        if key in self.running:
            return Text("▶ ", "bold"), "bold reverse cyan", Text(" running", "cyan")
        spent = _spent(self.spent.get(key))
        if key in self.failed:
            return Text("✖ ", "red"), "red", _timing(self.durations.get(key)) + spent
        if key in self.waiting:
            return Text("⏸ ", "yellow"), "yellow", Text(" waiting", "yellow")
        if key in self.durations:
            return Text("✓ ", "green"), "green", _timing(self.durations[key]) + spent
        if key in self.cached:
            return Text("⚡ ", "green"), "green", Text(" cached", "dim")
        return Text("○ "), "bold", Text("")


def _timing(ms: float | None) -> Text:
    return Text(f" {ms:.1f} ms" if ms is not None else "", style="dim")


def _spent(spent: Spent | None) -> Text:
    return Text(f" · {spent.label}" if spent is not None else "", style="yellow")
