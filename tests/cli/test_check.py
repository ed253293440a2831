"""``lgp check``: a workflow's graph checked without running it, as a real ``lgp``
process in a copy of the project."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

CHECKED = [
    "check_unreachable.py",
    "check_dead_end.py",
    "check_plain_loop.py",
    "check_closed_loop.py",
    "check_undeclared_key.py",
    "check_interrupt_compiled.py",
]


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    [line] = proc.stderr.splitlines()
    assert line.startswith("[lgp] ❌"), line
    for needle in needles:
        assert needle in line, line
    return line


@pytest.fixture
def checked(project: Path, add_workflows: Callable[..., list[Path]]) -> Path:
    """The project, with the shared workflows that each have a problem."""
    add_workflows(project / "workflows", *CHECKED)
    return project


def test_the_bundled_workflows_have_no_problems(project: Path, lgp) -> None:
    for name in ("basic_workflow", "approval_workflow", "optimize_evaluate_ollama"):
        proc = lgp("check", name, cwd=project)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert proc.stdout == f"[lgp] ✅ {name}: no problems found\n"
        assert proc.stderr == ""


def test_warnings_are_printed_with_their_fix_and_exit_1(checked: Path, lgp) -> None:
    proc = lgp("check", "workflows/check_undeclared_key.py", cwd=checked)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stdout.splitlines() == [
        "[lgp] check_undeclared_key: 2 warnings",
        "",
        "⚠ count · undeclared_key",
        "  `count` returns 'totl', which State does not declare: LangGraph drops it "
        "without a word.",
        "  fix: declare 'totl' in State (or the output schema), or fix the name "
        "(did you mean 'total'?)",
        "  at workflows/check_undeclared_key.py:18",
        "",
        "⚠ finish · undeclared_key",
        "  `finish` returns 'stauts', which State does not declare: LangGraph drops it "
        "without a word.",
        "  fix: declare 'stauts' in State (or the output schema), or fix the name "
        "(did you mean 'status'?)",
        "  at workflows/check_undeclared_key.py:22",
    ]

    for name, heading in [
        ("check_unreachable.py", "⚠ audit · unreachable"),
        ("check_dead_end.py", "⚠ notify · dead_end"),
        ("check_plain_loop.py", "⚠ draft · cycle_without_exit"),
        ("check_closed_loop.py", "⚠ ask · cycle_without_exit"),
        ("check_interrupt_compiled.py", "⚠ approve · interrupt_without_checkpointer"),
    ]:
        proc = lgp("check", f"workflows/{name}", cwd=checked)
        assert proc.returncode == 1, (name, proc.stdout, proc.stderr)
        lines = proc.stdout.splitlines()
        assert lines[0] == f"[lgp] {name.removesuffix('.py')}: 1 warning", lines
        assert lines[2] == heading, lines
        assert lines[4].startswith("  fix: "), lines


def test_json_lists_the_warnings_and_keeps_the_exit_code(checked: Path, lgp) -> None:
    proc = lgp("check", "workflows/check_interrupt_compiled.py", "--json", cwd=checked)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    report = json.loads(proc.stdout)
    assert report["workflow"] == "check_interrupt_compiled" and report["skipped"] is None
    [warning] = report["warnings"]
    assert warning["code"] == "interrupt_without_checkpointer"
    assert warning["node"] == "approve"
    assert "Cannot use Command(resume=...) without checkpointer" in warning["message"]
    assert warning["hint"].startswith("give it one: builder.compile(checkpointer=")
    assert Path(warning["path"]).name == "check_interrupt_compiled.py"
    assert warning["line"] == 21

    clean = lgp("check", "basic_workflow", "--json", cwd=checked)
    assert clean.returncode == 0
    assert json.loads(clean.stdout) == {
        "workflow": "basic_workflow",
        "skipped": None,
        "warnings": [],
    }


def test_a_factory_is_not_checked_and_that_is_no_problem(project: Path, lgp) -> None:
    (project / "workflows" / "made.py").write_text(
        "def make_graph():\n    raise AssertionError('never built by a check')\n",
        encoding="utf-8",
    )
    proc = lgp("check", "workflows/made.py:make_graph", cwd=project)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert proc.stdout == (
        "[lgp] made: `make_graph` is a factory: its graph is built per run, so there is "
        "no graph to check before it runs\n"
    )


def test_a_workflow_that_does_not_load_is_one_line_and_exit_2(project: Path, lgp) -> None:
    one_line_error(
        lgp("check", "nosuch", cwd=project),
        "Workflow load error: unknown workflow 'nosuch'",
        "basic_workflow",
    )
    broken = project / "workflows" / "broken.py"
    broken.write_text("from langgraph.graph import StateGraph\ndef oops(:\n", encoding="utf-8")
    one_line_error(lgp("check", "workflows/broken.py", cwd=project), "broken.py:2: syntax error")
    one_line_error(
        lgp("check", cwd=project), "Missing argument 'WORKFLOW' (see `lgp check --help`)"
    )


def test_help_teaches_what_is_checked_and_the_exit_codes(project: Path, lgp) -> None:
    proc = lgp("check", "--help", cwd=project)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for code in (
        "unreachable",
        "dead_end",
        "cycle_without_exit",
        "undeclared_key",
        "interrupt_without_checkpointer",
    ):
        assert f" {code} " in text, code
    assert "lgp check workflows/basic_workflow.py" in text
    assert "Exit codes: 0 no problems found, 1 warnings, 2 the workflow does not load" in text
    assert "lgp check WORKFLOW" in lgp("--help", cwd=project).stdout
