"""Static checks of a workflow's graph: problems found without running it.

:func:`analyze_workflow` reads a loaded workflow's graph (its nodes, edges and
conditional edges, its state schema, and the source of its node functions) and
returns a :class:`GraphAnalysis` holding one :class:`GraphWarning` per problem:

* ``unreachable``: no path from START leads to the node, so it never runs;
* ``dead_end``: nothing follows the node, so the run stops there without reaching
  END (LangGraph finishes quietly; the drawn graph even shows an edge to END);
* ``cycle_without_exit``: a loop a run cannot leave: one made of plain edges (each
  node always triggers the next, whatever else it routes to), or one whose
  conditional edges all lead back into it; the run only stops at the recursion
  limit;
* ``undeclared_key``: the node returns a key the state does not declare, which
  LangGraph drops without a word;
* ``interrupt_without_checkpointer``: a node calls ``interrupt()`` in a graph the
  workflow file compiles without a checkpointer. lgp (and the LangGraph server)
  attach their own checkpointer, so it works here; run with LangGraph alone, it
  stops at the interrupt and can never be resumed.

What cannot be known without running the graph is not guessed: a node whose code
cannot be read (a library runnable), or that may route with ``Command(goto=...)``,
may lead anywhere; a conditional edge without declared destinations leads where
its function's return statements say, or anywhere when they do not say; a
returned dict built at run time has no known keys. Only the workflow's own code is
read, never a library's.

Warnings are values in the engine's terms (code, node, message, hint); each front
end words and draws them its own way.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import os
import sysconfig
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .loader import LoadedWorkflow

START, END = "__start__", "__end__"

WarningCode = Literal[
    "unreachable",
    "dead_end",
    "cycle_without_exit",
    "undeclared_key",
    "interrupt_without_checkpointer",
]
#: Every warning code, in the order a node's warnings are listed.
WARNING_CODES: tuple[WarningCode, ...] = (
    "unreachable",
    "cycle_without_exit",
    "dead_end",
    "undeclared_key",
    "interrupt_without_checkpointer",
)

# How deep helper functions are followed when looking for interrupt() and Command.
_HELPER_DEPTH = 4


@dataclass(frozen=True)
class GraphWarning:
    """One problem the analyzer found.

    Attributes:
        code: What kind of problem (one of :data:`WARNING_CODES`).
        node: The node of the workflow's graph it concerns (for a problem inside a
            subgraph, the node that runs the subgraph), or None for the whole graph.
        message: What is wrong, in a sentence or two.
        hint: How to fix it.
        path: The source file it points at, when known.
        line: The line in ``path``, when known.
        related: Other nodes it concerns, in the same graph as ``node`` (the rest of a
            loop).
    """

    code: WarningCode
    node: str | None
    message: str
    hint: str
    path: str | None = None
    line: int | None = None
    related: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The warning as JSON-ready values."""
        return {**asdict(self), "related": list(self.related)}


@dataclass(frozen=True)
class GraphAnalysis:
    """What :func:`analyze_workflow` found.

    Attributes:
        workflow: The workflow's name.
        warnings: The problems, in the graph's node order.
        skipped: Why the graph's shape could not be checked (a factory builds its
            graph per run; an @entrypoint has no nodes and edges), or None when it
            was.
    """

    workflow: str
    warnings: tuple[GraphWarning, ...] = ()
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        """No warnings (also true when nothing could be checked: see ``skipped``)."""
        return not self.warnings

    def for_node(self, node: str) -> tuple[GraphWarning, ...]:
        """The warnings about ``node`` (also those where it is one of the related)."""
        return tuple(w for w in self.warnings if w.node == node or node in w.related)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "skipped": self.skipped,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def analyze_workflow(workflow: LoadedWorkflow) -> GraphAnalysis:
    """Check ``workflow``'s graph without running it or building it.

    Args:
        workflow: A loaded workflow (:func:`~lgp_engine.load_workflow`).

    Returns:
        The warnings, in the order of the graph's nodes (see the module's docstring
        for what is checked and what is left alone).
    """
    kind, target = workflow.kind, workflow.target
    if kind == "factory":
        return GraphAnalysis(
            workflow.name,
            skipped=f"`{workflow.attr}` is a factory: its graph is built per run, "
            "so there is no graph to check before it runs",
        )
    builder = target if kind == "state_graph" else getattr(target, "builder", None)
    warnings: list[GraphWarning] = []
    skipped = None
    if builder is None or not isinstance(getattr(builder, "nodes", None), Mapping):
        skipped = (
            f"`{workflow.attr}` is an @entrypoint (functional API): it has no nodes "
            "and edges to check, only its interrupt() calls"
        )
    else:
        warnings += _check_builder(builder)
    warnings += _interrupt_warnings(workflow, builder)
    order = list(builder.nodes) if builder is not None and skipped is None else []
    warnings.sort(key=lambda w: (_position(order, w.node), WARNING_CODES.index(w.code)))
    return GraphAnalysis(workflow.name, tuple(warnings), skipped)


def _position(order: list[str], node: str | None) -> int:
    return order.index(node) if node in order else len(order)


# --------------------------------------------------------------------------- graph shape


@dataclass
class _Out:
    """Where a run may go after a node (or START)."""

    targets: set[str] = field(default_factory=set)  # known destinations, END included
    plain: set[str] = field(default_factory=set)  # of those, plain one-source edges
    anywhere: bool = False  # destinations unknown: any node, or END
    on_error: str | None = None  # the error handler node that runs when it fails


def _check_builder(builder: Any, within: str | None = None) -> list[GraphWarning]:
    """The warnings for one StateGraph builder; ``within``: the outer node running it
    as a subgraph (its warnings are then about that node)."""
    nodes = [n for n in builder.nodes if n not in (START, END)]
    facts = {name: _node_facts(builder.nodes[name].runnable) for name in nodes}
    outs, joins = _edges(builder, nodes, facts)
    handlers = {n for n in nodes if getattr(builder.nodes[n], "is_error_handler", False)}
    warnings: list[GraphWarning] = []

    def add(
        code: WarningCode,
        node: str,
        message: str,
        hint: str,
        related: tuple[str, ...] = (),
        **where: Any,
    ) -> None:
        node_facts = facts.get(node)
        if not where and node_facts is not None and node_facts.defined_at is not None:
            where = dict(zip(("path", "line"), node_facts.defined_at, strict=True))
        if within is not None:  # about the node running the subgraph
            message = f"In subgraph `{within}`: {message[:1].lower()}{message[1:]}"
            related = ()
        warning = GraphWarning(code, within or node, message, hint, related=related, **where)
        warnings.append(warning)

    reached = _reachable(outs, joins, nodes)
    for node in nodes:
        if node not in reached and node not in handlers:
            add(
                "unreachable",
                node,
                f"No path from START leads to `{node}`, so it never runs.",
                f"connect it (add_edge('<previous node>', '{node}'), or a conditional "
                f"edge that can return '{node}'), or remove it",
            )
    live = [n for n in nodes if n in reached and n not in handlers]

    looped: set[str] = set()
    for cycle in _plain_cycles(outs, live):
        looped |= set(cycle)
        shown = " → ".join([*cycle, cycle[0]])
        add(
            "cycle_without_exit",
            cycle[0],
            f"{shown} is a loop of plain edges: each node always triggers the next, "
            "whatever else it routes to, so a run never leaves it and stops only at "
            "the recursion limit (GraphRecursionError).",
            f"make one edge of the loop conditional: instead of add_edge('{cycle[-1]}', "
            f"'{cycle[0]}'), add_conditional_edges('{cycle[-1]}', route) with route "
            f"returning '{cycle[0]}' to go round again and END (or the next node) when done",
            related=tuple(n for n in cycle[1:] if n != cycle[0]),
        )

    for node in live:
        out = outs[node]
        if not out.anywhere and not out.targets:
            add(
                "dead_end",
                node,
                f"Nothing follows `{node}`: the run stops after it without reaching END "
                "(LangGraph ends it quietly; the drawn graph shows an edge to END).",
                f"add add_edge('{node}', END) if the run is meant to finish there, or an "
                "edge to the node that should run next",
            )

    finishing = _can_finish(outs, nodes)
    for component in _closed_loops(outs, [n for n in live if n not in finishing]):
        if looped & set(component):
            continue  # said already: a loop of plain edges
        shown = ", ".join(f"`{n}`" for n in component)
        add(
            "cycle_without_exit",
            component[0],
            f"The loop through {shown} has no way out: its conditional edges only lead "
            "back into it, so a run stops only at the recursion limit (GraphRecursionError).",
            "let a conditional edge of the loop return END (or a node after the loop), "
            "and list it among the edge's destinations",
            related=tuple(component[1:]),
        )

    declared = set(builder.channels) | set(getattr(builder, "managed", {}))
    schema = getattr(builder.state_schema, "__name__", "the state")
    for node in nodes:
        node_facts = facts[node]
        if node_facts is None:
            continue
        if node_facts.subgraph is not None:
            warnings += _check_builder(node_facts.subgraph, within or node)
            continue
        if "__root__" in declared:
            continue  # a graph of one root value takes any update
        for keys, path, line in node_facts.returns:
            extra = sorted(k for k in dict.fromkeys(keys) if k not in declared)
            if extra:
                add(
                    "undeclared_key",
                    node,
                    f"`{node}` returns {_keys(extra)}, which {schema} does not declare: "
                    f"LangGraph drops {'it' if len(extra) == 1 else 'them'} without a word.",
                    _declare_hint(extra, declared, schema),
                    path=path,
                    line=line,
                )
    return warnings


def _keys(keys: list[str]) -> str:
    return ", ".join(repr(k) for k in keys)


def _declare_hint(extra: list[str], declared: set[str], schema: str) -> str:
    import difflib

    known = sorted(k for k in declared if not k.startswith("__") and ":" not in k)
    guesses = [g for k in extra for g in difflib.get_close_matches(k, known, n=1)]
    fix = f"fix the name (did you mean {_keys(guesses)}?)" if guesses else "fix the name"
    return f"declare {_keys(extra)} in {schema} (or the output schema), or {fix}"


def _edges(
    builder: Any, nodes: list[str], facts: Mapping[str, _Facts | None]
) -> tuple[dict[str, _Out], list[tuple[tuple[str, ...], str]]]:
    """Each node's (and START's) way on, and the joins (``add_edge([a, b], c)``)."""
    outs = {name: _Out() for name in [START, *nodes]}
    for src, dst in builder.edges:
        if src in outs:
            outs[src].targets.add(dst)
            outs[src].plain.add(dst)
    joins = [(tuple(srcs), dst) for srcs, dst in builder.waiting_edges]
    for srcs, dst in joins:
        for src in srcs:
            if src in outs:
                outs[src].targets.add(dst)
    known = set(nodes) | {END}
    for src, branches in builder.branches.items():
        if src not in outs:
            continue
        for spec in branches.values():
            ends = list(spec.ends.values()) if spec.ends is not None else _branch_ends(spec.path)
            if ends is None or not set(ends) <= known:
                outs[src].anywhere = True
            else:
                outs[src].targets.update(ends)
    for name in nodes:
        spec, out, node_facts = builder.nodes[name], outs[name], facts[name]
        handler = getattr(spec, "error_handler_node", None)
        out.on_error = handler if handler in outs else None
        if getattr(spec, "is_error_handler", False):
            out.anywhere = True  # it runs when a node fails, and routes where it says
        elif spec.ends:
            out.targets.update(spec.ends.values() if isinstance(spec.ends, dict) else spec.ends)
        elif node_facts is None or node_facts.may_goto:
            out.anywhere = True
    return outs, joins


def _reachable(
    outs: Mapping[str, _Out], joins: list[tuple[tuple[str, ...], str]], nodes: list[str]
) -> set[str]:
    """The nodes a run can get to from START."""
    names = set(nodes)
    reached: set[str] = set()
    frontier = [START]
    while frontier:
        while frontier:
            out = outs[frontier.pop()]
            found = set(names) if out.anywhere else out.targets & names
            if out.on_error is not None:
                found.add(out.on_error)
            new = found - reached
            reached |= new
            frontier += new
        for srcs, dst in joins:  # a join runs once all its sources can run
            ready = all(s in reached or s == START for s in srcs)
            if ready and dst in names and dst not in reached:
                reached.add(dst)
                frontier.append(dst)
    return reached


def _can_finish(outs: Mapping[str, _Out], nodes: list[str]) -> set[str]:
    """The nodes from which a run can end: reach END, or a node nothing follows."""
    done: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name in nodes:
            out = outs[name]
            if name not in done and (
                out.anywhere or not out.targets or END in out.targets or out.targets & done
            ):
                done.add(name)
                changed = True
    return done


def _components(graph: Mapping[str, Iterable[str]], nodes: list[str]) -> list[list[str]]:
    """The strongly connected components of ``graph`` (restricted to ``nodes``) that
    hold a cycle (several nodes, or one with an edge to itself), members in ``nodes``
    order, in the order of their first member."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    members = set(nodes)

    def visit(v: str) -> None:  # Tarjan's algorithm; graphs are small
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in members:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component, key=nodes.index))

    for v in nodes:
        if v not in index:
            visit(v)
    return sorted(found, key=lambda c: nodes.index(c[0]))


def _plain_cycles(outs: Mapping[str, _Out], nodes: list[str]) -> list[list[str]]:
    """One cycle of plain edges (in order, its earliest node first) per loop of them."""
    plain = {n: sorted(outs[n].plain & set(nodes), key=nodes.index) for n in nodes}
    return [_cycle_through(c[0], plain, set(c)) for c in _components(plain, nodes)]


def _cycle_through(start: str, graph: Mapping[str, list[str]], within: set[str]) -> list[str]:
    """A shortest cycle from ``start`` back to itself inside ``within``."""
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        name = queue.pop(0)
        for nxt in graph[name]:
            if nxt not in within:
                continue
            if nxt == start:
                path = [name]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return path[::-1]
            if nxt not in previous:
                previous[nxt] = name
                queue.append(nxt)
    return [start]


def _closed_loops(outs: Mapping[str, _Out], stuck: list[str]) -> list[list[str]]:
    """The loops among ``stuck`` nodes (ones from which a run can never end) that no
    edge leaves: what keeps them stuck."""
    graph = {n: sorted(outs[n].targets & set(stuck), key=stuck.index) for n in stuck}
    return [
        c
        for c in _components(graph, stuck)
        if all(outs[n].targets <= set(c) and not outs[n].anywhere for n in c)
    ]


# --------------------------------------------------------------------------- node code


@dataclass
class _Facts:
    """What a node's code shows without running it."""

    #: The literal string keys of each returned dict, with its file and line.
    returns: list[tuple[list[str], str | None, int | None]] = field(default_factory=list)
    interrupt_at: tuple[str, int] | None = None  # (file, line) of an interrupt() call
    may_goto: bool = False  # may route with Command(goto=...)
    goto_parent: bool = False  # may route the parent graph (Command(graph=...))
    subgraph: Any = None  # the builder of a compiled subgraph run as the node
    defined_at: tuple[str, int] | None = None  # (file, line) of the node's function


def _node_facts(runnable: Any) -> _Facts | None:
    """What ``runnable`` (a node) is known to do, or None when its code is unknown."""
    from langgraph.pregel import Pregel

    if isinstance(runnable, Pregel):
        builder = getattr(runnable, "builder", None)
        if builder is None or not isinstance(getattr(builder, "nodes", None), Mapping):
            return None
        inner = [_node_facts(spec.runnable) for spec in builder.nodes.values()]
        return _Facts(
            interrupt_at=next((f.interrupt_at for f in inner if f and f.interrupt_at), None),
            may_goto=any(f is None or f.goto_parent for f in inner),
            subgraph=builder,
        )
    agent = _agent_facts(runnable)
    if agent is not None:
        return agent
    fn = _function_of(runnable)
    return _read_function(fn) if fn is not None else None


def _agent_facts(runnable: Any) -> _Facts | None:
    """An lgp agent node: it returns its role's output key (and session id)."""
    from .providers.claude_code import ClaudeCodeNode
    from .providers.factory import AgentNode

    for attr in ("afunc", "func"):
        node = getattr(runnable, attr, None)
        if isinstance(node, ClaudeCodeNode):
            return _Facts(returns=[([node.output_key, node.session_key], None, None)])
        if isinstance(node, AgentNode):
            return _Facts(returns=[([node.output_key], None, None)])
    return None


def _function_of(runnable: Any) -> Callable[..., Any] | None:
    """The workflow's own function behind a runnable (a node, a conditional edge),
    or None when there is none whose source can be read."""
    for attr in ("func", "afunc"):
        candidate = getattr(runnable, attr, None)
        if callable(candidate):
            fn = _user_function(candidate)
            if fn is not None:
                return fn
    return None


def _user_function(obj: Any) -> Callable[..., Any] | None:
    """``obj`` as a plain function of the workflow's own code (partials, decorated
    functions, @task functions and callable objects unwrapped), else None."""
    for _ in range(8):
        if isinstance(obj, partial):
            obj = obj.func
        elif inspect.ismethod(obj):
            obj = obj.__func__
        elif inspect.isfunction(obj):
            if _is_user_code(obj) or not hasattr(obj, "__wrapped__"):
                break
            obj = obj.__wrapped__  # a library's decorator around the user's function
        elif callable(getattr(obj, "func", None)):
            obj = obj.func  # langgraph's @task
        elif hasattr(obj, "__wrapped__"):
            obj = obj.__wrapped__
        elif inspect.isfunction(call := inspect.getattr_static(type(obj), "__call__", None)):
            obj = call  # a callable object: its class's __call__
        else:
            break
    return obj if inspect.isfunction(obj) and _is_user_code(obj) else None


def _is_user_code(fn: Callable[..., Any]) -> bool:
    try:
        file = inspect.getsourcefile(fn)
    except TypeError:
        return False
    if not file:
        return False
    real = os.path.realpath(file)
    return not any(real.startswith(root + os.sep) for root in _library_roots())


_ROOTS: list[str] = []


def _library_roots() -> list[str]:
    """Folders of code that is not the workflow's: the standard library, installed
    packages, and the engine itself."""
    if not _ROOTS:
        paths = sysconfig.get_paths()
        roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
        roots.add(str(Path(__file__).resolve().parent))
        _ROOTS.extend(sorted({os.path.realpath(r) for r in roots}))
    return _ROOTS


@dataclass(frozen=True)
class _Source:
    """A function's definition (a def or a lambda), where it is, and what the names
    in it mean (its globals and closure, less its own local names)."""

    root: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    file: str
    first_line: int
    scope: Mapping[str, Any]

    def line(self, node: ast.AST) -> int:
        return self.first_line + getattr(node, "lineno", 1) - 1


def _source(fn: Callable[..., Any]) -> _Source | None:
    """``fn``'s parsed source, or None when it cannot be read or parsed alone."""
    try:
        lines, first = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn) or "?"
    except (OSError, TypeError):
        return None
    try:
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except SyntaxError:
        return None
    root: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    if fn.__name__ == "<lambda>":
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        if len(lambdas) != 1:
            return None
        root = lambdas[0]
    else:
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        if not defs:
            return None
        root = defs[0]
    scope = {**vars(builtins), **getattr(fn, "__globals__", {})}
    code = fn.__code__
    for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
        try:
            scope[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    for name in _local_names(root):
        scope.pop(name, None)
    return _Source(root, file, first, scope)


def _local_names(root: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """The parameters of a function and the names it assigns (they hide globals)."""
    args = root.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a is not None} | {
        a.arg for a in (args.vararg, args.kwarg) if a is not None
    }
    for node in _own_nodes(root):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".", 1)[0])
    return names


def _own_nodes(root: ast.AST) -> Iterator[ast.AST]:
    """Every node of a function's body, not those of the functions, lambdas and
    classes defined inside it."""
    todo = list(ast.iter_child_nodes(root))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))


def _returned(root: ast.AST) -> list[ast.expr | None]:
    """The expressions a function returns (None for a bare ``return``)."""
    if isinstance(root, ast.Lambda):
        return [root.body]
    return [n.value for n in _own_nodes(root) if isinstance(n, ast.Return)]


_UNKNOWN = object()


def _resolve(expr: ast.expr, scope: Mapping[str, Any]) -> Any:
    """The object a name or dotted name means in ``scope`` (``_UNKNOWN`` if none)."""
    if isinstance(expr, ast.Name):
        return scope.get(expr.id, _UNKNOWN)
    if isinstance(expr, ast.Attribute):
        base = _resolve(expr.value, scope)
        if base is _UNKNOWN:
            return _UNKNOWN
        try:
            return inspect.getattr_static(base, expr.attr)
        except AttributeError:
            return _UNKNOWN
    return _UNKNOWN


def _read_function(fn: Callable[..., Any]) -> _Facts | None:
    """The facts of a node function of the workflow's own code."""
    source = _source(fn)
    if source is None:
        return None
    facts = _Facts(returns=_returns(source), defined_at=(source.file, source.line(source.root)))
    facts.interrupt_at, facts.may_goto, facts.goto_parent = _calls(fn, source, set(), 0)
    annotation = getattr(fn, "__annotations__", {}).get("return")
    facts.may_goto = facts.may_goto or "Command" in str(annotation or "")
    return facts


def _returns(source: _Source) -> list[tuple[list[str], str | None, int | None]]:
    """The literal string keys of each dict the function returns (a Command's update
    too), with its line."""
    from langgraph.types import Command

    found: list[tuple[list[str], str | None, int | None]] = []
    for value in _returned(source.root):
        if isinstance(value, ast.Call) and _resolve(value.func, source.scope) is Command:
            if any(k.arg == "graph" for k in value.keywords):
                continue  # an update for the parent graph
            value = next((k.value for k in value.keywords if k.arg == "update"), None)
        for expr in _alternatives(value):
            keys = _dict_keys(expr, source.scope)
            if keys:
                found.append((keys, source.file, source.line(expr)))
    return found


def _alternatives(expr: ast.expr | None) -> list[ast.expr]:
    """``a if c else b`` -> [a, b] (nested too); anything else -> [it]."""
    if expr is None:
        return []
    if isinstance(expr, ast.IfExp):
        return [*_alternatives(expr.body), *_alternatives(expr.orelse)]
    return [expr]


def _dict_keys(expr: ast.expr, scope: Mapping[str, Any]) -> list[str] | None:
    """The string keys a dict expression certainly has (``{"a": 1, **rest}`` -> a;
    ``dict(a=1)`` -> a), or None when it is no dict literal."""
    if isinstance(expr, ast.Dict):
        return [
            k.value for k in expr.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
        ]
    if isinstance(expr, ast.Call) and _resolve(expr.func, scope) is dict and not expr.args:
        return [k.arg for k in expr.keywords if k.arg is not None]
    return None


def _calls(
    fn: Callable[..., Any], source: _Source, seen: set[Any], depth: int
) -> tuple[tuple[str, int] | None, bool, bool]:
    """Where ``fn`` (or a helper of the workflow's code it calls) calls interrupt();
    whether either may route with ``Command(goto=...)``; whether to the parent graph."""
    from langgraph.types import Command, interrupt

    seen.add(fn)
    where: tuple[str, int] | None = None
    goto = parent = False
    for node in _own_nodes(source.root):
        if not isinstance(node, ast.Call):
            continue
        called = _resolve(node.func, source.scope)
        if called is interrupt:
            where = where or (source.file, source.line(node))
        elif called is Command:
            # goto=..., or **kwargs that may hold it (Command's fields are keyword-only)
            goto = goto or any(k.arg in ("goto", None) for k in node.keywords)
            parent = parent or any(k.arg == "graph" for k in node.keywords)
        elif depth < _HELPER_DEPTH and called is not _UNKNOWN:
            helper = _user_function(called)
            inner = _source(helper) if helper is not None and helper not in seen else None
            if helper is not None and inner is not None:
                found, inner_goto, inner_parent = _calls(helper, inner, seen, depth + 1)
                where = where or found
                goto, parent = goto or inner_goto, parent or inner_parent
    return where, goto, parent


# --------------------------------------------------------------------------- branches


def _branch_ends(path: Any) -> list[str] | None:
    """Where a conditional edge without declared destinations leads, read from its
    function's return statements (strings, END, ``Send("node", ...)`` and lists of
    them); None when any of them says nothing certain."""
    fn = _function_of(path)
    source = _source(fn) if fn is not None else None
    if source is None:
        return None
    returned = _returned(source.root)
    ends: list[str] = []
    for value in returned:
        found = _destinations(value, source.scope) if value is not None else None
        if found is None:
            return None
        ends += found
    return list(dict.fromkeys(ends)) if returned else None


def _destinations(expr: ast.expr, scope: Mapping[str, Any]) -> list[str] | None:
    from langgraph.types import Send

    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.Name | ast.Attribute):
        value = _resolve(expr, scope)
        return [value] if isinstance(value, str) else None
    if isinstance(expr, ast.IfExp):
        body, orelse = _destinations(expr.body, scope), _destinations(expr.orelse, scope)
        return None if body is None or orelse is None else body + orelse
    if isinstance(expr, ast.List | ast.Tuple | ast.Set):
        found: list[str] = []
        for element in expr.elts:
            inner = _destinations(element, scope)
            if inner is None:
                return None
            found += inner
        return found
    if isinstance(expr, ast.ListComp | ast.GeneratorExp | ast.SetComp):
        return _destinations(expr.elt, scope)
    if isinstance(expr, ast.Call) and _resolve(expr.func, scope) is Send and expr.args:
        return _destinations(expr.args[0], scope)
    return None


# --------------------------------------------------------------------------- interrupts


def _interrupt_warnings(workflow: LoadedWorkflow, builder: Any) -> list[GraphWarning]:
    """interrupt() in a graph the workflow file compiles without a checkpointer: the
    workflow itself when it is compiled, else a compiled graph of its StateGraph that
    the file keeps for use outside lgp (``app = workflow.compile()``)."""
    from langgraph.pregel import Pregel

    target = workflow.target
    compiled: tuple[str, Any] | None = None
    if workflow.kind in ("compiled", "functional"):
        if _no_checkpointer(target):
            compiled = (workflow.attr, target)
    elif workflow.kind == "state_graph":
        compiled = next(
            (
                (name, value)
                for name, value in vars(workflow.module).items()
                if isinstance(value, Pregel)
                and getattr(value, "builder", None) is target
                and _no_checkpointer(value)
            ),
            None,
        )
    if compiled is None:
        return []
    attr, graph = compiled
    functional = workflow.kind == "functional"
    fix = (
        "@entrypoint(checkpointer=InMemorySaver())"
        if functional
        else f"{_name_of(workflow, builder, 'builder')}.compile(checkpointer=InMemorySaver())"
    )
    hint = f"give it one: {fix} (a SqliteSaver or PostgresSaver to outlive the process)"
    if not functional:
        hint += (
            ", or export the uncompiled StateGraph and let lgp or the LangGraph server compile it"
        )
    warnings = []
    lacks = (
        f"the @entrypoint `{attr}` has no checkpointer"
        if functional
        else f"`{attr}` is compiled without a checkpointer"
    )
    for node, inner, (path, line) in _interrupting(graph, builder):
        what = (
            f"`{node}` calls interrupt()"
            if inner is None
            else f"`{node}` runs a subgraph whose node `{inner}` calls interrupt()"
        )
        warnings.append(
            GraphWarning(
                "interrupt_without_checkpointer",
                node,
                f"{what}, but {lacks}. lgp attaches its own checkpointer (as the LangGraph "
                "server does), so it pauses and resumes here; run with "
                f"LangGraph alone ({attr}.invoke or {attr}.stream), it stops at the interrupt "
                "and cannot go on: Command(resume=...) raises RuntimeError 'Cannot use "
                "Command(resume=...) without checkpointer'.",
                hint,
                path=path,
                line=line,
            )
        )
    return warnings


def _no_checkpointer(graph: Any) -> bool:
    return getattr(graph, "checkpointer", None) in (None, False)


def _name_of(workflow: LoadedWorkflow, value: Any, default: str) -> str:
    """The name the workflow's module gives ``value``."""
    if value is not None:
        for name, candidate in vars(workflow.module).items():
            if candidate is value:
                return name
    return default


def _interrupting(graph: Any, builder: Any) -> Iterator[tuple[str, str | None, tuple[str, int]]]:
    """``(node, inner node or None, (file, line))`` for each node that calls interrupt()."""
    if builder is None:  # an @entrypoint: its function, and the tasks it calls
        for name, node in getattr(graph, "nodes", {}).items():
            fn = _function_of(getattr(node, "bound", None))
            found = _read_function(fn) if fn is not None else None
            if found is not None and found.interrupt_at is not None:
                yield name, None, found.interrupt_at
        return
    for name, spec in builder.nodes.items():
        found = _node_facts(spec.runnable)
        if found is None or found.interrupt_at is None:
            continue
        inner = None
        if found.subgraph is not None:
            if not _no_checkpointer(spec.runnable):
                continue  # the subgraph has a checkpointer of its own
            inner = next(
                (
                    n
                    for n, s in found.subgraph.nodes.items()
                    if (f := _node_facts(s.runnable)) is not None and f.interrupt_at
                ),
                None,
            )
        yield name, inner, found.interrupt_at
