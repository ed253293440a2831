"""The LangGraph CLI's path rules on real projects (issue 14).

Each project is loaded with the engine's public API, run with ``lgp run`` as a
subprocess from the folder a user would start it in, and compared with the same graph
run by LangGraph alone as ``langgraph dev`` runs it (``reference.py``: the working
directory and the dependency folders on ``sys.path``, plus where ``langgraph build``
installs the dependency packages).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine import Executor, Settings, load_workflow, open_checkpoints, resolve_target
from lgp_engine.loader import LoadedWorkflow
from tests.processes import run_python
from tests.projects import REFERENCE, copy_project

SIGNATURE_VAR = "LGPWB_TEST_SUPPORT_SIGNATURE"  # set by cwd_relative/deploy/dev.env


@pytest.fixture
def restore_imports(tmp_path: Path) -> Iterator[None]:
    """Loading in this process edits sys.path, sys.meta_path, os.environ and
    sys.modules: put them back, and forget the projects' modules."""
    path, meta_path, environ = list(sys.path), list(sys.meta_path), dict(os.environ)
    yield
    sys.path[:] = path
    sys.meta_path[:] = meta_path
    for key in set(os.environ) - set(environ):
        del os.environ[key]
    os.environ.update(environ)
    roots = (str(tmp_path), str(tmp_path.resolve()))
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(roots):
            del sys.modules[name]


def engine_run(
    config: Path, cwd: Path, payload: dict[str, Any], store_dir: Path
) -> tuple[LoadedWorkflow, Any]:
    """Load ``config`` as if started in ``cwd`` and run it; the workflow and its output."""
    loaded = load_workflow(resolve_target(str(config), project_dir=cwd))
    with open_checkpoints(Settings(project_dir=store_dir)) as store:
        result = Executor(loaded, store).invoke(payload, thread_id="t1")
    assert result.status == "completed", result.error
    return loaded, result.output


def lgp_result(proc: Any) -> dict[str, Any]:
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("Result: ")]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0].removeprefix("Result: "))


def lgp_warnings(proc: Any) -> list[str]:
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("[lgp] ⚠")]


def lgp_error(proc: Any) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("[lgp] ❌ Workflow load error: "), lines
    return lines[0]


def reference(*jobs: dict[str, Any]) -> list[dict[str, Any]]:
    """Final states of ``jobs`` run by LangGraph alone (see ``reference.py``)."""
    proc = run_python(str(REFERENCE), json.dumps(jobs), cwd=REFERENCE.parent)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(jobs), proc.stdout
    return results


# --------------------------------------------------------------------------- monorepo

QUOTE_INPUT = {"item": "Blue Widget", "qty": 12}
QUOTE_OUTPUT = {
    "item": "Blue Widget",
    "qty": 12,
    "sku": "blue-widget",
    "unit_price": 2.5,
    "total": 27.0,
    "summary": "12 x blue-widget = 27.00",
}


def test_monorepo_dependencies_import_as_langgraph_build_installs_them(
    tmp_path: Path, lgp: Any, restore_imports: None
) -> None:
    root = copy_project("monorepo", tmp_path)
    app, libs = root / "apps" / "agent", root / "libs"
    config = app / "langgraph.json"

    # started in the repository root: the paths are found next to langgraph.json
    loaded, output = engine_run(config, root, QUOTE_INPUT, tmp_path)
    source = loaded.source
    assert source.warnings == ()
    assert source.base_dir == app
    assert source.packages == (("common", libs / "common"),)  # flat: importable as `common`
    assert {app / "src", libs / "tools" / "src"} <= set(source.sys_paths)  # src/ layouts
    assert str(libs) not in sys.path  # only `common` is importable, not its siblings
    assert loaded.module.__name__ == "agent.graph"
    assert sys.modules["common"].__file__ == str(libs / "common" / "__init__.py")
    tools_init = libs / "tools" / "src" / "tools_pkg" / "__init__.py"
    assert sys.modules["tools_pkg"].__file__ == str(tools_init)

    proc = lgp("run", "apps/agent/langgraph.json", "--input", json.dumps(QUOTE_INPUT), cwd=root)
    assert lgp_warnings(proc) == []

    [direct] = reference(
        {
            "cwd": str(app),
            "sys_path": [
                *(".", "../../libs/common", "../../libs/tools"),  # langgraph dev's
                # where langgraph build installs the packages: from the src/ of the
                # app and of libs/tools, and libs/common as the package `common`
                *("src", "../../libs", "../../libs/tools/src"),
            ],
            "graph": "./src/agent/graph.py:graph",
            "input": QUOTE_INPUT,
        }
    )
    assert output == lgp_result(proc) == direct == QUOTE_OUTPUT


# --------------------------------------------------------------------------- same name


def test_package_holding_a_module_of_its_own_name_is_not_shadowed(
    tmp_path: Path, lgp: Any, restore_imports: None
) -> None:
    root = copy_project("same_name", tmp_path)
    package = root / "weather"
    payload = {"city": "Oslo"}

    loaded, output = engine_run(root / "langgraph.json", root, payload, tmp_path)
    assert loaded.module.__name__ == "weather.graph"
    assert sys.modules["weather"].__file__ == str(package / "__init__.py")  # not weather.py
    if str(package) in sys.path:  # the package's own folder never ahead of its root
        assert sys.path.index(str(root)) < sys.path.index(str(package))

    proc = lgp("run", "langgraph.json", "--input", json.dumps(payload), cwd=root)
    [direct] = reference(
        {"cwd": str(root), "sys_path": ["."], "graph": "./weather/graph.py:graph", "input": payload}
    )
    assert output == lgp_result(proc) == direct
    assert direct["report"] == "Oslo: -3.0 °C (26.6 °F)"


# --------------------------------------------------------------------------- cwd relative

SUPPORT_INPUT = {"question": "how do I get a refund"}
TRIAGE_INPUT = {"ticket": "the site is down"}


def test_paths_relative_to_the_working_directory_or_to_langgraph_json(
    tmp_path: Path, lgp: Any, restore_imports: None
) -> None:
    """In the repository root, ``deploy/langgraph.json`` (written for ``langgraph dev
    --config deploy/langgraph.json`` there) only resolves against the working
    directory, and ``tools/triage/langgraph.json`` only against its own folder."""
    root = copy_project("cwd_relative", tmp_path)
    deploy, triage = root / "deploy" / "langgraph.json", root / "tools" / "triage"

    loaded, support_out = engine_run(deploy, root, SUPPORT_INPUT, tmp_path)
    assert loaded.source.base_dir == root
    assert loaded.source.path == root / "src" / "support" / "graph.py"
    [warning] = loaded.source.warnings  # langgraph build would not find it: say so
    assert f"resolved against {root} (the working directory)" in warning
    assert f"not in {root / 'deploy'} (next to langgraph.json)" in warning
    assert "langgraph build" in warning

    loaded, triage_out = engine_run(triage / "langgraph.json", root, TRIAGE_INPUT, tmp_path)
    assert loaded.source.base_dir == triage
    assert loaded.source.warnings == ()  # the fallback is where langgraph build looks too

    support_proc = lgp(
        "run", "deploy/langgraph.json", "--input", json.dumps(SUPPORT_INPUT), cwd=root
    )
    assert lgp_warnings(support_proc) == [f"[lgp] ⚠ {warning}"]
    triage_proc = lgp(
        "run", "tools/triage/langgraph.json", "--input", json.dumps(TRIAGE_INPUT), cwd=root
    )
    assert lgp_warnings(triage_proc) == []

    direct_support, direct_triage = reference(
        {
            "cwd": str(root),
            "sys_path": [".", "src"],
            "graph": "./src/support/graph.py:graph",
            "env_file": "./deploy/dev.env",
            "input": SUPPORT_INPUT,
        },
        {"cwd": str(triage), "sys_path": ["."], "graph": "./graph.py:graph", "input": TRIAGE_INPUT},
    )
    assert support_out == lgp_result(support_proc) == direct_support
    assert direct_support["answer"] == "Refunds take 5 business days. (the support desk)"
    assert triage_out == lgp_result(triage_proc) == direct_triage
    assert direct_triage["priority"] == "urgent"


def test_a_graph_found_in_neither_place_names_both(tmp_path: Path, lgp: Any) -> None:
    root = copy_project("cwd_relative", tmp_path)
    proc = lgp("run", "cwd_relative/deploy/langgraph.json", cwd=tmp_path)
    line = lgp_error(proc)
    assert "graph 'support' points to a missing file: ./src/support/graph.py" in line
    looked = f"looked in {tmp_path.resolve()} (the working directory) and {root / 'deploy'} "
    assert looked + "(next to langgraph.json)" in line

    # started where langgraph.json is, both places are one
    line = lgp_error(lgp("run", "langgraph.json", cwd=root / "deploy"))
    assert f"looked in {root / 'deploy'} (the working directory, holding langgraph.json)" in line


def test_a_graph_in_both_places_is_the_working_directorys_with_a_warning(
    tmp_path: Path,
) -> None:
    root = copy_project("cwd_relative", tmp_path)
    here, triage = root / "src" / "support", root / "tools" / "triage"  # both hold graph.py
    source = resolve_target("../../tools/triage/langgraph.json", project_dir=here)
    assert source.path == here / "graph.py"  # as langgraph dev, started here, takes it
    [warning] = source.warnings
    assert f"both in {here} (the working directory) and in {triage}" in warning
    assert f"start lgp in {triage} for the other" in warning


# --------------------------------------------------------------------------- dependencies


def test_dependency_folders_that_cannot_be_packages_are_warnings(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    for folder in ("json", "my-lib", "ok_lib"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("", encoding="utf-8")
    (root / "graph.py").write_text("", encoding="utf-8")
    config = {
        "dependencies": [".", "./json", "./my-lib", "./ok_lib", "./gone"],
        "graphs": {"g": "./graph.py:graph"},
    }
    (root / "langgraph.json").write_text(json.dumps(config), encoding="utf-8")
    source = resolve_target("proj/langgraph.json", project_dir=tmp_path)
    assert source.packages == (("ok_lib", root.resolve() / "ok_lib"),)
    shadow, hyphen, gone = source.warnings
    assert "'./json'" in shadow and "would shadow the standard or installed module" in shadow
    assert "'./my-lib'" in hyphen and "not a valid package name" in hyphen
    assert "'./gone' is not a directory; looked in" in gone
