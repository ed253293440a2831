"""Find, import and prepare workflows.

A *target* is what a user points at: ``file.py``, ``file.py:attr``, a LangGraph
CLI ``langgraph.json`` (with ``graph`` to pick one of its graphs), or a name
registered in ``workflows/config.yaml``. :func:`load_workflow` turns a target into
a :class:`LoadedWorkflow`, whose :meth:`~LoadedWorkflow.build` gives a compiled
graph wired to the engine's checkpointer.

Accepted objects are the ones the LangGraph CLI accepts: a compiled graph, an
uncompiled ``StateGraph``, an ``@entrypoint`` function, and a factory function
taking nothing, a config, a runtime, or both (called once per run).

Modules are imported under a name derived from their path the way
``langgraph dev`` derives it (``agents/graph.py`` -> ``agents__graph``, relative to
the project), so the name is the same in every process and two ``agent.py`` in
different folders do not clash; a file inside a package is imported under its
dotted package name. A name that already means an installed or standard module
(a ``json.py`` at the project root) gets an ``lgp__`` prefix instead of shadowing it.
The file's folder is put on ``sys.path`` so sibling modules import normally; for a
file inside a package it goes behind the package root, so that ``import pkg`` finds
the package even when it holds a ``pkg.py``.

A ``langgraph.json`` is read with the LangGraph CLI's path rules: relative paths are
looked up in the working directory (``langgraph dev``) and then next to the file
(``langgraph build``), and local ``dependencies`` become importable the way
``langgraph build`` installs them (see :func:`resolve_langgraph_json`).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import json
import logging
import os
import re
import sys
import traceback
import typing
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from .errors import WorkflowLoadError
from .registry import WorkflowRegistry

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger(__name__)

DEFAULT_ATTRS = ("workflow", "graph", "app")
WorkflowKind = Literal["compiled", "state_graph", "functional", "factory"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class WorkflowSource:
    """Where a workflow comes from, before anything is imported.

    Attributes:
        name: Display/registry name (graph id of a ``langgraph.json``, file stem...).
        path: The Python file, or None when ``module`` names an importable module.
        module: Importable module name (``langgraph.json`` entries like ``pkg.mod:attr``).
        attr: The attribute to use, or None to look for ``workflow``, ``graph``, ``app``.
        base_dir: Directory that relative module names are derived from (for a
            ``langgraph.json``, the folder its paths were resolved against, so the
            name follows the path as written there).
        sys_paths: Extra import roots (``langgraph.json`` dependencies).
        packages: Folders importable under their own name, as ``langgraph build``
            installs a dependency folder with ``__init__.py`` and no
            ``pyproject.toml`` (``libs/common`` -> ``import common``).
        env: Environment variables to set before importing (``langgraph.json`` env).
        warnings: Things worth telling the user that did not stop loading.
        project_file: The ``langgraph.json`` or registry file it was found through.
        description: One line about the workflow, if known.
    """

    name: str
    path: Path | None
    module: str | None = None
    attr: str | None = None
    base_dir: Path | None = None
    sys_paths: tuple[Path, ...] = ()
    packages: tuple[tuple[str, Path], ...] = ()
    env: tuple[tuple[str, str | None], ...] = ()
    warnings: tuple[str, ...] = ()
    project_file: Path | None = None
    description: str = ""

    @property
    def label(self) -> str:
        where = str(self.path) if self.path else self.module or "?"
        return f"{where}:{self.attr}" if self.attr else where

    @property
    def spec(self) -> str:
        """A target string that resolves back to this workflow from any directory."""
        if self.project_file is not None and self.project_file.suffix == ".json":
            return f"{self.project_file}#{self.name}"
        return self.label


@dataclass
class LoadedWorkflow:
    """An imported workflow, ready to build a runnable graph from."""

    source: WorkflowSource
    module: ModuleType
    attr: str
    target: Any
    kind: WorkflowKind
    warnings: list[str] = field(default_factory=list)
    #: The version of its code (a content hash, :mod:`lgp_engine.ops.versions`), once
    #: recorded; runs say which version they ran.
    version: str | None = None
    #: The sources it was compiled from when they are not the files on disk (an earlier
    #: version loaded again, e.g. by a rollback): real path -> source bytes.
    snapshot: Mapping[Path, bytes] | None = None

    @property
    def name(self) -> str:
        return self.source.name

    def source_bytes(self, path: Path) -> bytes:
        """What ``path`` held when this version was loaded: its snapshot's copy, else
        the file (``OSError`` when it cannot be read)."""
        if self.snapshot is not None and path in self.snapshot:
            return self.snapshot[path]
        return path.read_bytes()

    def build(
        self,
        checkpointer: Any,
        config: dict[str, Any] | None = None,
        *,
        context: Any = None,
        store: Any = None,
    ) -> Any:
        """A compiled graph using ``checkpointer`` (sync; factories are called now).

        Async factories and factories returning async context managers need
        :meth:`abuild`.
        """
        obj = self.target
        if self.kind == "factory":
            obj = _call_factory(obj, config or {}, context, store)
            if inspect.isawaitable(obj) or hasattr(obj, "__aenter__"):
                if inspect.iscoroutine(obj):
                    obj.close()  # never awaited on purpose: no "never awaited" warning
                raise WorkflowLoadError(
                    f"{self.source.label}: the factory is async; run it with the async API"
                )
            if hasattr(obj, "__enter__") and not _is_graph(obj):
                raise WorkflowLoadError(
                    f"{self.source.label}: factories returning context managers need `abuild`"
                )
        return _attach(obj, checkpointer, self.source.label)

    @contextlib.asynccontextmanager
    async def abuild(
        self,
        checkpointer: Any,
        config: dict[str, Any] | None = None,
        *,
        context: Any = None,
        store: Any = None,
    ) -> AsyncIterator[Any]:
        """Async version of :meth:`build`; supports every factory shape. A factory
        taking a runtime gets one whose ``store`` is ``store`` (the long-term store)."""
        obj = self.target
        if self.kind != "factory":
            yield _attach(obj, checkpointer, self.source.label)
            return
        produced = _call_factory(obj, config or {}, context, store)
        if inspect.isawaitable(produced):
            produced = await produced
        if hasattr(produced, "__aenter__"):
            async with produced as graph:
                yield _attach(graph, checkpointer, self.source.label)
        elif hasattr(produced, "__enter__") and not _is_graph(produced):
            with produced as graph:
                yield _attach(graph, checkpointer, self.source.label)
        else:
            yield _attach(produced, checkpointer, self.source.label)


# --------------------------------------------------------------------------- targets


def resolve_in_project(
    target: str, settings: Settings, *, graph: str | None = None
) -> WorkflowSource:
    """:func:`resolve_target` in the project of ``settings`` (its folder and registry)."""
    return resolve_target(
        target,
        graph=graph,
        project_dir=settings.project_dir,
        registry_file=settings.resolve(settings.workflows.registry),
    )


def resolve_target(
    target: str,
    *,
    graph: str | None = None,
    project_dir: Path | None = None,
    registry_file: Path | None = None,
) -> WorkflowSource:
    """Work out what ``target`` refers to, without importing anything."""
    project_dir = (project_dir or Path.cwd()).resolve()
    raw = target.strip()
    if not raw:
        raise WorkflowLoadError("no workflow given", hint="pass a file, file.py:attr or a name")
    if "#" in raw and raw.split("#", 1)[0].endswith(".json"):
        raw, graph_in_target = raw.split("#", 1)
        if graph and graph != graph_in_target:
            raise WorkflowLoadError(f"two graph names given: {graph_in_target!r} and {graph!r}")
        graph = graph_in_target
    path_part, attr = _split_attr(raw)
    candidate = _abs(path_part, project_dir)

    if candidate.is_dir() and (candidate / "langgraph.json").is_file():
        candidate = candidate / "langgraph.json"
    if candidate.suffix == ".json":
        if attr:
            raise WorkflowLoadError(
                f"{raw}: use {{field}} to pick a graph of a langgraph.json", field="graph"
            )
        if not candidate.is_file():
            raise WorkflowLoadError(f"workflow file not found: {path_part}")
        return resolve_langgraph_json(candidate, graph, cwd=project_dir)
    if graph:
        raise WorkflowLoadError("{field} only applies to a langgraph.json target", field="graph")
    if candidate.suffix == ".py" or "/" in path_part or os.sep in path_part:
        if not candidate.is_file():
            kind = "is a directory, not a workflow file" if candidate.is_dir() else "not found"
            raise WorkflowLoadError(f"workflow file {kind}: {path_part}")
        if candidate.suffix != ".py":
            raise WorkflowLoadError(f"{path_part}: not a Python file (expected a .py file)")
        return WorkflowSource(name=candidate.stem, path=candidate, attr=attr, base_dir=project_dir)
    if not _NAME.match(path_part):
        raise WorkflowLoadError(
            f"invalid workflow name {path_part!r}",
            hint="names use letters, digits, '_' and '-'; or pass a path to a .py file",
        )
    registry = WorkflowRegistry(registry_file or project_dir / "workflows" / "config.yaml")
    entry = registry.get(path_part)
    if entry is None:
        known = ", ".join(registry.names()) or "none"
        raise WorkflowLoadError(
            f"unknown workflow {path_part!r} (registered in {registry.display_path}: {known})",
            hint="pass a path to a .py file",
            code="unknown_workflow",
        )
    file_part, entry_attr = _split_attr(entry.path)
    path = _abs(file_part, registry.path.parent)
    if not path.is_file():
        raise WorkflowLoadError(
            f"workflow {path_part!r} is registered in {registry.display_path} "
            f"but its file is missing: {path}"
        )
    return WorkflowSource(
        name=path_part,
        path=path,
        attr=attr or entry_attr,
        base_dir=project_dir,
        project_file=registry.path,
        description=entry.description,
    )


def resolve_langgraph_json(
    config_path: Path, graph: str | None, *, cwd: Path | None = None
) -> WorkflowSource:
    """Read a LangGraph CLI ``langgraph.json`` with the CLI's path rules.

    ``langgraph dev`` resolves the graph paths, ``dependencies`` and ``env`` against
    the folder it is started in, ``langgraph build`` against the folder holding
    ``langgraph.json``. A relative path is looked up in the working directory ``cwd``
    first, as ``langgraph dev`` does, then next to ``langgraph.json``, so that
    ``lgp run path/to/langgraph.json`` works from any folder. The folder the graph is
    found in is the project root (``base_dir``, first on ``sys.path``, the base of
    the module name): ``dependencies`` and ``env`` are looked up there first, then in
    the other folder. A graph found only next to ``langgraph.json`` needs no warning
    (``langgraph build`` looks there too); found only in the working directory, or in
    both as two different files (the working directory's wins, as in ``langgraph
    dev``), it is a warning naming both folders; found in neither, an error naming
    both.

    The project root goes on ``sys.path``, and so does each local dependency folder
    (as ``langgraph dev`` does), plus what ``langgraph build`` installs from it: the
    ``src/`` of a folder with a ``pyproject.toml`` or ``setup.py``, and a folder with
    an ``__init__.py`` and no ``pyproject.toml`` as a package named after the folder
    (:attr:`WorkflowSource.packages`).

    Args:
        config_path: The ``langgraph.json``.
        graph: Which of its graphs; None when it defines only one.
        cwd: The working directory (``langgraph dev``'s base); the process's by
            default.
    """
    config_path = config_path.resolve()
    folder = config_path.parent
    here = (cwd or Path.cwd()).resolve()
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise WorkflowLoadError(f"{config_path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except OSError as exc:
        raise WorkflowLoadError(f"{config_path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise WorkflowLoadError(f"{config_path}: expected a JSON object")
    graphs = data.get("graphs")
    if not isinstance(graphs, dict) or not graphs:
        raise WorkflowLoadError(f"{config_path}: 'graphs' must be a non-empty object")
    if graph is None:
        if len(graphs) > 1:
            raise WorkflowLoadError(
                f"{config_path.name} defines several graphs: {', '.join(graphs)}",
                hint="pick one with {field}",
                field="graph",
            )
        graph = next(iter(graphs))
    if graph not in graphs:
        raise WorkflowLoadError(
            f"no graph {graph!r} in {config_path.name}; it defines: {', '.join(graphs)}"
        )
    spec = graphs[graph]
    description = ""
    if isinstance(spec, dict):
        description = str(spec.get("description") or "")
        spec = spec.get("path")
    if not isinstance(spec, str) or ":" not in spec:
        raise WorkflowLoadError(
            f"{config_path.name}: graph {graph!r} must be 'path/to/file.py:attr' or 'module:attr'"
        )
    where, attr = spec.rsplit(":", 1)
    deps = data.get("dependencies")
    if deps is not None and not isinstance(deps, list):
        raise WorkflowLoadError(f"{config_path.name}: 'dependencies' must be a list")
    bases = _Bases(here, folder, config_path.name)
    warnings: list[str] = []
    path: Path | None = None
    if "/" in where or "\\" in where:
        path, root = _graph_file(where, graph, bases, warnings)
    else:
        root = _module_root(where, deps or [], bases)
    order = bases.starting_with(root)
    dep_paths, packages = _local_dependencies(deps or [], order, bases, warnings)
    env = _langgraph_env(data.get("env"), order, bases, warnings)
    return WorkflowSource(
        name=graph,
        path=path,
        module=None if path is not None else where,
        attr=attr,
        base_dir=root,
        sys_paths=tuple(dict.fromkeys([root, *dep_paths])),
        packages=tuple(packages),
        env=env,
        warnings=tuple(warnings),
        project_file=config_path,
        description=description,
    )


def list_langgraph_graphs(config_path: Path) -> list[str]:
    """The graph names a ``langgraph.json`` defines."""
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkflowLoadError(f"{config_path}: cannot read: {exc}") from None
    return list((data.get("graphs") or {}).keys())


def workflow_files(folder: Path) -> list[Path]:
    """The workflow files of ``folder``, sorted: its ``*.py`` files, not recursively,
    except private ones (``_helpers.py``, ``__init__.py``); empty if it is no folder.

    What a folder of workflows means everywhere: the workbench's explorer lists these,
    and the server serves these for a folder target.
    """
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_") and p.is_file())


@dataclass(frozen=True)
class _Bases:
    """The folders a relative path in a ``langgraph.json`` may be meant against."""

    cwd: Path  # langgraph dev's
    folder: Path  # langgraph build's: the one holding the file
    config_name: str

    @property
    def all(self) -> tuple[Path, ...]:
        return (self.cwd,) if self.cwd == self.folder else (self.cwd, self.folder)

    def starting_with(self, root: Path) -> tuple[Path, ...]:
        return (root, *(b for b in self.all if b != root))

    def describe(self, base: Path) -> str:
        if base == self.cwd == self.folder:
            return f"{base} (the working directory, holding {self.config_name})"
        if base == self.cwd:
            return f"{base} (the working directory)"
        return f"{base} (next to {self.config_name})"

    def looked_in(self, bases: tuple[Path, ...] | None = None) -> str:
        return "looked in " + " and ".join(self.describe(b) for b in bases or self.all)


def _find(
    relative: str, bases: tuple[Path, ...], kind: Callable[[Path], bool]
) -> tuple[Path, Path] | None:
    """``(base, path)`` for the first ``base / relative`` of ``bases`` that ``kind``
    accepts (``Path.is_file``, ``Path.is_dir``)."""
    for base in bases:
        candidate = (base / relative).resolve()
        if kind(candidate):
            return base, candidate
    return None


def _graph_file(where: str, graph: str, bases: _Bases, warnings: list[str]) -> tuple[Path, Path]:
    """The graph file and the project root it was found in (see
    :func:`resolve_langgraph_json` for the order and the warnings)."""
    found = [(b, (b / where).resolve()) for b in bases.all]
    existing = [(b, p) for b, p in found if p.is_file()]
    if not existing:
        raise WorkflowLoadError(
            f"{bases.config_name}: graph {graph!r} points to a missing file: {where}; "
            f"{bases.looked_in()}",
            hint="paths in langgraph.json are relative to the folder `langgraph dev` runs in; "
            "start lgp there, or write them relative to langgraph.json",
            code="graph_file_missing",
            graph=graph,
            path=where,
            looked_in=[str(b) for b in bases.all],
        )
    root, path = existing[0]
    if root != bases.folder:  # the working directory's, where langgraph build will not look
        other = (bases.folder / where).resolve()
        if not other.is_file():
            warnings.append(
                f"graph {graph!r}: {where} is resolved against {bases.describe(root)}, "
                f"as `langgraph dev` does; it is not in {bases.describe(bases.folder)}, "
                "so `langgraph build`, and lgp started in another folder, will not find it"
            )
        elif other != path:
            warnings.append(
                f"graph {graph!r}: {where} is both in {bases.describe(root)} and in "
                f"{bases.describe(bases.folder)}; using the working directory's, as "
                f"`langgraph dev` does (start lgp in {bases.folder} for the other)"
            )
    return path, root


def _module_root(module: str, deps: list[Any], bases: _Bases) -> Path:
    """For a ``package.module:attr`` graph, the first base whose import roots hold the
    top-level package; the folder of ``langgraph.json`` when none does (the module may
    be installed)."""
    top = module.split(".", 1)[0]
    for base in bases.all:
        roots: list[Path] = [base]
        names: list[str | None] = []
        for dep in deps:
            found = _find(dep, (base,), Path.is_dir) if isinstance(dep, str) else None
            if found is not None:
                dep_roots, name = _installs(found[1])
                roots += dep_roots
                names.append(name)
        if top in names or any(
            (r / top / "__init__.py").is_file() or (r / f"{top}.py").is_file() or (r / top).is_dir()
            for r in roots
        ):
            return base
    return bases.folder


def _local_dependencies(
    deps: list[Any], order: tuple[Path, ...], bases: _Bases, warnings: list[str]
) -> tuple[list[Path], list[tuple[str, Path]]]:
    """Import roots and named package folders of the local ``dependencies``.

    Each folder is looked up in ``order`` (the project root first). It goes on
    ``sys.path`` as ``langgraph dev`` puts it there; what ``langgraph build`` would
    install from it is added: its ``src/`` when it is a real package
    (``pyproject.toml`` or ``setup.py``), or the folder itself as a package named
    after it when it has an ``__init__.py`` and no packaging file.
    """
    paths: list[Path] = []
    packages: list[tuple[str, Path]] = []
    for dep in deps:
        if not isinstance(dep, str):
            continue
        found = _find(dep, order, Path.is_dir)
        if found is None and not dep.startswith((".", "/")):
            name = re.split(r"[\s<>=!~\[;@]", dep, maxsplit=1)[0].replace("-", "_")
            if name and importlib.util.find_spec(name) is None:
                warnings.append(f"dependency {dep!r} is not installed (pip install {dep!r})")
            continue
        if found is None:
            warnings.append(f"dependency {dep!r} is not a directory; {bases.looked_in(order)}")
            continue
        base, local = found
        if base != order[0]:
            warnings.append(
                f"dependency {dep!r} is not in {bases.describe(order[0])}, where the graph "
                f"is; using the one in {bases.describe(base)}"
            )
        roots, name = _installs(local)
        paths += roots
        problem = _package_name_problem(local) if name else None
        if problem:
            warnings.append(f"dependency {dep!r}: {problem}")
        elif name:
            packages.append((name, local))
    return paths, packages


def _installs(folder: Path) -> tuple[list[Path], str | None]:
    """What a dependency folder makes importable: its import roots (the folder, as
    ``langgraph dev`` adds it, and the ``src/`` a real package is installed from) and
    the package name ``langgraph build`` installs a flat folder under, if any."""
    if (folder / "pyproject.toml").is_file() or (folder / "setup.py").is_file():
        return ([folder, folder / "src"] if (folder / "src").is_dir() else [folder]), None
    if (folder / "__init__.py").is_file():
        return [folder], folder.name
    return [folder], None


def _package_name_problem(folder: Path) -> str | None:
    name = folder.name
    if not name.isidentifier():
        return (
            f"{name!r} is not a valid package name, so the folder is not importable as a "
            "package (`langgraph build` refuses it too); rename it"
        )
    if _taken_elsewhere(name, folder / "__init__.py"):
        return (
            f"a package named {name!r} would shadow the standard or installed module of "
            "that name, so the folder is not importable as a package; rename it"
        )
    return None


def _langgraph_env(
    env: Any, order: tuple[Path, ...], bases: _Bases, warnings: list[str]
) -> tuple[tuple[str, str | None], ...]:
    if env is None:
        return ()
    if isinstance(env, dict):
        return tuple((str(k), None if v is None else str(v)) for k, v in env.items())
    if isinstance(env, str):
        found = _find(env, order, Path.is_file)
        if found is None:
            warnings.append(
                f"env file not found: {env}; {bases.looked_in(order)} (continuing without it)"
            )
            return ()
        from dotenv import dotenv_values

        return tuple(dotenv_values(found[1]).items())
    raise WorkflowLoadError(f"{bases.config_name}: 'env' must be a file path or an object")


# --------------------------------------------------------------------------- import


def load_workflow(source: WorkflowSource) -> LoadedWorkflow:
    """Import the module behind ``source`` and find its workflow object.

    Every problem is a :class:`WorkflowLoadError` with file and line where known.
    """
    for key, value in source.env:
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    for p in reversed(source.sys_paths):
        _add_sys_path(p)
    for name, folder in source.packages:
        _DEPENDENCY_PACKAGES.add(name, folder)
    if source.path is not None:
        module = import_file(source.path, source.base_dir)
        where = str(source.path)
    else:
        assert source.module is not None
        module = _import_module_name(source.module)
        where = source.module
    attr, target = _find_target(module, source.attr, where)
    kind = classify(target)
    if kind is None:
        raise WorkflowLoadError(
            f"{where}: `{attr}` is a {type(target).__name__}, not a workflow",
            hint="expected a StateGraph, a compiled graph, an @entrypoint or a factory function",
        )
    if kind == "factory":
        _factory_params(target, where)  # validate the signature now
    elif kind == "state_graph":
        _validate_graph(target, source.label)  # a graph that cannot compile is a load error
    return LoadedWorkflow(source, module, attr, target, kind, list(source.warnings))


def _validate_graph(graph: Any, label: str) -> None:
    """What ``compile()`` checks first (edges to unknown nodes, an entry point), now,
    so a broken graph fails to load instead of failing its first run."""
    try:
        graph.validate()
    except Exception as exc:
        raise WorkflowLoadError(
            f"{label}: the graph does not compile: {type(exc).__name__}: {exc}"
        ) from exc


def module_name_for(path: Path, base_dir: Path | None = None) -> tuple[str, Path]:
    """The stable module name for ``path`` and the directory to import it from.

    Inside a package (folders with ``__init__.py``) it is the dotted package path;
    otherwise it is derived from the path relative to ``base_dir`` the way
    ``langgraph dev`` does it.
    """
    path = path.resolve()
    parts = [path.stem]
    parent = path.parent
    while (parent / "__init__.py").is_file() and parent.parent != parent:
        parts.insert(0, parent.name)
        parent = parent.parent
    if len(parts) > 1 and all(p.isidentifier() for p in parts):
        return ".".join(parts), parent
    base = (base_dir or Path.cwd()).resolve()
    try:
        rel = path.relative_to(base).as_posix()
    except ValueError:
        rel = path.as_posix()
    name = rel.replace("/", "__").removesuffix(".py").replace(" ", "_").lstrip(".")
    name = re.sub(r"\W", "_", name)
    if name[:1].isdigit():
        name = "_" + name
    if _taken_elsewhere(name, path):
        name = "lgp__" + name
    return name, path.parent


def _taken_elsewhere(name: str, path: Path) -> bool:
    """True if ``name`` is a standard or installed module (not some workflow's file)."""
    if name in sys.stdlib_module_names:
        return True
    module = sys.modules.get(name)
    if module is not None:
        origin = getattr(module, "__file__", None) or ""
    else:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return False
        if spec is None:
            return False
        origin = spec.origin or ""
    origin = os.path.realpath(origin)
    if origin == str(path):
        return False
    return not any(origin.startswith(root + os.sep) for root in _LOCAL_ROOTS)


def import_file(path: Path, base_dir: Path | None = None) -> ModuleType:
    """Import ``path`` into a fresh module object under its stable name."""
    name, import_root = module_name_for(path, base_dir)
    if "." in name:  # a package module: import parents normally, the module itself fresh
        # The package root comes first: the file's own folder only serves implicit
        # sibling imports, and ahead of the root it would turn `import pkg` into a
        # `pkg.py` the package holds.
        _evict_foreign_siblings(path.parent, keep=name.split(".", 1)[0])
        _add_sys_path(import_root)
        _add_sys_path(path.parent, after=import_root)
        try:
            importlib.import_module(name.rsplit(".", 1)[0])
        except Exception as exc:  # noqa: BLE001 - reported with file and line
            raise _import_error(exc, path) from None
    else:
        _evict_foreign_siblings(path.parent)
        _add_sys_path(path.parent)
    loader = SourceOnlyLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None or spec.loader is None:
        raise WorkflowLoadError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _import_error(exc, path) from None
    return module


class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles the file every time, never trusting ``__pycache__``.

    A ``.pyc`` is checked against the source's mtime in whole seconds and its
    size, so two same-size saves within a second would load stale code. Workflow
    files are small; compiling them is a millisecond. Inside :func:`sources_from`,
    a file given there compiles from that source instead of the file's.
    """

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)

    def get_data(self, path: str) -> bytes:
        overrides = _SOURCE_OVERRIDES.get()
        if overrides:
            found = overrides.get(os.path.realpath(path))
            if found is not None:
                return found
        return super().get_data(path)


_SOURCE_OVERRIDES: ContextVar[Mapping[str, bytes] | None] = ContextVar(
    "lgp_source_overrides", default=None
)


@contextlib.contextmanager
def sources_from(snapshot: Mapping[Path, bytes] | None) -> Iterator[None]:
    """Workflow modules imported inside (in this thread) compile from ``snapshot``
    (real path -> source) instead of their files: an earlier version of the code is
    loaded again, under the same module names and paths, while the files on disk
    hold another one."""
    if not snapshot:
        yield
        return
    token = _SOURCE_OVERRIDES.set({os.path.realpath(p): src for p, src in snapshot.items()})
    try:
        yield
    finally:
        _SOURCE_OVERRIDES.reset(token)


def _evict_foreign_siblings(folder: Path, keep: str | None = None) -> None:
    """Forget cached modules named like a file in ``folder`` but loaded from another
    workflow folder, so that ``import helpers`` finds this folder's ``helpers.py``
    (``keep``: the package ``folder`` belongs to, which is no foreign sibling)."""
    here = str(folder.resolve())
    try:
        local = {
            p.stem for p in folder.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()
        }
    except OSError:
        return
    for mod_name in local - {keep}:
        module = sys.modules.get(mod_name)
        file = getattr(module, "__file__", None)
        if not file:
            continue
        owner = os.path.dirname(file)
        if os.path.basename(file) == "__init__.py":
            owner = os.path.dirname(owner)
        if owner != here and owner in _LOCAL_ROOTS:
            del sys.modules[mod_name]


def _import_module_name(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise WorkflowLoadError(
                f"module {name!r} not found",
                hint="add its folder to 'dependencies' in langgraph.json, or install it",
            ) from None
        raise _import_error(exc, None) from None
    except Exception as exc:  # noqa: BLE001
        raise _import_error(exc, None) from None


def _import_error(exc: BaseException, path: Path | None) -> WorkflowLoadError:
    if isinstance(exc, SyntaxError):
        where = exc.filename or (str(path) if path else "?")
        detail = (exc.msg or "invalid syntax").strip()
        return WorkflowLoadError(f"{where}:{exc.lineno or 1}: syntax error: {detail}")
    frames = traceback.extract_tb(exc.__traceback__)
    own_dir = str(path.parent) if path else None
    # the deepest frame in the workflow's own folder, else the deepest outside importlib
    own = [f for f in frames if own_dir and f.filename.startswith(own_dir)]
    user = [f for f in frames if "importlib" not in f.filename and "<frozen" not in f.filename]
    chosen = own or user or list(frames)
    location = f"{chosen[-1].filename}:{chosen[-1].lineno}" if chosen else str(path or "?")
    message = f"{location}: error while importing the workflow: {type(exc).__name__}: {exc}"
    hint = None
    if isinstance(exc, ModuleNotFoundError):
        hint = f"is {exc.name!r} installed, or a sibling module with a different name?"
    err = WorkflowLoadError(message, hint=hint)
    err.__cause__ = exc
    return err


def _add_sys_path(p: Path, *, after: Path | None = None) -> None:
    """Put ``p`` first on ``sys.path`` (``after``: right behind that entry, and never
    ahead of it), and count it as a folder of workflow code."""
    s = str(p)
    anchor = str(after) if after is not None else None
    if anchor is not None and anchor in sys.path:
        if s in sys.path and sys.path.index(s) < sys.path.index(anchor):
            sys.path.remove(s)  # it was ahead of its anchor: move it behind
        if s not in sys.path:
            sys.path.insert(sys.path.index(anchor) + 1, s)
    elif s not in sys.path:
        sys.path.insert(0, s)
    _LOCAL_ROOTS.add(s)
    _install_serde_filter()


class _DependencyPackages(importlib.abc.MetaPathFinder):
    """Dependency folders importable under their own name, as ``langgraph build``
    installs a folder with an ``__init__.py`` and no ``pyproject.toml``
    (``libs/common`` -> ``import common``).

    Only that name becomes importable: the folder's parent stays off ``sys.path``, so
    its other folders and modules stay unimportable, as in the built image. Consulted
    before ``sys.path``, which the dependency folders head too.
    """

    def __init__(self) -> None:
        self.folders: dict[str, Path] = {}

    def add(self, name: str, folder: Path) -> None:
        self.folders[name] = folder
        _LOCAL_ROOTS.add(str(folder))
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        folder = self.folders.get(fullname)
        init = folder / "__init__.py" if folder is not None else None
        if init is None or not init.is_file():
            return None
        return importlib.util.spec_from_file_location(
            fullname,
            init,
            loader=SourceOnlyLoader(fullname, str(init)),
            submodule_search_locations=[str(folder)],
        )


_DEPENDENCY_PACKAGES = _DependencyPackages()


# Folders workflows were loaded from. LangGraph warns when a checkpoint holds a type
# it has not been told about; types of the user's own workflow modules are expected
# there (that is why modules get stable names), so that warning is noise for them.
_LOCAL_ROOTS: set[str] = set()
_FILTER_INSTALLED = False


class _LocalTypesFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Deserializing unregistered type"):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        module = sys.modules.get(str(args[0])) if args else None
        file = getattr(module, "__file__", None) or ""
        return not any(file.startswith(root + os.sep) for root in _LOCAL_ROOTS)


def _install_serde_filter() -> None:
    global _FILTER_INSTALLED
    if not _FILTER_INSTALLED:
        logging.getLogger("langgraph.checkpoint.serde.jsonplus").addFilter(_LocalTypesFilter())
        _FILTER_INSTALLED = True


def _split_attr(raw: str) -> tuple[str, str | None]:
    # "file.py:attr" / "pkg/langgraph.json"; a drive letter like C:\ has no ".py" before ":"
    if ":" in raw:
        head, tail = raw.rsplit(":", 1)
        if tail.isidentifier() and (head.endswith(".py") or "/" in head or not head):
            return head, tail
        if head.endswith(".py"):
            raise WorkflowLoadError(f"invalid attribute {tail!r} in {raw!r}")
    return raw, None


def _abs(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


# --------------------------------------------------------------------------- objects


def classify(obj: Any) -> WorkflowKind | None:
    """Which kind of workflow object ``obj`` is, or None if it is not one."""
    from langgraph.graph import StateGraph
    from langgraph.graph.state import CompiledStateGraph
    from langgraph.pregel import Pregel

    if isinstance(obj, CompiledStateGraph):
        return "compiled"
    if isinstance(obj, Pregel):
        return "functional"
    if isinstance(obj, StateGraph):
        return "state_graph"
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return "factory"
    return None


def _is_graph(obj: Any) -> bool:
    from langgraph.graph import StateGraph
    from langgraph.pregel import Pregel

    return isinstance(obj, Pregel | StateGraph)


def _find_target(module: ModuleType, attr: str | None, where: str) -> tuple[str, Any]:
    if attr:
        if not hasattr(module, attr):
            raise WorkflowLoadError(
                f"{where}: no attribute {attr!r}; found: {_describe_candidates(module)}"
            )
        return attr, getattr(module, attr)
    for name in DEFAULT_ATTRS:
        if hasattr(module, name) and classify(getattr(module, name)) is not None:
            return name, getattr(module, name)
    raise WorkflowLoadError(
        f"{where}: no workflow object: looked for `workflow`, `graph` or `app`; "
        f"found: {_describe_candidates(module)}",
        hint="export one of those names, or pass FILE.py:ATTR",
    )


def _describe_candidates(module: ModuleType) -> str:
    graphs, others = [], []
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value) or isinstance(value, type):
            continue
        imported = getattr(value, "__module__", module.__name__) not in (module.__name__, None)
        if imported and inspect.isfunction(value):
            continue  # imported helpers are noise
        kind = classify(value)
        if kind in ("compiled", "state_graph", "functional"):
            graphs.append(f"{name} ({kind.replace('_', ' ')})")
        else:
            others.append(name)
    listed = graphs or others
    if not listed:
        return "nothing"
    shown = ", ".join(listed[:8]) + (", ..." if len(listed) > 8 else "")
    return shown


def _attach(obj: Any, checkpointer: Any, label: str) -> Any:
    from langgraph.graph import StateGraph
    from langgraph.pregel import Pregel

    if isinstance(obj, StateGraph):
        try:
            return obj.compile(checkpointer=checkpointer)
        except Exception as exc:
            raise WorkflowLoadError(
                f"{label}: the graph does not compile: {type(exc).__name__}: {exc}"
            ) from exc
    if isinstance(obj, Pregel):
        if obj.checkpointer not in (None, False) and obj.checkpointer is not checkpointer:
            log.warning("%s: replacing the graph's own checkpointer with the engine's", label)
        return obj.copy(update={"checkpointer": checkpointer})
    raise WorkflowLoadError(
        f"{label}: the factory returned a {type(obj).__name__}, not a graph",
        hint="return a StateGraph or a compiled graph",
    )


def _runtime_annotation(annotation: Any) -> bool:
    if annotation is inspect.Parameter.empty:
        return False
    origin = typing.get_origin(annotation) or annotation
    if origin is typing.Annotated:
        return _runtime_annotation(typing.get_args(annotation)[0])
    name = getattr(origin, "__name__", str(origin))
    return "Runtime" in name


def _factory_params(fn: Callable[..., Any], where: str) -> list[tuple[str, str]]:
    """``[(param_name, 'config' | 'runtime')]`` for a factory, as the LangGraph CLI reads it."""
    sig = inspect.signature(fn)
    params = [
        p
        for p in sig.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.default is p.empty
    ]
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable string annotations
        hints = {}
    kinds = [
        (p.name, "runtime" if _runtime_annotation(hints.get(p.name, p.annotation)) else "config")
        for p in params
    ]
    if len(kinds) > 2 or (len(kinds) == 2 and sorted(k for _, k in kinds) != ["config", "runtime"]):
        raise WorkflowLoadError(
            f"{where}: factory `{fn.__name__}` must take no argument, a config, a runtime, "
            "or a config and a runtime"
        )
    return kinds


def _call_factory(
    fn: Callable[..., Any], config: dict[str, Any], context: Any = None, store: Any = None
) -> Any:
    kinds = _factory_params(fn, getattr(fn, "__module__", "?"))
    if not kinds:
        return fn()
    runtime = _FactoryRuntime(config, context, store)
    args = {n: (runtime if k == "runtime" else config) for n, k in kinds}
    if len(kinds) == 1:
        return fn(next(iter(args.values())))
    return fn(**args)


class _FactoryRuntime:
    """What a factory annotated with a runtime receives: what the LangGraph server's
    ``ServerRuntime`` holds (``access_context``, ``user``, ``store``, ``context``,
    ``execution_runtime``, ``ensure_user()``), plus the run's ``config``.

    ``access_context`` is ``threads.create_run`` when the graph is built for a run,
    ``assistants.read`` when it is built to be described (graph, schemas); only a
    run has a ``context`` and an ``execution_runtime``.
    """

    user = None  # no custom auth: API keys identify no user

    def __init__(self, config: dict[str, Any], context: Any = None, store: Any = None) -> None:
        self.config = config
        self.store = store
        running = "run_id" in config
        self.access_context = "threads.create_run" if running else "assistants.read"
        self.context = context if running else None

    @property
    def execution_runtime(self) -> _FactoryRuntime | None:
        """This runtime when the graph is built for a run, else None."""
        return self if self.access_context == "threads.create_run" else None

    def ensure_user(self) -> Any:
        raise PermissionError(
            f"No authenticated user available in access_context='{self.access_context}' "
            "(lgp authenticates API keys, not users)"
        )

    def __repr__(self) -> str:
        return f"FactoryRuntime({self.access_context}, context={self.context!r})"


def iter_graph_nodes(graph: Any) -> Iterator[str]:
    """Node names of a compiled graph, without the ``__start__``/``__end__`` markers."""
    for name in getattr(graph, "nodes", {}):
        if not name.startswith("__"):
            yield name
