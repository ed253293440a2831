"""Import boundaries of the engine, checked in fresh subprocesses.

* The engine never imports the UI (``textual``). Textual may not be installed here,
  so a stand-in ``textual`` package is put first on ``PYTHONPATH``: any attempt to
  import it succeeds, lands in ``sys.modules`` and leaves a marker file.
* ``import lgp_engine`` defers the heavy LangGraph imports (startup budget).
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from tests.processes import run_python

WORKFLOW = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    x: int


def double(state):
    return {"x": state["x"] * 2}


workflow = StateGraph(State)
workflow.add_node("double", double)
workflow.add_edge(START, "double")
workflow.add_edge("double", END)
"""

# Prints the UI and heavy modules imported so far, as JSON.
REPORT = (
    "import json, sys; print(json.dumps(sorted(m for m in sys.modules "
    "if m.split('.')[0] in ('textual', 'lgp_tui', 'langgraph', 'langchain_core'))))"
)


@pytest.fixture
def stub_env(tmp_path: Path) -> dict[str, str]:
    """Extra environment whose PYTHONPATH starts with a fake ``textual`` that leaves a marker."""
    stub = tmp_path / "stub"
    (stub / "textual").mkdir(parents=True)
    marker = tmp_path / "textual-was-imported"
    (stub / "textual" / "__init__.py").write_text(
        f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n", encoding="utf-8"
    )
    return {
        "PYTHONPATH": os.pathsep.join([str(stub), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "LGP_TEST_MARKER": str(marker),
    }


def imported(stderr: str) -> set[str]:
    """Module names from ``python -X importtime`` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":
                names.add(name)
    return names


def test_stub_textual_is_importable(stub_env: dict[str, str], tmp_path: Path) -> None:
    """The detector works: importing textual with the stub is seen."""
    proc = run_python("-c", f"import textual; {REPORT}", env=stub_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "textual" in json.loads(proc.stdout)
    assert Path(stub_env["LGP_TEST_MARKER"]).is_file()


def test_importing_the_engine_imports_neither_textual_nor_langgraph(
    stub_env: dict[str, str], tmp_path: Path
) -> None:
    code = (
        "import lgp_engine, sys\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('langgraph', 'langchain_core'))\n"
        "assert not heavy, heavy\n"
        "import lgp_engine.cli\n"
        "assert not any(m == 'textual' or m.startswith('textual.') for m in sys.modules), "
        "sorted(sys.modules)\n" + REPORT
    )
    proc = run_python("-c", code, env=stub_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
    assert not Path(stub_env["LGP_TEST_MARKER"]).exists()


def test_cli_help_imports_neither_textual_nor_langgraph(
    stub_env: dict[str, str], tmp_path: Path
) -> None:
    proc = run_python("-X", "importtime", "-m", "lgp_engine", "--help", env=stub_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    assert "run" in proc.stdout
    modules = imported(proc.stderr)
    assert "lgp_engine.cli" in modules  # the detector saw the engine load
    assert not {m for m in modules if m.split(".")[0] in ("textual", "lgp_tui")}
    assert not {m for m in modules if m.split(".")[0] in ("langgraph", "langchain_core")}
    assert not Path(stub_env["LGP_TEST_MARKER"]).exists()


def test_cli_run_never_imports_textual(stub_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(WORKFLOW).lstrip("\n"), encoding="utf-8")
    proc = run_python(
        "-X",
        "importtime",
        "-m",
        "lgp_engine",
        "run",
        "flow.py",
        "--input",
        '{"x": 21}',
        env=stub_env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'Result: {"x": 42}' in proc.stdout
    modules = imported(proc.stderr)
    assert "langgraph.graph" in modules  # a real run did load LangGraph
    assert not {m for m in modules if m.split(".")[0] in ("textual", "lgp_tui")}
    assert not Path(stub_env["LGP_TEST_MARKER"]).exists()
