"""The ``lgp`` command, exercised as a subprocess (``python -m lgp_engine ...``)."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

BASIC = "workflows/basic_workflow.py"
HI = '{"input": "hi"}'

# --------------------------------------------------------------------------- helpers


def result_of(stdout: str) -> dict[str, Any]:
    """The JSON after ``Result: `` in human output."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith("Result: ")]
    assert len(lines) == 1, stdout
    return json.loads(lines[0].removeprefix("Result: "))


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line parsed as JSON (fails if any line is not JSON)."""
    lines = stdout.splitlines()
    assert lines, "no output"
    return [json.loads(ln) for ln in lines]


def db_count(db: Path, thread_id: str) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute(
            "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''",
            (thread_id,),
        ).fetchone()
    return n


def table_rows(stdout: str) -> list[list[str]]:
    """Rows of a ``_table`` listing (header and ``[lgp]`` lines dropped), split on spaces."""
    rows = []
    for ln in stdout.splitlines():
        if not ln.strip() or ln.startswith("[lgp]"):
            continue
        rows.append(ln.split())
    return rows[1:]  # drop the header


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    err_lines = proc.stderr.splitlines()
    assert len(err_lines) == 1, proc.stderr
    line = err_lines[0]
    assert line.startswith("[lgp] ❌"), line
    for needle in needles:
        assert needle in line, line
    return line


# --------------------------------------------------------------------------- runs on t1


# The tests reading the runs of basic_t1 stay on one xdist worker (the fixture runs once).
basic_t1_group = pytest.mark.xdist_group("cli_basic_t1")


@pytest.fixture(scope="module")
def basic_t1(tmp_path_factory: pytest.TempPathFactory, make_project, lgp) -> dict[str, Any]:
    """Two human-mode runs of the basic workflow on thread t1 (shared, read-only)."""
    root = make_project(tmp_path_factory.mktemp("t1") / "project")
    first = lgp("run", BASIC, "--input", HI, "--thread", "t1", cwd=root)
    second = lgp("run", BASIC, "--input", HI, "--thread", "t1", cwd=root)
    return {"root": root, "first": first, "second": second, "lgp": lgp}


@basic_t1_group
def test_two_runs_on_one_thread_accumulate_state(basic_t1: dict[str, Any]) -> None:
    first, second = basic_t1["first"], basic_t1["second"]
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    r1, r2 = result_of(first.stdout), result_of(second.stdout)
    assert r1["run_count"] == 1
    assert r2["run_count"] == 2
    assert r2["messages"][: len(r1["messages"])] == r1["messages"]
    assert "greet: hello (run #2)" in r2["messages"]
    assert len(r2["messages"]) == 2 * len(r1["messages"])


@basic_t1_group
def test_checkpoint_db_is_sqlite_in_wal_mode(basic_t1: dict[str, Any]) -> None:
    db = basic_t1["root"] / ".lgp" / "checkpoints.db"
    assert db.is_file()
    with sqlite3.connect(db) as conn:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    assert mode.lower() == "wal"
    assert db_count(db, "t1") > 0


@basic_t1_group
def test_human_output_style(basic_t1: dict[str, Any]) -> None:
    out = basic_t1["first"].stdout
    lines = out.splitlines()
    assert f"[lgp] Loading workflow: {BASIC}" in lines
    assert "[lgp] Executing..." in lines
    assert any(ln.startswith("[lgp] ✅ Complete (") for ln in lines), out
    assert any(ln.startswith("Result: {") for ln in lines), out
    assert "[lgp] Thread: t1" in lines
    for node in ("greet", "analyze", "respond"):
        assert any(re.match(rf"\[lgp\]\s+✓ {node} \(", ln) for ln in lines), out
    # the order of the main phases
    idx = [
        next(i for i, ln in enumerate(lines) if ln.startswith(p))
        for p in ("[lgp] Loading", "[lgp] Executing", "[lgp] ✅", "Result: ")
    ]
    assert idx == sorted(idx)
    assert basic_t1["first"].stderr == ""


@basic_t1_group
def test_history_lists_every_checkpoint_in_order(basic_t1: dict[str, Any]) -> None:
    root = basic_t1["root"]
    expected = db_count(root / ".lgp" / "checkpoints.db", "t1")
    proc = basic_t1["lgp"]("history", "t1", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert f"[lgp] Thread t1: {expected} checkpoint(s)" in proc.stdout
    rows = table_rows(proc.stdout)
    assert len(rows) == expected
    steps = [int(r[0]) for r in rows]
    assert steps == list(range(-1, expected - 1))


@basic_t1_group
def test_history_json(basic_t1: dict[str, Any]) -> None:
    root = basic_t1["root"]
    expected = db_count(root / ".lgp" / "checkpoints.db", "t1")
    proc = basic_t1["lgp"]("history", "t1", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == expected
    assert [r["step"] for r in rows] == list(range(-1, expected - 1))
    assert rows[0]["parent_id"] is None
    assert rows[0]["source"] == "input"
    for prev, cur in itertools.pairwise(rows):
        assert cur["parent_id"] == prev["checkpoint_id"]
    written = {w for r in rows for w in r["writes"]}
    assert {"greet", "analyze", "respond"} <= written


@basic_t1_group
def test_threads_lists_thread_with_count(basic_t1: dict[str, Any]) -> None:
    root = basic_t1["root"]
    expected = db_count(root / ".lgp" / "checkpoints.db", "t1")
    proc = basic_t1["lgp"]("threads", cwd=root)
    assert proc.returncode == 0, proc.stderr
    rows = {r[0]: r for r in table_rows(proc.stdout)}
    assert "t1" in rows
    assert rows["t1"][1] == str(expected)

    proc = basic_t1["lgp"]("threads", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [t["thread_id"] for t in data] == ["t1"]
    assert data[0]["checkpoints"] == expected
    assert data[0]["created_at"] <= data[0]["updated_at"]


# --------------------------------------------------------------------------- --json run


def test_run_json_prints_only_event_lines(project: Path, lgp, tree_snapshot) -> None:
    proc = lgp("run", BASIC, "--input", HI, "--thread", "j1", "--json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    events = json_lines(proc.stdout)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "run.started"
    assert events[-1]["type"] == "run.completed"
    types = {e["type"] for e in events}
    assert {"node.started", "node.finished", "checkpoint"} <= types
    assert {e["thread_id"] for e in events} == {"j1"}
    assert len({e["run_id"] for e in events}) == 1
    finished = [e["node"] for e in events if e["type"] == "node.finished"]
    assert finished == ["greet", "analyze", "respond"]
    assert events[-1]["data"]["output"]["run_count"] == 1
    assert "[lgp]" not in proc.stdout
    assert "Result:" not in proc.stdout


# --------------------------------------------------------------------------- bad input


def _assert_nothing_written(project: Path, before: dict[str, bytes], tree_snapshot) -> None:
    assert not (project / ".lgp").exists()
    assert tree_snapshot(project) == before


def test_run_missing_file(project: Path, lgp, tree_snapshot) -> None:
    before = tree_snapshot(project)
    proc = lgp("run", "workflows/missing.py", cwd=project)
    assert_one_line_error(proc, "missing.py", "not found")
    _assert_nothing_written(project, before, tree_snapshot)


def test_run_module_without_workflow_object(project: Path, lgp, tree_snapshot) -> None:
    (project / "workflows" / "nothing_here.py").write_text(
        "import os\n\nanswer = 42\n\n\ndef helper():\n    return os.sep\n", encoding="utf-8"
    )
    before = tree_snapshot(project)
    proc = lgp("run", "workflows/nothing_here.py", cwd=project)
    line = assert_one_line_error(proc, "nothing_here.py", "workflow", "graph", "app")
    found = line.split("found:", 1)[1]
    assert "answer" in found
    assert "helper" in found
    _assert_nothing_written(project, before, tree_snapshot)


def test_run_syntax_error_names_file_and_line(project: Path, lgp, tree_snapshot) -> None:
    (project / "workflows" / "broken.py").write_text(
        "import operator\nx = 1\ndef broken(:\n    pass\n", encoding="utf-8"
    )
    before = tree_snapshot(project)
    proc = lgp("run", "workflows/broken.py", cwd=project)
    assert_one_line_error(proc, "broken.py:3", "syntax error")
    _assert_nothing_written(project, before, tree_snapshot)


def test_run_invalid_json_input(project: Path, lgp, tree_snapshot) -> None:
    before = tree_snapshot(project)
    proc = lgp("run", BASIC, "--input", "{bad", cwd=project)
    assert_one_line_error(proc, "invalid JSON", "--input")
    _assert_nothing_written(project, before, tree_snapshot)


def test_run_bad_yaml_config_names_file_and_line(project: Path, lgp, tree_snapshot) -> None:
    (project / "config" / "experiment.yaml").write_text(
        "# broken on purpose\nenvironment: experiment\ncheckpointer:\n  backend: sqlite: no\n",
        encoding="utf-8",
    )
    before = tree_snapshot(project)
    proc = lgp("run", BASIC, "--input", HI, cwd=project)
    assert_one_line_error(proc, "experiment.yaml:4")
    _assert_nothing_written(project, before, tree_snapshot)


@pytest.mark.parametrize("name", ["../x", "a b"])
def test_run_invalid_workflow_name(project: Path, lgp, tree_snapshot, name: str) -> None:
    before = tree_snapshot(project)
    proc = lgp("run", name, cwd=project)
    assert_one_line_error(proc, name)
    _assert_nothing_written(project, before, tree_snapshot)


def test_run_unknown_env_is_one_line(project: Path, lgp, tree_snapshot) -> None:
    before = tree_snapshot(project)
    proc = lgp("run", BASIC, "--env", "nope", cwd=project)
    assert_one_line_error(proc, "nope")
    _assert_nothing_written(project, before, tree_snapshot)


# --------------------------------------------------------------------------- failing node


def test_failing_node_exit_1_and_keeps_earlier_checkpoints(
    project: Path, lgp, add_workflows
) -> None:
    add_workflows(project, "two_steps.py")
    proc = lgp("run", "two_steps.py", "--thread", "f1", cwd=project)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    output = proc.stdout + proc.stderr
    assert "'b'" in output
    assert "boom from node b" in output
    assert "ValueError" in output
    assert not any(ln.startswith("[lgp] ✅") for ln in proc.stdout.splitlines())

    count = db_count(project / ".lgp" / "checkpoints.db", "f1")
    hist = lgp("history", "f1", "--json", cwd=project)
    assert hist.returncode == 0, hist.stderr
    rows = json.loads(hist.stdout)
    assert len(rows) == count
    assert [r["step"] for r in rows] == list(range(-1, count - 1))
    last = rows[-1]
    assert "a" in last["writes"]  # the checkpoint taken after node a is kept
    assert last["next"] == ["b"]
    assert all("b" not in r["writes"] for r in rows)

    human = lgp("history", "f1", cwd=project)
    assert human.returncode == 0, human.stderr
    assert len(table_rows(human.stdout)) == count

    threads = lgp("threads", "--json", cwd=project)
    assert threads.returncode == 0, threads.stderr
    counts = {t["thread_id"]: t["checkpoints"] for t in json.loads(threads.stdout)}
    assert counts == {"f1": count}
    human_threads = lgp("threads", cwd=project)
    assert human_threads.returncode == 0, human_threads.stderr
    assert [r[:2] for r in table_rows(human_threads.stdout)] == [["f1", str(count)]]


def test_failing_node_json_ends_with_run_failed(project: Path, lgp, add_workflows) -> None:
    add_workflows(project, "two_steps.py")
    proc = lgp("run", "two_steps.py", "--thread", "f2", "--json", cwd=project)
    assert proc.returncode == 1, proc.stderr
    events = json_lines(proc.stdout)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    last = events[-1]
    assert last["type"] == "run.failed"
    assert last["node"] == "b"
    assert last["data"]["message"] == "boom from node b"
    assert last["data"]["error_type"] == "ValueError"


# --------------------------------------------------------------------------- --env


def test_lgp_env_variable_selects_hosted_config(project: Path, lgp) -> None:
    proc = lgp(
        "run", BASIC, "--input", HI, "--thread", "h1", cwd=project, env={"LGP_ENV": "hosted"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "[lgp] Environment: hosted" in proc.stdout
    assert sorted(p.name for p in (project / ".lgp").glob("*.db")) == ["hosted.db"]
    assert db_count(project / ".lgp" / "hosted.db", "h1") > 0


def test_env_option_selects_hosted_config(project: Path, lgp) -> None:
    proc = lgp("run", BASIC, "--input", HI, "--thread", "h2", "--env", "hosted", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "[lgp] Environment: hosted" in proc.stdout
    assert (project / ".lgp" / "hosted.db").is_file()
    assert not (project / ".lgp" / "checkpoints.db").exists()
    hosted = lgp("threads", "--json", "--env", "hosted", cwd=project)
    assert [t["thread_id"] for t in json.loads(hosted.stdout)] == ["h2"]
    assert not (project / ".lgp" / "checkpoints.db").exists()


def test_env_option_overrides_lgp_env(project: Path, lgp) -> None:
    proc = lgp(
        "run",
        BASIC,
        "--thread",
        "e1",
        "--env",
        "experiment",
        cwd=project,
        env={"LGP_ENV": "hosted"},
    )
    assert proc.returncode == 0, proc.stderr
    assert (project / ".lgp" / "checkpoints.db").is_file()
    assert not (project / ".lgp" / "hosted.db").exists()


# --------------------------------------------------------------------------- help


def test_top_level_help(project: Path, lgp) -> None:
    proc = lgp("--help", cwd=project)
    assert proc.returncode == 0, proc.stderr
    for command in ("run", "threads", "history", "templates", "create"):
        assert re.search(rf"^\s+{command}\s", proc.stdout, re.M), proc.stdout
    assert not (project / ".lgp").exists()


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("run", ["--input", "--thread", "--json", "--env", "--graph", "--context"]),
        ("threads", ["--limit", "--offset", "--json", "--env"]),
        ("history", ["--limit", "--offset", "--json", "--env"]),
        ("templates", ["--json", "--env"]),
        ("create", ["--template", "--force", "--env"]),
    ],
)
def test_subcommand_help(project: Path, lgp, command: str, options: list[str]) -> None:
    proc = lgp(command, "--help", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Usage: lgp {command}")
    for option in options:
        assert option in proc.stdout, f"{command} --help lacks {option}"
    assert not (project / ".lgp").exists()


def test_history_of_unknown_thread(project: Path, lgp) -> None:
    proc = lgp("history", "unknown-thread", cwd=project)
    assert_one_line_error(proc, "unknown thread", "unknown-thread")


# Interrupts in the human and --json output, and the resume hint, are checked in
# test_timetravel.py (test_approval_workflow_interrupts_and_resumes and
# test_resume_json_output_continues_the_sequence), on the same runs as the resume.
