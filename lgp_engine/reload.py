"""Hot reload: watch a workflow's code and config, and swap in new versions safely.

:class:`WorkflowReloader` keeps the *last good* :class:`~lgp_engine.loader.LoadedWorkflow`
of one workflow in :attr:`~WorkflowReloader.current`. It watches (watchfiles) the
workflow file, the local modules it imports, the active config file and the
``langgraph.json`` / registry it came from. A burst of writes becomes one reload.

A reload imports into *fresh* module objects: the workflow module and every local
module of its import graph are taken out of ``sys.modules`` first, so a removed
function or node really disappears and a changed helper is really re-executed.
The local modules are found from the loaded modules themselves (their import
statements and the modules their globals refer to), limited to files under the
workflow's own folder, its package, and ``langgraph.json`` dependency folders.

If the new code fails (syntax error, exception at import, no workflow object,
graph that does not compile), ``sys.modules`` is put back exactly as it was,
:attr:`~WorkflowReloader.current` stays the previous version and the outcome
carries the :class:`~lgp_engine.errors.WorkflowLoadError` (with file and line). The
watch loop goes on; the next good save recovers.

Reloading swaps code, never state: a front end reruns on the same thread (see
:func:`rerun_plan`), so the thread's checkpoints survive every edit. Runs already
in flight keep the graph they started with.

Example (from a worker thread)::

    reloader = WorkflowReloader(loaded, settings)
    stop = threading.Event()
    for outcome in reloader.watch(stop):
        if outcome.ok:
            ...  # rerun on reloader.current
        else:
            print(outcome.error)
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from .config import Settings
from .errors import LGPError, WorkflowLoadError
from .events import ReloadEvent
from .loader import (
    LoadedWorkflow,
    SourceOnlyLoader,
    WorkflowSource,
    _attach,
    load_workflow,
    module_name_for,
    resolve_langgraph_json,
    resolve_target,
    sources_from,
)

# One reload at a time in a process: reloads edit sys.modules.
_RELOAD_LOCK = threading.RLock()
# Our own packages are never a workflow's local modules, wherever they live.
_OWN_PACKAGES = frozenset({"lgp_engine", "lgp_tui"})
_LOCATION = re.compile(r"^(?P<file>[^:\n]+\.py):(?P<line>\d+): ")
_AST_CACHE: dict[str, tuple[tuple[int, int], frozenset[tuple[str, int]]]] = {}


@dataclass(frozen=True)
class ReloadOutcome:
    """What one reload did.

    Attributes:
        workflow_name: The workflow reloaded.
        changed: The files whose change triggered it (empty for a manual reload).
        detected_at: Wall-clock time (epoch seconds) the change was noticed.
        detect_latency: Seconds from the newest changed file's mtime to
            ``detected_at`` (None when unknown, e.g. the file was deleted).
        load_duration: Seconds spent importing and checking the new version.
        workflow: The new current workflow, or None if the reload failed.
        error: Why it failed (file and line in the message where known), or None.
        error_file: The file the error points at, if known.
        error_line: The line the error points at, if known.
        settings: The settings re-read from a changed config file, else None.
        events: ``reload.started`` then ``reload.succeeded`` or ``reload.failed``.
    """

    workflow_name: str
    changed: tuple[Path, ...]
    detected_at: float
    detect_latency: float | None
    load_duration: float
    workflow: LoadedWorkflow | None
    error: LGPError | None = None
    error_file: str | None = None
    error_line: int | None = None
    settings: Settings | None = None
    events: tuple[ReloadEvent, ...] = ()

    @property
    def ok(self) -> bool:
        """True if the new version was loaded and is now current."""
        return self.workflow is not None


@dataclass
class RerunPlan:
    """What to do on a thread after a successful reload (see :func:`rerun_plan`).

    Attributes:
        action: ``rerun`` (start again with the last input), ``resume`` (the thread
            stopped at a checkpoint with nodes still to run: continue from there
            with the new code), or ``none`` (no thread yet).
        thread_id: The thread.
        status: The status of the thread's newest run.
        interrupts: The interrupts waiting for a value (``{"id", "value"}``).
        next: The nodes that run next on a resume.
    """

    action: Literal["rerun", "resume", "none"]
    thread_id: str | None
    status: str | None = None
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    next: list[str] = field(default_factory=list)

    @property
    def needs_value(self) -> bool:
        """A resume that needs the user's answer to an interrupt."""
        return self.action == "resume" and bool(self.interrupts)


def rerun_plan(runner: Any, thread_id: str | None) -> RerunPlan:
    """Decide how to rerun in place on ``thread_id`` after a reload.

    A thread whose newest run stopped at a checkpoint with nodes still to run (an
    interrupt, a static breakpoint, a node that failed, a cancel) is not rerun from
    the start: it is resumed from there, with the new code (an interrupt needs the
    user's value first). A completed thread is rerun with the last input. Either
    way the thread's history grows and nothing is reset.
    """
    if thread_id is None:
        return RerunPlan("none", None)
    last = runner.runs.latest_for_thread(thread_id)
    status = last.status if last is not None else None
    if status in ("interrupted", "failed", "cancelled", "abandoned"):
        from .events import asks_for_value
        from .timetravel import state_at

        state = state_at(runner.store, thread_id)
        waiting = [i for i in state.interrupts if asks_for_value(i)]
        if state.next or waiting:
            return RerunPlan("resume", thread_id, status, waiting, list(state.next))
    return RerunPlan("rerun", thread_id, status)


class WorkflowReloader:
    """Watches one workflow and keeps its last good version.

    Args:
        workflow: The loaded workflow (or where to load it from; loaded now, and a
            failure raises :class:`WorkflowLoadError`).
        settings: The active settings; their ``config_file`` is watched too.
        debounce_ms: Longest time a burst of writes is gathered into one reload.
        step_ms: Quiet time that ends a burst (this sets the detection latency).
    """

    def __init__(
        self,
        workflow: LoadedWorkflow | WorkflowSource,
        settings: Settings | None = None,
        *,
        debounce_ms: int = 50,
        step_ms: int = 10,
    ) -> None:
        if isinstance(workflow, WorkflowSource):
            workflow = load_workflow(workflow)
        self._current = workflow
        self.settings = settings
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self.last_error: LGPError | None = None
        self._lock = threading.Lock()
        self._modules: dict[str, Path] = _local_modules(workflow)

    # -- state --------------------------------------------------------------------
    @property
    def current(self) -> LoadedWorkflow:
        """The last version that loaded (and compiled) without error."""
        return self._current

    @property
    def name(self) -> str:
        return self._current.name

    def local_modules(self) -> dict[str, Path]:
        """The workflow module and the local modules it imports: name -> file."""
        return dict(self._modules)

    def watched_paths(self) -> list[Path]:
        """Every file whose change triggers a reload, sorted."""
        paths = set(self._modules.values())
        source = self._current.source
        if source.project_file is not None:
            paths.add(source.project_file.resolve())
        if self.settings is not None and self.settings.config_file is not None:
            paths.add(self.settings.config_file.resolve())
        return sorted(paths)

    # -- reloading ----------------------------------------------------------------
    def reload_now(
        self,
        changed: Iterable[Path] = (),
        *,
        detected_at: float | None = None,
        sources: Mapping[Path, bytes] | None = None,
    ) -> ReloadOutcome:
        """Load the workflow again now; never raises for a broken workflow.

        On success :attr:`current` is the new version. On failure it stays the old
        one and ``sys.modules`` is as it was before the attempt. ``sources`` (real
        path -> source) loads those files from the given source instead of the
        disk: an earlier version of the code (a rollback), whose
        :attr:`~lgp_engine.loader.LoadedWorkflow.snapshot` they become.
        """
        changed = tuple(sorted({Path(p) for p in changed}))
        detected_at = time.time() if detected_at is None else detected_at
        latency = _latency(changed, detected_at)
        name = self.name
        started = ReloadEvent(
            "reload.started",
            name,
            {
                "changed": [str(p) for p in changed],
                "detected_at": round(detected_at, 6),
                "detect_ms": None if latency is None else round(latency * 1000, 3),
            },
        )
        t0 = time.perf_counter()
        settings: Settings | None = None
        with self._lock, _RELOAD_LOCK:
            try:
                settings = self._reread_settings(changed)
                source = self._resolve_again(changed)
                old_roots = _local_roots(self._current.source, self._current.module)
                loaded, modules = _load_fresh(source, self._modules, old_roots, sources)
            except LGPError as exc:
                error: LGPError | None = exc
            except Exception as exc:  # noqa: BLE001 - a reload must never take the caller down
                error = WorkflowLoadError(
                    f"unexpected error while reloading: {type(exc).__name__}: {exc}"
                )
            else:
                error = None
            load_duration = time.perf_counter() - t0
            if error is None:
                self._current, self._modules = loaded, modules
                if settings is not None:
                    self.settings = settings
            self.last_error = error
        base = {
            "changed": [str(p) for p in changed],
            "load_ms": round(load_duration * 1000, 3),
            "total_ms": round((time.time() - detected_at) * 1000, 3),
        }
        if error is None:
            done = ReloadEvent(
                "reload.succeeded",
                name,
                {
                    **base,
                    "module": self._current.module.__name__,
                    "modules": sorted(self._modules),
                    "config_reloaded": settings is not None,
                },
            )
            return ReloadOutcome(
                name,
                changed,
                detected_at,
                latency,
                load_duration,
                self._current,
                settings=settings,
                events=(started, done),
            )
        file, line = error_location(error, self._current.source)
        failed = ReloadEvent(
            "reload.failed",
            name,
            {
                **base,
                "error": str(error),
                "title": error.title,
                "file": file,
                "line": line,
            },
        )
        return ReloadOutcome(
            name,
            changed,
            detected_at,
            latency,
            load_duration,
            None,
            error=error,
            error_file=file,
            error_line=line,
            events=(started, failed),
        )

    def _reread_settings(self, changed: tuple[Path, ...]) -> Settings | None:
        settings = self.settings
        if settings is None or settings.config_file is None:
            return None
        if settings.config_file.resolve() not in {p.resolve() for p in changed}:
            return None
        from .config import load_settings

        return load_settings(settings.environment, settings.project_dir)

    def _resolve_again(self, changed: tuple[Path, ...]) -> WorkflowSource:
        source = self._current.source
        project = source.project_file
        if project is None or project.resolve() not in {p.resolve() for p in changed}:
            return source
        if project.suffix == ".json":
            cwd = self.settings.project_dir if self.settings is not None else None
            return resolve_langgraph_json(project, source.name, cwd=cwd)
        return resolve_target(source.name, project_dir=source.base_dir, registry_file=project)

    # -- watching -----------------------------------------------------------------
    def watch(
        self,
        stop_event: threading.Event | None = None,
        *,
        on_ready: Callable[[list[Path]], None] | None = None,
    ) -> Iterator[ReloadOutcome]:
        """Block, yielding one :class:`ReloadOutcome` per burst of relevant writes.

        Runs until ``stop_event`` is set (checked every ``step_ms``). Usable from a
        worker thread; in the main thread Ctrl+C raises ``KeyboardInterrupt``.
        Failed reloads are yielded too, and watching goes on. ``on_ready`` is called
        once, with :meth:`watched_paths`, when the watcher is live (a write before
        that may be missed).
        """
        import watchfiles

        stop = stop_event or threading.Event()
        while not stop.is_set():
            dirs = self._watch_dirs()
            if not dirs:
                raise WorkflowLoadError(f"{self.name}: no file to watch (not loaded from a file)")
            restart = False
            # a timeout every 100 ms yields an empty set: the first one says "live"
            for changes in watchfiles.watch(
                *dirs,
                watch_filter=None,
                debounce=self.debounce_ms,
                step=self.step_ms,
                stop_event=stop,
                rust_timeout=100,
                yield_on_timeout=True,
                recursive=False,
                ignore_permission_denied=True,
            ):
                if on_ready is not None:
                    on_ready(self.watched_paths())
                    on_ready = None
                if not changes:
                    continue
                detected = time.time()
                relevant = self._relevant(changes)
                if not relevant:
                    continue
                yield self.reload_now(relevant, detected_at=detected)
                if self._watch_dirs() != dirs:  # a new local module in another folder
                    restart = True
                    break
            if not restart:
                return

    async def awatch(
        self,
        stop_event: asyncio.Event | None = None,
        *,
        on_ready: Callable[[list[Path]], None] | None = None,
    ) -> AsyncIterator[ReloadOutcome]:
        """:meth:`watch` for asyncio: watching and importing happen in a thread.

        Stops when ``stop_event`` is set or the iteration is closed/cancelled.
        ``on_ready`` is called from that thread.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ReloadOutcome | BaseException | None] = asyncio.Queue()
        stop = threading.Event()

        def hand_over(item: ReloadOutcome | BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def worker() -> None:
            try:
                for outcome in self.watch(stop, on_ready=on_ready):
                    hand_over(outcome)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
                hand_over(exc)
            finally:
                hand_over(None)

        relay = None
        if stop_event is not None:

            async def relay_stop() -> None:
                await stop_event.wait()
                stop.set()

            relay = asyncio.create_task(relay_stop())
        thread = threading.Thread(target=worker, name=f"lgp-reload-{self.name}", daemon=True)
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            if relay is not None:
                relay.cancel()

    def _watch_dirs(self) -> list[str]:
        return sorted({str(p.parent) for p in self.watched_paths() if p.parent.is_dir()})

    def _relevant(self, changes: Iterable[tuple[Any, str]]) -> list[Path]:
        watched = {str(p) for p in self.watched_paths()}
        own_dir = self._current.source.path.parent if self._current.source.path else None
        out: set[Path] = set()
        for _change, raw in changes:
            path = os.path.realpath(raw)
            if path in watched:
                out.add(Path(path))
            elif (
                self.last_error is not None
                and path.endswith(".py")
                and "__pycache__" not in path
                and own_dir is not None
                and Path(path).parent == own_dir
            ):
                # after a failure, a new or restored sibling module may be the fix
                out.add(Path(path))
        if self._entry_unchanged(out):
            return []  # another workflow was added to the registry (Save As, create)
        return sorted(out)

    def _entry_unchanged(self, changed: set[Path]) -> bool:
        """Only the registry this workflow came from changed, and not its entry."""
        source = self._current.source
        project = source.project_file
        if project is None or project.suffix == ".json" or changed != {project.resolve()}:
            return False
        try:
            again = self._resolve_again((project.resolve(),))
        except Exception:  # noqa: BLE001 - a broken registry: the reload reports it
            return False
        fields = ("path", "module", "attr", "sys_paths", "packages", "env")
        return all(getattr(again, f) == getattr(source, f) for f in fields)


# --------------------------------------------------------------------------- helpers


def error_location(
    error: BaseException, source: WorkflowSource | None = None
) -> tuple[str | None, int | None]:
    """``(file, line)`` an error message points at (``path.py:12: ...``), if any.

    Errors without a line (a graph that does not compile) point at the workflow
    file with no line.
    """
    match = _LOCATION.match(str(error))
    if match:
        return match["file"], int(match["line"])
    if source is not None and source.path is not None:
        return str(source.path), None
    return None, None


def _latency(changed: tuple[Path, ...], detected_at: float) -> float | None:
    mtimes = []
    for p in changed:
        with contextlib.suppress(OSError):
            mtimes.append(p.stat().st_mtime)
    return max(0.0, detected_at - max(mtimes)) if mtimes else None


def _load_fresh(
    source: WorkflowSource,
    previous: dict[str, Path],
    old_roots: list[str],
    sources: Mapping[Path, bytes] | None = None,
) -> tuple[LoadedWorkflow, dict[str, Path]]:
    """Import ``source`` into fresh module objects; on failure restore sys.modules.

    Every module of ``previous`` (the old version's local module graph) is taken out
    of ``sys.modules`` so that imports run the files again (or ``sources``, the
    snapshot of an earlier version, where it has them). If anything fails, the
    old module objects go back and local modules the attempt added are dropped;
    libraries it imported for the first time stay (they loaded fine, and some
    cannot be imported twice in one process).
    """
    saved = dict(sys.modules)
    for name in previous:
        sys.modules.pop(name, None)
    roots = sorted({*old_roots, *_local_roots(source, None)})
    excluded = _excluded_dirs()
    importlib.invalidate_caches()  # see files created since the last import
    finder = _FreshLocalFinder(roots, excluded)
    sys.meta_path.insert(0, finder)
    try:
        with sources_from(sources):
            loaded = load_workflow(source)
        if sources:
            loaded.snapshot = {Path(os.path.realpath(p)): src for p, src in sources.items()}
        if loaded.kind == "state_graph":
            _attach(loaded.target, None, source.label)  # compile errors fail the reload
        modules = _local_modules(loaded)
    except BaseException:
        for name in list(sys.modules):
            if name not in saved and (
                name in previous or _is_local(name, sys.modules[name], roots, excluded)
            ):
                del sys.modules[name]
        for name, module in saved.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
        raise
    finally:
        sys.meta_path.remove(finder)
    return loaded, modules


class _FreshLocalFinder(importlib.abc.MetaPathFinder):
    """During a reload, local modules load from source (see ``SourceOnlyLoader``)."""

    def __init__(self, roots: list[str], excluded: tuple[str, ...]) -> None:
        self.roots = [r + os.sep for r in roots]
        self.excluded = excluded

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.split(".", 1)[0] in _OWN_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        origin = spec.origin if spec is not None else None
        if spec is None or not origin or not isinstance(spec.loader, SourceFileLoader):
            return None
        real = os.path.realpath(origin)
        if real.startswith(self.excluded) or not real.startswith(tuple(self.roots)):
            return None
        return importlib.util.spec_from_file_location(
            fullname,
            origin,
            loader=SourceOnlyLoader(fullname, origin),
            submodule_search_locations=spec.submodule_search_locations,
        )


def _local_roots(source: WorkflowSource, module: ModuleType | None) -> list[str]:
    """Folders whose modules count as the workflow's own code."""
    roots: set[str] = set()
    file = source.path or (_module_file(module) if module is not None else None)
    if file is not None:
        roots.add(str(file.resolve().parent))
        name, import_root = module_name_for(file, source.base_dir)
        if "." in name:  # a package: its top folder
            roots.add(str((import_root / name.split(".", 1)[0]).resolve()))
    for p in source.sys_paths:
        roots.add(str(p.resolve()))
    return sorted(roots)


def _excluded_dirs() -> tuple[str, ...]:
    dirs = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return tuple(d + os.sep for d in dirs)


def _module_file(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(os.path.realpath(file)) if file else None


def _is_local(name: str, module: Any, roots: list[str], excluded: tuple[str, ...]) -> bool:
    if not isinstance(module, ModuleType) or name.split(".", 1)[0] in _OWN_PACKAGES:
        return False
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return False
    real = os.path.realpath(file)
    if real.startswith(excluded) or "site-packages" in real or "dist-packages" in real:
        return False
    return any(real.startswith(root + os.sep) for root in roots)


def local_module_files(workflow: LoadedWorkflow) -> list[Path]:
    """The files of the workflow module and the local modules it imports, sorted."""
    return sorted(set(_local_modules(workflow).values()))


def workflow_folder(workflow: LoadedWorkflow) -> Path | None:
    """The folder of the workflow's own file (None for an installed module)."""
    file = workflow.source.path or _module_file(workflow.module)
    return file.resolve().parent if file is not None else None


def _local_modules(workflow: LoadedWorkflow) -> dict[str, Path]:
    """The workflow module and its local import graph: module name -> file.

    Edges are the module's import statements (resolved against ``sys.modules``, so
    only modules that were really loaded count) and the modules its globals come
    from; only modules whose file lies under the workflow's local roots are kept.
    """
    roots = _local_roots(workflow.source, workflow.module)
    excluded = _excluded_dirs()
    top = workflow.module
    found: dict[str, Path] = {}
    top_file = _module_file(top)
    if top_file is not None:
        found[top.__name__] = top_file
    queue = [top]
    while queue:
        module = queue.pop()
        for name in _referenced_modules(module, workflow.snapshot):
            if name in found:
                continue
            candidate = sys.modules.get(name)
            if candidate is not None and _is_local(name, candidate, roots, excluded):
                path = _module_file(candidate)
                assert path is not None
                found[name] = path
                queue.append(candidate)
    return found


def _referenced_modules(
    module: ModuleType, snapshot: Mapping[Path, bytes] | None = None
) -> set[str]:
    names: set[str] = set()
    for value in list(vars(module).values()):
        if isinstance(value, ModuleType):
            names.add(value.__name__)
        else:
            owner = getattr(value, "__module__", None)
            if isinstance(owner, str):
                names.add(owner)
    file = _module_file(module)
    if file is not None:
        package = module.__package__ or ""
        for name, level in _imports_of(file, snapshot.get(file) if snapshot else None):
            if level:
                try:
                    name = importlib.util.resolve_name("." * level + name, package)
                except (ImportError, ValueError):
                    continue
            parts = name.split(".")
            names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return names


def _imports_of(file: Path, source: bytes | None = None) -> frozenset[tuple[str, int]]:
    """``(dotted name, relative level)`` of every import statement in ``file`` (or in
    ``source``, what the module was compiled from when not the file).

    For ``from a import b`` both ``a`` and ``a.b`` (b may be a submodule) are listed.
    """
    key: tuple[int, int] | None = None
    try:
        if source is None:
            st = file.stat()
            key = (st.st_mtime_ns, st.st_size)
            cached = _AST_CACHE.get(str(file))
            if cached is not None and cached[0] == key:
                return cached[1]
        tree = ast.parse(file.read_bytes() if source is None else source, filename=str(file))
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    out: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if base or node.level:
                out.add((base, node.level))
            for alias in node.names:
                if alias.name != "*":
                    out.add((f"{base}.{alias.name}" if base else alias.name, node.level))
    result = frozenset((n, lvl) for n, lvl in out if n or lvl)
    if key is not None:
        _AST_CACHE[str(file)] = (key, result)
    return result
