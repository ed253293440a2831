"""Tests for lgp_engine.reload: edit workflow files on disk and check each outcome.

Every test writes a real workflow into ``tmp_path``, runs it through the
:class:`Runner` on a SQLite file, edits files on disk, and waits (generous
timeouts, no timing asserts) for the :class:`WorkflowReloader`'s watcher, which
runs in a thread exactly as the workbench uses it.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine import Runner, Settings, WorkflowLoadError, WorkflowReloader
from lgp_engine.errors import ConfigError
from lgp_engine.loader import load_workflow, resolve_target
from lgp_engine.reload import ReloadOutcome, error_location, rerun_plan

TIMEOUT = 15.0

FLOW = """\
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
{imports}

class State(TypedDict, total=False):
    x: int
    out: str
    extra: str


def first(state):
    return {{"out": {out}}}

{more}
builder = StateGraph(State)
builder.add_node("first", first)
{wiring}
workflow = builder
"""


def flow(out: str = '"v1"', *, imports: str = "", more: str = "", wiring: str = "") -> str:
    wiring = wiring or 'builder.add_edge(START, "first")\nbuilder.add_edge("first", END)'
    return FLOW.format(out=out, imports=imports, more=more, wiring=wiring)


TWO_NODES = dict(
    more='def second(state):\n    return {"extra": "added"}\n',
    wiring='builder.add_node("second", second)\nbuilder.add_edge(START, "first")\n'
    'builder.add_edge("first", "second")\nbuilder.add_edge("second", END)',
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


class Watching:
    """A reloader watching in a worker thread; outcomes arrive on a queue."""

    def __init__(self, reloader: WorkflowReloader) -> None:
        self.reloader = reloader
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.outcomes: queue.Queue[ReloadOutcome | BaseException] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(TIMEOUT), "the watcher did not start"

    def _run(self) -> None:
        try:
            for outcome in self.reloader.watch(self.stop, on_ready=lambda _: self.ready.set()):
                self.outcomes.put(outcome)
        except BaseException as exc:  # noqa: BLE001 - surfaced by next()
            self.outcomes.put(exc)

    def next(self, timeout: float = TIMEOUT) -> ReloadOutcome:
        item = self.outcomes.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def none_within(self, seconds: float) -> bool:
        try:
            item = self.outcomes.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected reload: {item}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "flows").mkdir(parents=True)
    return root


@pytest.fixture
def runner(project: Path) -> Iterator[Runner]:
    with Runner.open(Settings(project_dir=project)) as r:
        yield r


def load(path: Path, project: Path) -> Any:
    return load_workflow(resolve_target(str(path), project_dir=project))


def run(runner: Runner, workflow: Any, thread_id: str, payload: Any = None) -> dict[str, Any]:
    events = list(runner.start(workflow, payload or {"x": 1}, thread_id=thread_id))
    last = events[-1]
    assert last.type == "run.completed", last
    return last.data["output"]


def checkpoint_ids(runner: Runner, thread_id: str) -> list[str]:
    return [c.checkpoint_id for c in runner.store.history(thread_id, limit=1000)]


@pytest.fixture
def watching() -> Iterator[list[Watching]]:
    started: list[Watching] = []
    yield started
    for w in started:
        w.close()


def watch(reloader: WorkflowReloader, registry: list[Watching]) -> Watching:
    w = Watching(reloader)
    registry.append(w)
    return w


# --------------------------------------------------------------------------- acceptance 1


def test_edits_on_disk_rerun_on_the_same_thread_and_keep_history(
    project: Path, runner: Runner, watching: list[Watching]
) -> None:
    path = write(project / "flows" / "flow.py", flow())
    reloader = WorkflowReloader(load(path, project), Settings(project_dir=project))
    w = watch(reloader, watching)
    assert run(runner, reloader.current, "t1") == {"x": 1, "out": "v1"}
    before = checkpoint_ids(runner, "t1")

    # change a node's output
    write(path, flow('"v2"'))
    outcome = w.next()
    assert outcome.ok and outcome.error is None
    assert outcome.changed == (path.resolve(),)
    assert [e.type for e in outcome.events] == ["reload.started", "reload.succeeded"]
    assert outcome.workflow is reloader.current
    assert rerun_plan(runner, "t1").action == "rerun"
    assert run(runner, reloader.current, "t1")["out"] == "v2"
    after_change = checkpoint_ids(runner, "t1")
    assert set(before) < set(after_change)  # history grows, nothing is reset

    # add a node
    write(path, flow('"v3"', **TWO_NODES))
    assert w.next().ok
    assert run(runner, reloader.current, "t1") == {"x": 1, "out": "v3", "extra": "added"}
    assert set(after_change) < set(checkpoint_ids(runner, "t1"))
    runs = runner.runs.list_runs(thread_id="t1")
    assert len(runs) == 3 and {r.status for r in runs} == {"completed"}


def test_broken_save_keeps_the_old_version_and_the_fix_recovers(
    project: Path, runner: Runner, watching: list[Watching]
) -> None:
    path = write(project / "flows" / "flow.py", flow('"good"'))
    reloader = WorkflowReloader(load(path, project))
    old = reloader.current
    w = watch(reloader, watching)
    run(runner, old, "t1")

    broken = flow('"broken"').replace("def first(state):", "def first(state)")
    line = broken.splitlines().index("def first(state)") + 1
    write(path, broken)
    outcome = w.next()
    assert not outcome.ok and outcome.workflow is None
    assert isinstance(outcome.error, WorkflowLoadError)
    assert "syntax error" in str(outcome.error)
    assert outcome.error_file == str(path.resolve())
    assert outcome.error_line == line
    failed = outcome.events[-1]
    assert failed.type == "reload.failed"
    assert failed.data["file"] == str(path.resolve()) and failed.data["line"] == line
    # the old version is still current, still in sys.modules, and still runs
    assert reloader.current is old
    assert sys.modules[old.module.__name__] is old.module
    assert run(runner, reloader.current, "t1")["out"] == "good"

    write(path, flow('"fixed"'))
    outcome = w.next()
    assert outcome.ok, outcome.error
    assert reloader.last_error is None
    assert run(runner, reloader.current, "t1")["out"] == "fixed"
    assert len(runner.runs.list_runs(thread_id="t1")) == 3


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (flow('"x"') + "\nraise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
        (
            flow('"x"').replace("workflow = builder", "something_else = builder"),
            "no workflow object",
        ),
        (
            flow('"x"').replace(
                'builder.add_edge("first", END)', 'builder.add_edge("first", "nope")'
            ),
            "does not compile",
        ),
        (flow('"x"', imports="import no_such_module_lgp"), "ModuleNotFoundError"),
    ],
    ids=["exception-at-import", "no-workflow-object", "compile-error", "missing-import"],
)
def test_every_kind_of_broken_version_is_refused(
    project: Path, runner: Runner, broken: str, expected: str
) -> None:
    path = write(project / "flows" / "flow.py", flow('"good"'))
    reloader = WorkflowReloader(load(path, project))
    old = reloader.current
    modules_before = dict(sys.modules)
    write(path, broken)
    outcome = reloader.reload_now([path])
    assert not outcome.ok
    assert expected in str(outcome.error)
    assert outcome.error_file is not None and outcome.error_file.endswith("flow.py")
    assert reloader.current is old
    assert sys.modules[old.module.__name__] is old.module
    local = {
        n for n, m in sys.modules.items() if str(project) in (getattr(m, "__file__", None) or "")
    }
    assert local == {
        n for n, m in modules_before.items() if str(project) in (getattr(m, "__file__", None) or "")
    }
    assert run(runner, reloader.current, "t1")["out"] == "good"


def test_a_changed_helper_module_is_watched_and_re_executed(
    project: Path, runner: Runner, watching: list[Watching]
) -> None:
    helper = write(project / "flows" / "helpers.py", 'TAG = "h1"\n')
    path = write(project / "flows" / "flow.py", flow("TAG", imports="from helpers import TAG"))
    reloader = WorkflowReloader(load(path, project))
    assert helper.resolve() in reloader.watched_paths()
    w = watch(reloader, watching)
    assert run(runner, reloader.current, "t1")["out"] == "h1"

    write(helper, 'TAG = "h2"\n')
    outcome = w.next()
    assert outcome.ok and outcome.changed == (helper.resolve(),)
    assert run(runner, reloader.current, "t1")["out"] == "h2"
    assert sys.modules["helpers"].TAG == "h2"


def test_local_modules_come_from_the_import_graph_not_guesses(project: Path) -> None:
    write(project / "flows" / "helpers.py", "from util import SUFFIX\nTAG = 'h' + SUFFIX\n")
    write(project / "flows" / "util.py", "SUFFIX = '!'\n")
    write(project / "flows" / "unrelated.py", "X = 1\n")
    write(project / "flows" / "sub" / "deep.py", "DEEP = 1\n")
    path = write(
        project / "flows" / "flow.py", flow("TAG", imports="import json\nfrom helpers import TAG")
    )
    reloader = WorkflowReloader(load(path, project))
    assert set(reloader.local_modules()) == {"flows__flow", "helpers", "util"}
    assert all(p.is_relative_to(project.resolve()) for p in reloader.watched_paths())


def test_package_workflow_reloads_its_relative_imports(project: Path, runner: Runner) -> None:
    pkg = project / "lgpt_reload_pkg"
    write(pkg / "__init__.py", "")
    helper = write(pkg / "helpers.py", 'TAG = "p1"\n')
    path = write(pkg / "flow.py", flow("TAG", imports="from .helpers import TAG"))
    reloader = WorkflowReloader(load(path, project))
    assert {"lgpt_reload_pkg", "lgpt_reload_pkg.flow", "lgpt_reload_pkg.helpers"} <= set(
        reloader.local_modules()
    )
    write(helper, 'TAG = "p2"\n')
    assert reloader.reload_now([helper]).ok
    assert run(runner, reloader.current, "t1")["out"] == "p2"


# --------------------------------------------------------------------------- acceptance 2


def test_a_removed_node_and_function_are_gone_after_reload(
    project: Path, runner: Runner, watching: list[Watching]
) -> None:
    path = write(project / "flows" / "flow.py", flow(**TWO_NODES))
    reloader = WorkflowReloader(load(path, project))
    w = watch(reloader, watching)
    assert "second" in runner.executor(reloader.current).graph().nodes
    assert run(runner, reloader.current, "t1")["extra"] == "added"

    write(path, flow('"v2"'))
    assert w.next().ok
    module = reloader.current.module
    assert not hasattr(module, "second")  # a fresh module object, no stale globals
    assert module is sys.modules[module.__name__]
    assert "second" not in runner.executor(reloader.current).graph().nodes
    events = list(runner.start(reloader.current, {"x": 2}, thread_id="t2"))
    assert [e.node for e in events if e.type == "node.started"] == ["first"]
    assert events[-1].data["output"] == {"x": 2, "out": "v2"}


def test_two_workflows_in_one_folder_both_see_the_new_helper(
    project: Path, runner: Runner, watching: list[Watching]
) -> None:
    helper = write(project / "flows" / "shared.py", 'def tag():\n    return "s1"\n')
    a = write(project / "flows" / "a.py", flow('"a-" + shared.tag()', imports="import shared"))
    b = write(project / "flows" / "b.py", flow('"b-" + tag()', imports="from shared import tag"))
    ra, rb = WorkflowReloader(load(a, project)), WorkflowReloader(load(b, project))
    wa, wb = watch(ra, watching), watch(rb, watching)
    assert run(runner, ra.current, "ta")["out"] == "a-s1"
    assert run(runner, rb.current, "tb")["out"] == "b-s1"

    write(helper, 'def tag():\n    return "s2"\n')
    assert wa.next().ok and wb.next().ok
    assert run(runner, ra.current, "ta")["out"] == "a-s2"
    assert run(runner, rb.current, "tb")["out"] == "b-s2"


# --------------------------------------------------------------------------- watching


def test_a_burst_of_writes_is_one_reload(project: Path, watching: list[Watching]) -> None:
    path = write(project / "flows" / "flow.py", flow())
    # writes less than step_ms apart are one burst; the default 10 ms is shorter than
    # a busy machine may keep this thread off the CPU between two writes, which split
    # the burst (seen once in a loaded run), so the test widens both windows
    reloader = WorkflowReloader(load(path, project), step_ms=200, debounce_ms=2000)
    w = watch(reloader, watching)
    for i in range(10):
        write(path, flow(f'"burst{i}"'))
    outcome = w.next()
    assert outcome.ok
    assert w.none_within(0.5)  # the whole burst became one reload
    assert reloader.current.module.first({}) == {"out": "burst9"}


def test_same_size_saves_within_a_second_are_not_served_from_stale_bytecode(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    helper = write(project / "flows" / "helpers.py", 'TAG = "b1"\n')
    path = write(project / "flows" / "flow.py", flow("TAG", imports="from helpers import TAG"))
    reloader = WorkflowReloader(load(path, project))
    for tag in ("b2", "b3", "b4"):  # same size, same second: .pyc checks would pass
        write(helper, f'TAG = "{tag}"\n')
        write(
            path,
            flow("TAG + '.'", imports="from helpers import TAG")
            if tag == "b3"
            else flow("TAG", imports="from helpers import TAG"),
        )
        assert reloader.reload_now([helper, path]).ok
        expected = tag + ("." if tag == "b3" else "")
        assert reloader.current.module.first({}) == {"out": expected}


def test_unrelated_files_do_not_reload(project: Path, watching: list[Watching]) -> None:
    path = write(project / "flows" / "flow.py", flow())
    reloader = WorkflowReloader(load(path, project))
    w = watch(reloader, watching)
    write(project / "flows" / "other_workflow.py", "X = 1\n")
    write(project / "flows" / "notes.txt", "hello\n")
    assert w.none_within(0.5)
    write(path, flow('"v2"'))
    assert w.next().ok


def test_a_registry_change_reloads_only_when_the_entry_changed(
    project: Path, watching: list[Watching]
) -> None:
    """Save As and ``lgp create`` add other workflows to the registry: the open one is
    not reloaded (and rerun) for that; a change to its own entry does reload it."""
    write(project / "flows" / "flow.py", flow())
    registry = write(project / "flows" / "config.yaml", "workflows:\n  flow:\n    path: flow.py\n")
    source = resolve_target("flow", project_dir=project, registry_file=registry)
    reloader = WorkflowReloader(load_workflow(source))
    assert registry.resolve() in reloader.watched_paths()
    w = watch(reloader, watching)
    write(registry, registry.read_text(encoding="utf-8") + "  other:\n    path: other.py\n")
    assert w.none_within(0.5)
    moved = write(project / "flows" / "flow_v2.py", flow('"v2"'))
    write(registry, "workflows:\n  flow:\n    path: flow_v2.py\n  other:\n    path: other.py\n")
    outcome = w.next()
    assert outcome.ok, outcome.error
    assert outcome.changed == (registry.resolve(),)
    assert reloader.current.source.path == moved.resolve()
    assert reloader.current.module.first({}) == {"out": "v2"}


def test_after_a_missing_import_creating_the_module_recovers(
    project: Path, watching: list[Watching]
) -> None:
    path = write(project / "flows" / "flow.py", flow())
    reloader = WorkflowReloader(load(path, project))
    w = watch(reloader, watching)
    write(path, flow("NEW", imports="from newmod import NEW"))
    outcome = w.next()
    assert not outcome.ok and "newmod" in str(outcome.error)
    write(project / "flows" / "newmod.py", 'NEW = "created"\n')
    outcome = w.next()
    assert outcome.ok, outcome.error
    assert reloader.current.module.first({}) == {"out": "created"}
    assert (project / "flows" / "newmod.py").resolve() in reloader.watched_paths()


def test_config_changes_reload_and_a_bad_config_is_reported(
    project: Path, watching: list[Watching]
) -> None:
    from lgp_engine.config import load_settings

    config = write(project / "config" / "experiment.yaml", "log_level: info\n")
    settings = load_settings("experiment", project)
    path = write(project / "flows" / "flow.py", flow())
    reloader = WorkflowReloader(load(path, project), settings)
    assert config.resolve() in reloader.watched_paths()
    w = watch(reloader, watching)

    write(config, "log_level: debug\n")
    outcome = w.next()
    assert outcome.ok and outcome.settings is not None
    assert reloader.settings.log_level == "debug"
    assert outcome.events[-1].data["config_reloaded"] is True

    write(config, "log_level: loud\n")
    outcome = w.next()
    assert not outcome.ok and isinstance(outcome.error, ConfigError)
    assert "log_level" in str(outcome.error)
    assert reloader.settings.log_level == "debug"


def test_awatch_reloads_and_stops_with_its_event(project: Path) -> None:
    path = write(project / "flows" / "flow.py", flow())
    reloader = WorkflowReloader(load(path, project))

    async def scenario() -> ReloadOutcome:
        stop = asyncio.Event()
        ready = threading.Event()
        agen = reloader.awatch(stop, on_ready=lambda _: ready.set())

        async def edit() -> None:
            await asyncio.to_thread(ready.wait, TIMEOUT)
            write(path, flow('"async"'))

        task = asyncio.create_task(edit())
        outcome = await asyncio.wait_for(agen.__anext__(), TIMEOUT)
        await task
        stop.set()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(agen.__anext__(), TIMEOUT)
        return outcome

    outcome = asyncio.run(scenario())
    assert outcome.ok
    assert reloader.current.module.first({}) == {"out": "async"}


# --------------------------------------------------------------------------- rerun plan


def test_an_interrupted_thread_is_offered_a_resume_with_the_new_code(
    project: Path, runner: Runner
) -> None:
    path = write(
        project / "flows" / "ask.py",
        flow('interrupt("ok?")', imports="from langgraph.types import interrupt"),
    )
    reloader = WorkflowReloader(load(path, project))
    events = list(runner.start(reloader.current, {"x": 1}, thread_id="t1"))
    assert events[-1].type == "interrupt"
    plan = rerun_plan(runner, "t1")
    assert plan.action == "resume" and plan.interrupts[0]["value"] == "ok?"

    write(
        path,
        flow('"answered: " + interrupt("ok?")', imports="from langgraph.types import interrupt"),
    )
    assert reloader.reload_now([path]).ok
    events = list(runner.resume(reloader.current, "t1", "yes"))
    assert events[-1].data["output"]["out"] == "answered: yes"  # the new code resumed
    assert rerun_plan(runner, "t1").action == "rerun"
    assert rerun_plan(runner, None).action == "none"


def test_a_failed_node_is_resumed_a_completed_thread_rerun(project: Path, runner: Runner) -> None:
    path = write(
        project / "flows" / "flow.py",
        flow(
            '"v1"',
            more='def second(state):\n    raise ValueError("bug")\n',
            wiring=TWO_NODES["wiring"],
        ),
    )
    reloader = WorkflowReloader(load(path, project))
    events = list(runner.start(reloader.current, {"x": 1}, thread_id="t1"))
    assert events[-1].type == "run.failed"
    plan = rerun_plan(runner, "t1")
    assert (plan.action, plan.status, plan.next, plan.needs_value) == (
        "resume",
        "failed",
        ["second"],
        False,
    )
    write(path, flow('"v1"', **TWO_NODES))
    assert reloader.reload_now([path]).ok
    events = list(runner.resume(reloader.current, "t1"))
    assert [e.node for e in events if e.type == "node.started"] == ["second"]
    assert events[-1].data["output"]["extra"] == "added"
    assert rerun_plan(runner, "t1").action == "rerun"


def test_error_location_parses_file_and_line() -> None:
    err = WorkflowLoadError("/a/b/flow.py:12: syntax error: invalid syntax")
    assert error_location(err) == ("/a/b/flow.py", 12)
    assert error_location(WorkflowLoadError("something else")) == (None, None)
