"""Tests for lgp_engine.loader: targets, workflow kinds, errors, registry, imports, langgraph.json.

Every workflow is written as text into a fresh ``tmp_path`` project and, where it is
accepted, actually run through the :class:`Executor` on a SQLite checkpoint file.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from lgp_engine.checkpointing import open_async_checkpoints, open_checkpoints
from lgp_engine.config import Settings
from lgp_engine.errors import WorkflowLoadError
from lgp_engine.executor import Executor, RunResult
from lgp_engine.loader import (
    LoadedWorkflow,
    WorkflowSource,
    load_workflow,
    module_name_for,
    resolve_target,
)
from tests.processes import run_lgp

# A small graph builder most workflow files start with: one node writing
# ``out = "<tag>:<x>"``. ``_builder`` is private so it never shows up as a candidate.
PRELUDE = """\
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    x: int
    out: str


def _builder(tag):
    def node(state):
        return {"out": f"{tag}:{state.get('x')}"}

    b = StateGraph(State)
    b.add_node("node", node)
    b.add_edge(START, "node")
    b.add_edge("node", END)
    return b
"""


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Loading edits sys.path and sys.modules: restore sys.path and drop this test's modules."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    roots = (str(tmp_path), str(tmp_path.resolve()))
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if file.startswith(roots):
            sys.modules.pop(name, None)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def workflow_file(path: Path, exports: str) -> Path:
    """``PRELUDE`` plus ``exports`` (module-level code using ``_builder``)."""
    return write(path, PRELUDE + "\n\n" + textwrap.dedent(exports).lstrip("\n"))


def load(target: str, project: Path, **kwargs: Any) -> LoadedWorkflow:
    importlib.invalidate_caches()
    return load_workflow(resolve_target(target, project_dir=project, **kwargs))


def run(
    loaded: LoadedWorkflow, project: Path, payload: Any, thread_id: str = "t1", **kwargs: Any
) -> RunResult:
    with open_checkpoints(Settings(project_dir=project)) as store:
        return Executor(loaded, store).invoke(payload, thread_id=thread_id, **kwargs)


def assert_completed(result: RunResult) -> None:
    assert result.status == "completed", result.error


def load_error(target: str, project: Path, **kwargs: Any) -> str:
    with pytest.raises(WorkflowLoadError) as info:
        load(target, project, **kwargs)
    return str(info.value)


# --------------------------------------------------------------------------- file exports


def test_state_graph_named_workflow_is_compiled_and_runs(tmp_path: Path) -> None:
    workflow_file(tmp_path / "flow.py", 'workflow = _builder("workflow")')
    loaded = load("flow.py", tmp_path)
    assert (loaded.attr, loaded.kind, loaded.name) == ("workflow", "state_graph", "flow")
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output == {"x": 1, "out": "workflow:1"}


def test_compiled_graph_named_graph_runs(tmp_path: Path) -> None:
    workflow_file(tmp_path / "flow.py", 'graph = _builder("graph").compile()')
    loaded = load("flow.py", tmp_path)
    assert (loaded.attr, loaded.kind) == ("graph", "compiled")
    result = run(loaded, tmp_path, {"x": 2})
    assert_completed(result)
    assert result.output == {"x": 2, "out": "graph:2"}


def test_compiled_graph_named_app_runs(tmp_path: Path) -> None:
    workflow_file(tmp_path / "flow.py", 'app = _builder("app").compile()')
    loaded = load("flow.py", tmp_path)
    assert (loaded.attr, loaded.kind) == ("app", "compiled")
    result = run(loaded, tmp_path, {"x": 3})
    assert_completed(result)
    assert result.output["out"] == "app:3"


@pytest.mark.parametrize(
    ("exports", "expected"),
    [
        (
            'app = _builder("app").compile()\n'
            'graph = _builder("graph").compile()\n'
            'workflow = _builder("workflow")\n',
            "workflow",
        ),
        ('app = _builder("app").compile()\ngraph = _builder("graph")\n', "graph"),
        ('workflow = 42\napp = _builder("app").compile()\n', "app"),
    ],
    ids=["workflow-first", "graph-before-app", "non-workflow-value-skipped"],
)
def test_default_attribute_preference(tmp_path: Path, exports: str, expected: str) -> None:
    workflow_file(tmp_path / "flow.py", exports)
    loaded = load("flow.py", tmp_path)
    assert loaded.attr == expected
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output["out"] == f"{expected}:1"


def test_file_colon_attr_picks_that_attribute(tmp_path: Path) -> None:
    workflow_file(
        tmp_path / "flow.py", 'workflow = _builder("workflow")\nother = _builder("other")\n'
    )
    loaded = load("flow.py:other", tmp_path)
    assert loaded.attr == "other"
    assert loaded.source.attr == "other"
    assert loaded.source.label.endswith("flow.py:other")
    result = run(loaded, tmp_path, {"x": 5})
    assert_completed(result)
    assert result.output["out"] == "other:5"


def test_absolute_path_target(tmp_path: Path) -> None:
    path = workflow_file(tmp_path / "sub" / "flow.py", 'workflow = _builder("abs")')
    loaded = load(str(path), tmp_path / "sub")
    assert loaded.source.path == path.resolve()
    assert_completed(run(loaded, tmp_path, {"x": 0}))


def test_compiled_graph_with_its_own_checkpointer_uses_the_engines(tmp_path: Path) -> None:
    workflow_file(
        tmp_path / "flow.py",
        """
        from langgraph.checkpoint.memory import InMemorySaver

        graph = _builder("own").compile(checkpointer=InMemorySaver())
        """,
    )
    loaded = load("flow.py", tmp_path)
    assert_completed(run(loaded, tmp_path, {"x": 1}, thread_id="own-thread"))
    # the state went to the SQLite file, not to the graph's own in-memory saver
    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        assert store.thread("own-thread").checkpoints >= 2


# --------------------------------------------------------------------------- other kinds


def test_entrypoint_function_runs(tmp_path: Path) -> None:
    write(
        tmp_path / "func_flow.py",
        """
        from langgraph.func import entrypoint


        @entrypoint()
        def workflow(inputs: dict) -> dict:
            return {"doubled": inputs["x"] * 2}
        """,
    )
    loaded = load("func_flow.py", tmp_path)
    assert (loaded.attr, loaded.kind) == ("workflow", "functional")
    result = run(loaded, tmp_path, {"x": 21})
    assert_completed(result)
    assert result.output == {"doubled": 42}


@pytest.mark.parametrize(
    ("exports", "target"),
    [
        ('def make_graph():\n    return _builder("factory")\n', "flow.py:make_graph"),
        ('def graph():\n    return _builder("factory").compile()\n', "flow.py"),
    ],
    ids=["state-graph-via-attr", "compiled-via-default-name"],
)
def test_factory_without_arguments_runs(tmp_path: Path, exports: str, target: str) -> None:
    workflow_file(tmp_path / "flow.py", exports)
    loaded = load(target, tmp_path)
    assert loaded.kind == "factory"
    result = run(loaded, tmp_path, {"x": 4})
    assert_completed(result)
    assert result.output["out"] == "factory:4"


def test_factory_taking_config_is_called_per_run(tmp_path: Path) -> None:
    workflow_file(
        tmp_path / "flow.py",
        """
        from langchain_core.runnables import RunnableConfig


        def make_graph(config: RunnableConfig):
            return _builder("cfg-" + config["configurable"]["thread_id"])
        """,
    )
    loaded = load("flow.py:make_graph", tmp_path)
    assert loaded.kind == "factory"
    first = run(loaded, tmp_path, {"x": 1}, thread_id="thread-7")
    second = run(loaded, tmp_path, {"x": 2}, thread_id="thread-8")
    assert_completed(first)
    assert_completed(second)
    assert first.output["out"] == "cfg-thread-7:1"
    assert second.output["out"] == "cfg-thread-8:2"


RUNTIME_FACTORY = """
class ServerRuntime:
    '''Stands in for langgraph_api's runtime class: only the name matters.'''


def make_graph(runtime: ServerRuntime):
    return _builder("rt-" + runtime.config["configurable"]["thread_id"])
"""


@pytest.mark.parametrize("future", [False, True], ids=["annotation", "string-annotation"])
def test_factory_taking_a_runtime_gets_a_runtime(tmp_path: Path, future: bool) -> None:
    code = PRELUDE + "\n\n" + RUNTIME_FACTORY
    if future:
        code = "from __future__ import annotations\n\n" + code
    (tmp_path / "flow.py").write_text(code, encoding="utf-8")
    loaded = load("flow.py:make_graph", tmp_path)
    assert loaded.kind == "factory"
    result = run(loaded, tmp_path, {"x": 3}, thread_id="rt-thread")
    assert_completed(result)  # a config dict would have no `.config`: the run would fail
    assert result.output["out"] == "rt-rt-thread:3"


def test_factory_taking_config_and_runtime(tmp_path: Path) -> None:
    workflow_file(
        tmp_path / "flow.py",
        """
        from langchain_core.runnables import RunnableConfig


        class ServerRuntime:
            pass


        def make_graph(runtime: ServerRuntime, config: RunnableConfig):
            assert isinstance(config, dict)
            thread = config["configurable"]["thread_id"]
            same = runtime.config["configurable"]["thread_id"] == thread
            return _builder(f"both-{same}")
        """,
    )
    loaded = load("flow.py:make_graph", tmp_path)
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output["out"] == "both-True:1"


def test_runtime_factory_sees_the_run_context(tmp_path: Path) -> None:
    workflow_file(
        tmp_path / "flow.py",
        """
        class ServerRuntime:
            pass


        def make_graph(runtime: ServerRuntime):
            return _builder(f"ctx-{runtime.context}")
        """,
    )
    loaded = load("flow.py:make_graph", tmp_path)
    result = run(loaded, tmp_path, {"x": 1}, context={"user": "bob"})
    assert_completed(result)
    assert result.output["out"] == "ctx-{'user': 'bob'}:1"


def test_runtime_factory_is_told_why_it_is_called(tmp_path: Path) -> None:
    """As the LangGraph server's ServerRuntime: a run is ``threads.create_run`` (with an
    ``execution_runtime``); describing the graph is ``assistants.read`` (without)."""
    workflow_file(
        tmp_path / "flow.py",
        """
        from langgraph_sdk.runtime import ServerRuntime

        SEEN = []


        def make_graph(runtime: ServerRuntime):
            SEEN.append((runtime.access_context, runtime.execution_runtime is not None))
            return _builder(runtime.access_context)
        """,
    )
    loaded = load("flow.py:make_graph", tmp_path)
    with open_checkpoints(Settings(project_dir=tmp_path)) as store:
        executor = Executor(loaded, store)
        executor.graph()  # drawn, not run
        result = executor.invoke({"x": 1}, thread_id="t1")
    assert_completed(result)
    assert loaded.module.SEEN == [("assistants.read", False), ("threads.create_run", True)]


def test_factory_with_optional_extra_parameters_is_accepted(tmp_path: Path) -> None:
    workflow_file(
        tmp_path / "flow.py",
        'def make_graph(config, debug=False, *args, **kwargs):\n    return _builder("opt")\n',
    )
    loaded = load("flow.py:make_graph", tmp_path)
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output["out"] == "opt:1"


@pytest.mark.parametrize(
    "signature",
    ["config, runtime, extra", "first, second"],
    ids=["three-params", "two-configs"],
)
def test_factory_with_unsupported_signature_is_rejected(tmp_path: Path, signature: str) -> None:
    workflow_file(tmp_path / "flow.py", f'def make_graph({signature}):\n    return _builder("x")\n')
    message = load_error("flow.py:make_graph", tmp_path)
    assert "make_graph" in message
    assert "must take no argument, a config, a runtime" in message
    assert "flow.py" in message


ASYNC_FACTORY = """
from langchain_core.runnables import RunnableConfig


async def make_graph(config: RunnableConfig):
    return _builder("async-" + config["configurable"]["thread_id"])
"""


@pytest.mark.asyncio
async def test_async_factory_builds_with_abuild_and_runs(tmp_path: Path) -> None:
    workflow_file(tmp_path / "flow.py", ASYNC_FACTORY)
    loaded = load("flow.py:make_graph", tmp_path)
    assert loaded.kind == "factory"
    config = {"configurable": {"thread_id": "a1"}}
    async with loaded.abuild(InMemorySaver(), config) as graph:
        out = await graph.ainvoke({"x": 2}, config)
    assert out == {"x": 2, "out": "async-a1:2"}

    async with open_async_checkpoints(Settings(project_dir=tmp_path)) as store:
        result = await Executor(loaded, store).ainvoke({"x": 3}, thread_id="a2")
    assert_completed(result)
    assert result.output["out"] == "async-a2:3"


@pytest.mark.parametrize(
    "factory",
    [
        "import contextlib\n\n\n@contextlib.asynccontextmanager\n"
        'async def make_graph():\n    yield _builder("cm").compile()\n',
        "import contextlib\n\n\n@contextlib.contextmanager\n"
        'def make_graph():\n    yield _builder("cm")\n',
    ],
    ids=["async-context-manager", "sync-context-manager"],
)
@pytest.mark.asyncio
async def test_context_manager_factories_run_with_the_async_api(
    tmp_path: Path, factory: str
) -> None:
    workflow_file(tmp_path / "flow.py", factory)
    loaded = load("flow.py:make_graph", tmp_path)
    assert loaded.kind == "factory"
    async with open_async_checkpoints(Settings(project_dir=tmp_path)) as store:
        result = await Executor(loaded, store).ainvoke({"x": 9}, thread_id="cm")
    assert_completed(result)
    assert result.output["out"] == "cm:9"


def test_async_factory_needs_abuild_but_runs_through_the_sync_executor(tmp_path: Path) -> None:
    workflow_file(tmp_path / "flow.py", ASYNC_FACTORY)
    loaded = load("flow.py:make_graph", tmp_path)
    with pytest.raises(WorkflowLoadError, match="async"):
        loaded.build(InMemorySaver(), {"configurable": {"thread_id": "s"}})
    result = run(loaded, tmp_path, {"x": 1})  # the sync API drives the async engine
    assert_completed(result)


def test_sync_build_of_async_factory_leaves_no_unawaited_coroutine(tmp_path: Path) -> None:
    workflow_file(tmp_path / "flow.py", ASYNC_FACTORY)
    loaded = load("flow.py:make_graph", tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.suppress(WorkflowLoadError):
            loaded.build(InMemorySaver(), {"configurable": {"thread_id": "s"}})
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    assert "workflow file not found: nope.py" in load_error("nope.py", tmp_path)
    assert "not found: sub/nope" in load_error("sub/nope", tmp_path)


def test_directory_is_not_a_workflow_file(tmp_path: Path) -> None:
    (tmp_path / "somedir").mkdir()
    assert "is a directory" in load_error("somedir/", tmp_path)


def test_non_python_file_is_rejected(tmp_path: Path) -> None:
    write(tmp_path / "notes" / "readme.txt", "hello\n")
    assert "not a Python file" in load_error("notes/readme.txt", tmp_path)


def test_empty_target(tmp_path: Path) -> None:
    assert "no workflow given" in load_error("  ", tmp_path)


def test_module_without_workflow_lists_graphs_found_under_other_names(tmp_path: Path) -> None:
    workflow_file(
        tmp_path / "flow.py",
        """
        builder = _builder("b")
        compiled_thing = _builder("c").compile()


        def helper():
            return 1
        """,
    )
    message = load_error("flow.py", tmp_path)
    for name in ("`workflow`", "`graph`", "`app`"):
        assert name in message
    assert "builder (state graph)" in message
    assert "compiled_thing (compiled)" in message
    assert "FILE.py:ATTR" in message  # the hint says how to pick one


def test_module_without_workflow_lists_functions_found(tmp_path: Path) -> None:
    write(
        tmp_path / "plain.py",
        """
        import os


        def do_stuff():
            return os.getcwd()


        LIMIT = 3
        """,
    )
    message = load_error("plain.py", tmp_path)
    assert "no workflow object" in message
    assert "do_stuff" in message
    assert "LIMIT" in message
    assert "plain.py" in message


def test_empty_module_says_nothing_was_found(tmp_path: Path) -> None:
    write(tmp_path / "empty.py", "# nothing here\n")
    assert "found: nothing" in load_error("empty.py", tmp_path)


def test_attr_that_is_not_a_workflow(tmp_path: Path) -> None:
    write(tmp_path / "flow.py", "thing = 42\n")
    message = load_error("flow.py:thing", tmp_path)
    assert "`thing` is a int, not a workflow" in message


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "bad_syntax.py", "import os\n\ndef broken(:\n    pass\n")
    message = load_error("bad_syntax.py", tmp_path)
    assert "bad_syntax.py:3:" in message
    assert "syntax error" in message


def test_syntax_error_in_a_sibling_module_names_that_file(tmp_path: Path) -> None:
    write(tmp_path / "sib_broken_helpers.py", "X = 1\nY = (\n")
    workflow_file(
        tmp_path / "flow.py", 'import sib_broken_helpers  # noqa\n\nworkflow = _builder("w")\n'
    )
    message = load_error("flow.py", tmp_path)
    assert "sib_broken_helpers.py:2:" in message
    assert "syntax error" in message


def test_exception_at_import_names_file_and_line(tmp_path: Path) -> None:
    write(
        tmp_path / "raises.py",
        """
        X = 1


        # the next line fails
        raise RuntimeError("boom at import")
        """,
    )
    message = load_error("raises.py", tmp_path)
    assert "raises.py:5:" in message
    assert "RuntimeError: boom at import" in message
    # a failed import leaves no half-initialized module behind
    assert "raises" not in sys.modules


def test_missing_import_names_the_line_and_gives_a_hint(tmp_path: Path) -> None:
    write(tmp_path / "needs_pkg.py", "import os\nimport lgpt_surely_not_installed_pkg\n")
    message = load_error("needs_pkg.py", tmp_path)
    assert "needs_pkg.py:2:" in message
    assert "ModuleNotFoundError" in message
    assert "'lgpt_surely_not_installed_pkg' installed" in message


def test_exception_from_a_library_at_import_names_the_workflow_line(tmp_path: Path) -> None:
    write(tmp_path / "lib_raises.py", 'import json\n\nX = 1\nCONFIG = json.loads("{bad")\n')
    message = load_error("lib_raises.py", tmp_path)
    assert "lib_raises.py:4:" in message


def test_unknown_attribute(tmp_path: Path) -> None:
    workflow_file(tmp_path / "flow.py", 'workflow = _builder("w")')
    message = load_error("flow.py:nope", tmp_path)
    assert "no attribute 'nope'" in message
    assert "workflow (state graph)" in message


def test_invalid_attribute_name(tmp_path: Path) -> None:
    workflow_file(tmp_path / "flow.py", 'workflow = _builder("w")')
    assert "invalid attribute" in load_error("flow.py:1x", tmp_path)


@pytest.mark.parametrize("name", ["a b", "bad!name", "1abc"])
def test_invalid_workflow_names(tmp_path: Path, name: str) -> None:
    message = load_error(name, tmp_path)
    assert "invalid workflow name" in message
    assert repr(name) in message


def test_graph_option_only_applies_to_langgraph_json(tmp_path: Path) -> None:
    workflow_file(tmp_path / "flow.py", 'workflow = _builder("w")')
    assert "graph only applies" in load_error("flow.py", tmp_path, graph="one")


# --------------------------------------------------------------------------- registry


def make_registry(project: Path) -> Path:
    flows = project / "workflows" / "flows"
    workflow_file(flows / "hello.py", 'workflow = _builder("hello")')
    workflow_file(flows / "multi.py", 'workflow = _builder("first")\nsecond = _builder("second")\n')
    return write(
        project / "workflows" / "config.yaml",
        """
        # comment kept
        workflows:
          hello:
            path: flows/hello.py
            description: Says hello
          picked:
            path: flows/multi.py:second
          short: flows/hello.py
          ghost:
            path: flows/missing.py
        """,
    )


def test_registered_name_resolves_relative_to_the_registry_file(tmp_path: Path) -> None:
    registry = make_registry(tmp_path)
    # a decoy at the project root must not be picked: paths are relative to the registry
    workflow_file(tmp_path / "flows" / "hello.py", 'workflow = _builder("decoy")')
    source = resolve_target("hello", project_dir=tmp_path)
    assert source.name == "hello"
    assert source.path == (tmp_path / "workflows" / "flows" / "hello.py").resolve()
    assert source.description == "Says hello"
    assert source.project_file == registry.resolve()
    loaded = load_workflow(source)
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output["out"] == "hello:1"


def test_registered_path_with_attr(tmp_path: Path) -> None:
    make_registry(tmp_path)
    loaded = load("picked", tmp_path)
    assert loaded.attr == "second"
    result = run(loaded, tmp_path, {"x": 2})
    assert_completed(result)
    assert result.output["out"] == "second:2"


def test_registered_string_shorthand(tmp_path: Path) -> None:
    make_registry(tmp_path)
    loaded = load("short", tmp_path)
    assert loaded.source.path == (tmp_path / "workflows" / "flows" / "hello.py").resolve()


def test_registered_entry_whose_file_is_missing(tmp_path: Path) -> None:
    make_registry(tmp_path)
    message = load_error("ghost", tmp_path)
    assert "'ghost' is registered" in message
    assert "file is missing" in message
    assert "missing.py" in message


def test_unknown_name_lists_registered_names(tmp_path: Path) -> None:
    make_registry(tmp_path)
    message = load_error("nosuch", tmp_path)
    assert "unknown workflow 'nosuch'" in message
    for name in ("hello", "picked", "short", "ghost"):
        assert name in message


def test_unknown_name_without_registry(tmp_path: Path) -> None:
    message = load_error("nosuch", tmp_path)
    assert "unknown workflow 'nosuch'" in message
    assert "none" in message


def test_explicit_registry_file(tmp_path: Path) -> None:
    workflow_file(tmp_path / "elsewhere" / "w.py", 'workflow = _builder("reg")')
    registry = write(tmp_path / "elsewhere" / "reg.yaml", "workflows:\n  mine: w.py\n")
    loaded = load("mine", tmp_path, registry_file=registry)
    assert loaded.source.path == (tmp_path / "elsewhere" / "w.py").resolve()
    assert run(loaded, tmp_path, {"x": 1}).output["out"] == "reg:1"


# --------------------------------------------------------------------------- imports


def test_sibling_module_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "helpers", raising=False)
    write(tmp_path / "proj" / "helpers.py", 'TAG = "from-helpers"\n')
    workflow_file(
        tmp_path / "proj" / "flow.py", "import helpers\n\nworkflow = _builder(helpers.TAG)\n"
    )
    loaded = load("proj/flow.py", tmp_path)
    expected = (tmp_path / "proj" / "helpers.py").resolve()
    assert Path(loaded.module.helpers.__file__).resolve() == expected
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output["out"] == "from-helpers:1"


def test_package_module_with_relative_import(tmp_path: Path) -> None:
    pkg = tmp_path / "lgpt_relpkg"
    write(pkg / "__init__.py", "")
    write(pkg / "helpers.py", 'TAG = "relative"\n')
    workflow_file(pkg / "flow.py", "from .helpers import TAG\n\nworkflow = _builder(TAG)\n")
    assert module_name_for(pkg / "flow.py", tmp_path) == ("lgpt_relpkg.flow", tmp_path.resolve())
    loaded = load("lgpt_relpkg/flow.py", tmp_path)
    assert loaded.module.__name__ == "lgpt_relpkg.flow"
    assert sys.modules["lgpt_relpkg.flow"] is loaded.module
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output["out"] == "relative:1"


def test_two_agent_files_in_different_folders_do_not_clash(tmp_path: Path) -> None:
    workflow_file(tmp_path / "alpha" / "agent.py", 'workflow = _builder("alpha")')
    workflow_file(tmp_path / "beta" / "agent.py", 'workflow = _builder("beta")')
    alpha = load("alpha/agent.py", tmp_path)
    beta = load("beta/agent.py", tmp_path)
    assert alpha.module.__name__ == "alpha__agent"
    assert beta.module.__name__ == "beta__agent"
    assert alpha.module is not beta.module
    assert sys.modules["alpha__agent"] is alpha.module
    assert sys.modules["beta__agent"] is beta.module
    # each keeps its own behaviour, also after the other was loaded
    assert run(alpha, tmp_path, {"x": 1}, thread_id="a").output["out"] == "alpha:1"
    assert run(beta, tmp_path, {"x": 1}, thread_id="b").output["out"] == "beta:1"


def test_two_agents_with_same_named_sibling_helpers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "helpers", raising=False)
    for folder in ("alpha", "beta"):
        write(tmp_path / folder / "helpers.py", f'TAG = "{folder}"\n')
        workflow_file(
            tmp_path / folder / "agent.py", "import helpers\n\nworkflow = _builder(helpers.TAG)\n"
        )
    alpha = load("alpha/agent.py", tmp_path)
    beta = load("beta/agent.py", tmp_path)
    assert run(alpha, tmp_path, {"x": 1}, thread_id="a").output["out"] == "alpha:1"
    assert run(beta, tmp_path, {"x": 1}, thread_id="b").output["out"] == "beta:1"


def test_loading_again_gives_a_fresh_module_under_the_same_name(tmp_path: Path) -> None:
    path = workflow_file(tmp_path / "flow.py", 'workflow = _builder("v1")')
    first = load("flow.py", tmp_path)
    workflow_file(path, 'workflow = _builder("v2")\n# edited\n')
    second = load("flow.py", tmp_path)
    assert first.module.__name__ == second.module.__name__ == "flow"
    assert first.module is not second.module
    assert sys.modules["flow"] is second.module
    assert run(second, tmp_path, {"x": 1}).output["out"] == "v2:1"


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("a/b/graph.py", "a__b__graph"),
        ("graph.py", "graph"),
        ("agents/agent.py", "agents__agent"),
        ("my-dir/flow.py", "my_dir__flow"),
        ("dir with space/flow.py", "dir_with_space__flow"),
        ("1st/flow.py", "_1st__flow"),
    ],
)
def test_module_name_is_derived_like_langgraph_dev(
    tmp_path: Path, relative: str, expected: str
) -> None:
    path = write(tmp_path / relative, "X = 1\n")
    name, import_dir = module_name_for(path, tmp_path)
    assert name == expected
    assert import_dir == path.parent.resolve()
    assert module_name_for(path, tmp_path) == (name, import_dir)  # stable


def test_module_name_outside_base_is_stable_and_distinct(tmp_path: Path) -> None:
    one = write(tmp_path / "x" / "agent.py", "X = 1\n")
    two = write(tmp_path / "y" / "agent.py", "X = 1\n")
    base = tmp_path / "unrelated"
    base.mkdir()
    name_one, _ = module_name_for(one, base)
    name_two, _ = module_name_for(two, base)
    assert name_one.isidentifier() and name_two.isidentifier()
    assert name_one != name_two
    assert name_one.endswith("__x__agent")
    assert module_name_for(one, base)[0] == name_one


def test_module_name_uses_cwd_when_no_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "a" / "b" / "graph.py", "X = 1\n")
    monkeypatch.chdir(tmp_path)
    assert module_name_for(path)[0] == "a__b__graph"


# --------------------------------------------------------------------------- across processes

ITEM_FLOW = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    qty: int


class State(TypedDict, total=False):
    n: int
    item: Item
    checked: bool


def node(state):
    item = state.get("item")
    if item is None:
        return {"item": Item(name="apple", qty=state["n"]), "checked": False}
    if not isinstance(item, Item):
        raise TypeError(f"item came back as {type(item).__name__}, not Item")
    return {"item": Item(name=item.name, qty=item.qty + state["n"]), "checked": True}


builder = StateGraph(State)
builder.add_node("node", node)
builder.add_edge(START, "node")
builder.add_edge("node", END)
graph = builder
"""

UNREGISTERED_WARNING = "Deserializing unregistered type"


def run_twice_in_subprocesses(
    project: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    flow = write(project / "item_flow.py", ITEM_FLOW)

    def cli_run(n: int) -> subprocess.CompletedProcess[str]:
        args = ("run", str(flow), "--thread", "x", "--input", json.dumps({"n": n}), "--json")
        return run_lgp(*args, cwd=project, env=extra_env, timeout=120)

    return cli_run(1), cli_run(5)


def last_event(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, proc.stderr
    return json.loads(lines[-1])


# The tests reading two_process_runs stay on one xdist worker (it runs once).
two_process_group = pytest.mark.xdist_group("loader_two_processes")


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory: pytest.TempPathFactory):
    return run_twice_in_subprocesses(tmp_path_factory.mktemp("serde"))


@two_process_group
def test_pydantic_state_round_trips_across_processes(two_process_runs) -> None:
    first, second = two_process_runs
    assert first.returncode == 0, first.stderr
    done = last_event(first)
    assert done["type"] == "run.completed"
    assert done["data"]["output"]["item"] == {"name": "apple", "qty": 1}
    # the node of the second process raises unless the state holds an Item instance
    assert second.returncode == 0, second.stderr
    done = last_event(second)
    assert done["type"] == "run.completed"
    assert done["data"]["output"]["checked"] is True
    assert done["data"]["output"]["item"] == {"name": "apple", "qty": 6}


@two_process_group
def test_no_unregistered_type_warning_across_processes(two_process_runs) -> None:
    _, second = two_process_runs
    assert second.returncode == 0, second.stderr
    assert UNREGISTERED_WARNING not in second.stderr


def test_pydantic_state_round_trips_in_strict_msgpack_mode(tmp_path: Path) -> None:
    # strict mode only allows types by (module, name): this needs the same module name
    # for item_flow.py in both processes
    first, second = run_twice_in_subprocesses(tmp_path, {"LANGGRAPH_STRICT_MSGPACK": "true"})
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert last_event(second)["data"]["output"]["checked"] is True


# --------------------------------------------------------------------------- langgraph.json

GREETING_VAR = "LGPT_JSON_GREETING"

GRAPH_ONE = f"""
import os
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from lgpt_json_lib import PREFIX


class State(TypedDict, total=False):
    x: int
    out: str


def node(state):
    return {{"out": f"one:{{PREFIX}}:{{os.environ.get('{GREETING_VAR}', '<unset>')}}"}}


builder = StateGraph(State)
builder.add_node("node", node)
builder.add_edge(START, "node")
builder.add_edge("node", END)
graph = builder.compile()
"""

GRAPH_TWO = f"""
import os
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from lgpt_json_lib import PREFIX


class State(TypedDict, total=False):
    x: int
    out: str


def node(state):
    return {{"out": f"two:{{PREFIX}}:{{os.environ.get('{GREETING_VAR}', '<unset>')}}"}}


def make_graph():
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    return builder
"""


def make_langgraph_project(
    root: Path, *, env: Any = ".env", graphs: dict[str, Any] | None = None
) -> Path:
    write(root / "libs" / "lgpt_json_lib.py", 'PREFIX = "lib"\n')
    write(root / "graphs" / "one.py", GRAPH_ONE)
    write(root / "graphs" / "two.py", GRAPH_TWO)
    write(root / ".env", f"{GREETING_VAR}=hello-from-dotenv\n")
    config: dict[str, Any] = {
        "dependencies": [".", "./libs"],
        "graphs": graphs or {"one": "./graphs/one.py:graph", "two": "./graphs/two.py:make_graph"},
    }
    if env is not None:
        config["env"] = env
    path = root / "langgraph.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def greeting_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a langgraph.json sets its env in os.environ: restore it after the test."""
    monkeypatch.delenv(GREETING_VAR, raising=False)


@pytest.mark.parametrize(
    ("graph", "kind", "file"),
    [("one", "compiled", "one.py"), ("two", "factory", "two.py")],
)
def test_langgraph_json_picks_each_graph_relative_to_its_folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    greeting_unset: None,
    graph: str,
    kind: str,
    file: str,
) -> None:
    project = tmp_path / "proj"
    config = make_langgraph_project(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative paths in langgraph.json must not use the cwd
    source = resolve_target(str(config), graph=graph, project_dir=elsewhere)
    assert source.name == graph
    assert source.path == (project / "graphs" / file).resolve()
    assert source.project_file == config.resolve()
    assert (project / "libs").resolve() in source.sys_paths
    loaded = load_workflow(source)
    assert loaded.kind == kind
    assert loaded.warnings == []
    assert os.environ[GREETING_VAR] == "hello-from-dotenv"
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output["out"] == f"{graph}:lib:hello-from-dotenv"


def test_langgraph_json_relative_target_from_another_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, greeting_unset: None
) -> None:
    make_langgraph_project(tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    loaded = load_workflow(resolve_target("proj/langgraph.json", graph="one"))
    assert loaded.source.path == (tmp_path / "proj" / "graphs" / "one.py").resolve()
    assert run(loaded, tmp_path, {"x": 1}).output["out"] == "one:lib:hello-from-dotenv"


def test_langgraph_json_folder_as_target(tmp_path: Path, greeting_unset: None) -> None:
    make_langgraph_project(tmp_path / "proj")
    loaded = load("proj", tmp_path, graph="two")
    assert loaded.name == "two"
    assert loaded.source.path == (tmp_path / "proj" / "graphs" / "two.py").resolve()


def test_langgraph_json_without_graph_name_lists_graphs(tmp_path: Path) -> None:
    config = make_langgraph_project(tmp_path / "proj")
    message = load_error(str(config), tmp_path)
    assert "several graphs: one, two" in message
    assert "pick one with graph" in message


def test_langgraph_json_single_graph_needs_no_name(tmp_path: Path, greeting_unset: None) -> None:
    config = make_langgraph_project(tmp_path / "proj", graphs={"only": "./graphs/one.py:graph"})
    loaded = load(str(config), tmp_path)
    assert loaded.name == "only"
    assert_completed(run(loaded, tmp_path, {"x": 1}))


def test_langgraph_json_unknown_graph(tmp_path: Path) -> None:
    config = make_langgraph_project(tmp_path / "proj")
    message = load_error(str(config), tmp_path, graph="three")
    assert "no graph 'three'" in message
    assert "one, two" in message


def test_langgraph_json_attr_suffix_is_rejected(tmp_path: Path) -> None:
    make_langgraph_project(tmp_path / "proj")
    assert "use graph to pick a graph" in load_error("proj/langgraph.json:one", tmp_path)


def test_langgraph_json_missing_env_file_is_a_warning(tmp_path: Path, greeting_unset: None) -> None:
    config = make_langgraph_project(tmp_path / "proj", env=".env.missing")
    loaded = load(str(config), tmp_path, graph="one")
    assert len(loaded.warnings) == 1
    assert "env file not found" in loaded.warnings[0]
    assert ".env.missing" in loaded.warnings[0]
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output["out"] == "one:lib:<unset>"


def test_langgraph_json_inline_env_mapping(tmp_path: Path, greeting_unset: None) -> None:
    config = make_langgraph_project(tmp_path / "proj", env={GREETING_VAR: "inline-value"})
    loaded = load(str(config), tmp_path, graph="two")
    assert loaded.warnings == []
    result = run(loaded, tmp_path, {"x": 1})
    assert_completed(result)
    assert result.output["out"] == "two:lib:inline-value"


def test_langgraph_json_module_path_graph_imports_via_dependencies(
    tmp_path: Path, greeting_unset: None
) -> None:
    project = tmp_path / "proj"
    write(project / "libs" / "lgpt_jsonpkg" / "__init__.py", "")
    workflow_file(project / "libs" / "lgpt_jsonpkg" / "mod.py", 'graph = _builder("module")')
    config = make_langgraph_project(project, graphs={"mod": "lgpt_jsonpkg.mod:graph"})
    source = resolve_target(str(config), graph="mod", project_dir=tmp_path)
    assert source.path is None
    assert source.module == "lgpt_jsonpkg.mod"
    loaded = load_workflow(source)
    assert loaded.module.__name__ == "lgpt_jsonpkg.mod"
    assert (
        Path(loaded.module.__file__).resolve()
        == (project / "libs" / "lgpt_jsonpkg" / "mod.py").resolve()
    )
    result = run(loaded, tmp_path, {"x": 7})
    assert_completed(result)
    assert result.output["out"] == "module:7"


def test_langgraph_json_unknown_module(tmp_path: Path, greeting_unset: None) -> None:
    config = make_langgraph_project(tmp_path / "proj", graphs={"m": "lgpt_no_such_mod:graph"})
    message = load_error(str(config), tmp_path)
    assert "module 'lgpt_no_such_mod' not found" in message
    assert "dependencies" in message


def test_langgraph_json_graph_file_missing(tmp_path: Path) -> None:
    config = make_langgraph_project(tmp_path / "proj", graphs={"g": "./graphs/gone.py:graph"})
    message = load_error(str(config), tmp_path)
    assert "missing file" in message
    assert "gone.py" in message


def test_langgraph_json_missing_dependency_folder_is_a_warning(
    tmp_path: Path, greeting_unset: None
) -> None:
    project = tmp_path / "proj"
    config = make_langgraph_project(project)
    data = json.loads(config.read_text())
    data["dependencies"].append("./not-there")
    config.write_text(json.dumps(data))
    loaded = load(str(config), tmp_path, graph="one")
    assert any("not-there" in w and "not a directory" in w for w in loaded.warnings)


def test_langgraph_json_graph_entry_as_object(tmp_path: Path, greeting_unset: None) -> None:
    config = make_langgraph_project(
        tmp_path / "proj",
        graphs={"one": {"path": "./graphs/one.py:graph", "description": "The first graph"}},
    )
    source = resolve_target(str(config), project_dir=tmp_path)
    assert source.description == "The first graph"
    assert isinstance(source, WorkflowSource)
    assert load_workflow(source).kind == "compiled"


def test_langgraph_json_invalid_json_names_the_line(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "langgraph.json", '{\n  "graphs": {\n    "a": oops\n  }\n}\n')
    message = load_error("proj/langgraph.json", tmp_path)
    assert "langgraph.json:3:" in message
    assert "invalid JSON" in message
