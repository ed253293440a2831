"""Interrupts, time travel, crash safety and run logs through the ``lgp`` command.

Every command runs as a subprocess (``python -m lgp_engine``) in a copy of the
project, so each test also proves the state survives between processes. The test
workflows log every node execution to a file next to them, which shows which nodes
ran again after a resume, a replay or a fork.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.processes import Process, start_lgp
from tests.workflows import copy_workflows, open_gate

# The workflows are files in tests/workflows/, copied into each test's project:
# counter.py (a -> b -> c), slow_step.py (a -> slow -> c, slow holds at a gate),
# asks_in_subgraph.py (a -> sub (s1 -> s2 asks) -> c) and fan_out.py (Send fan-out).
# Their nodes log their names to nodes.log beside them.

UNKNOWN_CP = "1f000000-0000-6000-8000-000000000000"


# --------------------------------------------------------------------------- helpers


def add_flow(root: Path, name: str) -> str:
    """Copy the shared test workflow ``name`` into ``root``; its name, for ``lgp run``."""
    copy_workflows(root, name)
    return name


def nodes_log(root: Path) -> list[str]:
    path = root / "nodes.log"
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def reset_log(root: Path) -> None:
    (root / "nodes.log").write_text("", encoding="utf-8")


def db_counts(root: Path) -> dict[str, int]:
    with closing(sqlite3.connect(root / ".lgp" / "checkpoints.db")) as conn:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("checkpoints", "writes", "lgp_runs", "lgp_events")
        }


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc


def result_of(stdout: str) -> dict[str, Any]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("Result: ")]
    assert len(lines) == 1, stdout
    return json.loads(lines[0].removeprefix("Result: "))


def run_id_of(stdout: str) -> str:
    found = re.findall(r"^\[lgp\] Run: (\S+)$", stdout, re.M)
    assert len(found) == 1, stdout
    return found[0]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("[lgp] ❌"), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def history_json(lgp: Callable[..., Any], root: Path, thread: str) -> list[dict[str, Any]]:
    return json.loads(ok(lgp("history", thread, "--json", cwd=root)).stdout)


def checkpoint_before(history: list[dict[str, Any]], node: str) -> str:
    """The first checkpoint (oldest first) whose next node is ``node``."""
    return next(c["checkpoint_id"] for c in history if c["next"] == [node])


def runs_json(lgp: Callable[..., Any], root: Path, *args: str) -> list[dict[str, Any]]:
    return json.loads(ok(lgp("runs", *args, "--json", cwd=root)).stdout)


def start_slow_run(root: Path, thread: str) -> Process:
    """``lgp run slow_step.py`` on ``thread``, once its ``slow`` node holds at its gate."""
    proc = start_lgp("run", add_flow(root, "slow_step.py"), "--thread", thread, cwd=root)
    try:
        proc.wait_for(lambda: "slow" in nodes_log(root), 30, "the slow node")
    except BaseException:
        proc.kill()
        raise
    return proc


# --------------------------------------------------------------------------- shared threads

# The tests that only read these threads share one project per worker (xdist_group
# keeps them on one worker): running the workflows once is most of their cost.
shared_threads = pytest.mark.xdist_group("cli_timetravel_shared")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, make_project, lgp) -> dict[str, Any]:
    """One project, read-only once made, with three threads:

    - ``a1``: approval_workflow interrupted, then resumed with ``"yes"`` (the outputs
      of each step, and what ``runs`` and ``state`` said after it, are kept here);
    - ``done``: counter.py run once with x=1 (``history`` is its history, ``k`` the
      checkpoint before node b, ``head`` the last one);
    - ``asking``: approval_workflow waiting at its interrupt.
    """
    root = make_project(tmp_path_factory.mktemp("shared") / "project")
    first = ok(lgp("run", "approval_workflow", "--thread", "a1", cwd=root))
    runs_after_first = runs_json(lgp, root, "--thread", "a1")
    second = ok(lgp("resume", "a1", "--value", '"yes"', cwd=root))
    runs_after_second = runs_json(lgp, root, "--thread", "a1")
    state_after_second = json.loads(ok(lgp("state", "a1", "--json", cwd=root)).stdout)

    flow = add_flow(root, "counter.py")
    ok(lgp("run", flow, "--thread", "done", "--input", '{"x": 1}', cwd=root))
    history = history_json(lgp, root, "done")
    ok(lgp("run", "approval_workflow", "--thread", "asking", cwd=root))
    return {
        "root": root,
        "a1": {
            "first": first,
            "runs_after_first": runs_after_first,
            "second": second,
            "runs_after_second": runs_after_second,
            "state_after_second": state_after_second,
        },
        "history": history,
        "k": checkpoint_before(history, "b"),
        "head": history[-1]["checkpoint_id"],
    }


# --------------------------------------------------------------------------- AP1: interrupt


@shared_threads
def test_approval_workflow_interrupts_and_resumes(shared: dict[str, Any], lgp) -> None:
    a1 = shared["a1"]
    out = a1["first"].stdout
    lines = out.splitlines()
    assert "status: interrupted" in out
    assert any(ln.startswith("[lgp] ⏸ Interrupted at node 'approve'") for ln in lines), out
    asked = [
        json.loads(ln.removeprefix("Interrupt: "))
        for ln in out.splitlines()
        if ln.startswith("Interrupt: ")
    ]
    assert asked == [
        {
            "question": "Approve this draft?",
            "draft": "Draft about untitled: everything is ready to ship.",
        }
    ]
    assert [ln for ln in lines if "Resume with:" in ln] == [
        "[lgp] Resume with: lgp resume a1 --value '<JSON>'"
    ]
    assert not any(ln.startswith("Result: ") for ln in lines)
    # the hint names a command that exists
    command = re.search(r"Resume with: lgp (\S+)", out).group(1)  # type: ignore[union-attr]
    ok(lgp(command, "--help", cwd=shared["root"]))
    run_id = run_id_of(out)
    (record,) = a1["runs_after_first"]
    assert (record["run_id"], record["status"]) == (run_id, "interrupted")

    second = a1["second"]
    assert run_id_of(second.stdout) == run_id
    assert result_of(second.stdout)["status"] == "published"
    assert result_of(second.stdout)["approved"] is True
    (record,) = a1["runs_after_second"]
    assert (record["run_id"], record["status"], record["kind"]) == (run_id, "completed", "run")
    state = a1["state_after_second"]
    assert state["values"]["status"] == "published" and state["interrupts"] == []


def test_the_resume_value_reaches_the_node(project: Path, lgp) -> None:
    ok(lgp("run", "approval_workflow", "--thread", "a2", "--input", '{"topic": "x"}', cwd=project))
    state = json.loads(ok(lgp("state", "a2", "--json", cwd=project)).stdout)
    assert state["next"] == ["approve"]
    assert state["interrupts"][0]["value"]["draft"] == "Draft about x: everything is ready to ship."
    done = ok(lgp("resume", "a2", "--value", '{"approved": false}', cwd=project))
    assert result_of(done.stdout)["status"] == "rejected"


def test_resume_json_output_continues_the_sequence(project: Path, lgp) -> None:
    first = ok(lgp("run", "approval_workflow", "--thread", "a3", "--json", cwd=project))
    before = [json.loads(ln) for ln in first.stdout.splitlines()]
    assert before[-1]["type"] == "interrupt"
    assert before[-1]["node"] == "approve"
    assert before[-1]["data"]["interrupts"][0]["value"]["question"] == "Approve this draft?"
    second = ok(lgp("resume", "a3", "--value", '"ok"', "--json", cwd=project))
    after = [json.loads(ln) for ln in second.stdout.splitlines()]
    assert after[-1]["type"] == "run.completed"
    seqs = [e["seq"] for e in before + after]
    assert seqs == list(range(1, len(seqs) + 1))
    assert {e["run_id"] for e in before + after} == {before[0]["run_id"]}


# --------------------------------------------------------------------------- AP2: replay, fork


@pytest.fixture
def counter(project: Path, lgp) -> dict[str, Any]:
    """COUNTER run once on thread c1 with x=1 (x=2, score=4, result=20)."""
    flow = add_flow(project, "counter.py")
    run = ok(lgp("run", flow, "--thread", "c1", "--input", '{"x": 1}', cwd=project))
    assert result_of(run.stdout)["result"] == 20
    assert nodes_log(project) == ["a", "b", "c"]
    history = history_json(lgp, project, "c1")
    return {
        "root": project,
        "history": history,
        "run_id": run_id_of(run.stdout),
        "before_b": checkpoint_before(history, "b"),
        "head": history[-1]["checkpoint_id"],
    }


def test_replay_accepts_a_unique_part_of_the_checkpoint_id(counter: dict[str, Any], lgp) -> None:
    root = counter["root"]
    reset_log(root)
    ok(lgp("replay", "c1", "--checkpoint", counter["before_b"][-12:], cwd=root))
    assert nodes_log(root) == ["b", "c"]


def test_fork_with_an_edit_grows_a_branch_beside_the_original(counter: dict[str, Any], lgp) -> None:
    root = counter["root"]
    k, old_head = counter["before_b"], counter["head"]
    reset_log(root)
    fork = ok(
        lgp("fork", "c1", "--checkpoint", k, "--update", '{"x": 100}', "--as-node", "a", cwd=root)
    )
    assert f"Forked checkpoint {k}" in fork.stdout
    assert result_of(fork.stdout)["result"] == 1000
    assert result_of(fork.stdout)["score"] == 200
    assert nodes_log(root) == ["b", "c"]

    # the original branch is still there, ending in the original state
    old = json.loads(ok(lgp("state", "c1", "--checkpoint", old_head, "--json", cwd=root)).stdout)
    assert (old["values"]["result"], old["values"]["x"]) == (20, 2)
    head = json.loads(ok(lgp("state", "c1", "--json", cwd=root)).stdout)
    assert head["values"]["result"] == 1000 and head["checkpoint_id"] != old_head

    history = ok(lgp("history", "c1", cwd=root)).stdout
    assert "1 branch point(s)" in history
    lines = history.splitlines()
    ids = {c["checkpoint_id"] for c in counter["history"]}
    for cid in ids:  # every original checkpoint is still listed, once
        assert sum(cid in ln for ln in lines) == 1, cid
    tee = [ln for ln in lines if ln.startswith("├─ ")]
    elbow = [ln for ln in lines if ln.startswith("└─ ")]
    rail = [ln for ln in lines if ln.startswith("│  ")]
    assert len(tee) == 1 and len(elbow) == 1
    # the original branch: the tee, then the rail down to the old head
    assert old_head in rail[-1]
    assert "(update)" in elbow[0]  # the fork starts with the written update
    assert head["checkpoint_id"] in lines[-1]
    as_json = history_json(lgp, root, "c1")
    assert len([c for c in as_json if c["parent_id"] == k]) == 2


def test_replay_reruns_only_the_later_nodes_then_a_fork_lists_every_checkpoint_once(
    counter: dict[str, Any], lgp
) -> None:
    root = counter["root"]
    reset_log(root)
    replay = ok(lgp("replay", "c1", "--checkpoint", counter["before_b"], cwd=root))
    assert f"Replaying from checkpoint {counter['before_b']}" in replay.stdout
    assert result_of(replay.stdout)["result"] == 20
    assert nodes_log(root) == ["b", "c"]
    runs = runs_json(lgp, root, "--thread", "c1")
    assert [(r["kind"], r["status"]) for r in runs] == [
        ("replay", "completed"),
        ("run", "completed"),
    ]
    assert runs[0]["checkpoint_id"] == counter["before_b"]

    # a fork beside the replay: the listing shows every checkpoint once
    before_c = checkpoint_before(counter["history"], "c")
    ok(lgp("fork", "c1", "--checkpoint", before_c, "--update", '{"x": 7}', cwd=root))
    all_ids = [c["checkpoint_id"] for c in history_json(lgp, root, "c1")]
    text = ok(lgp("history", "c1", cwd=root)).stdout
    assert "2 branch point(s)" in text
    assert f"{len(all_ids)} checkpoint(s)" in text
    for cid in all_ids:
        assert text.count(cid) == 1, cid
    assert sum(ln.startswith(("├─ ", "│  ├─ ")) for ln in text.splitlines()) == 2
    assert sum(ln.startswith(("└─ ", "│  └─ ")) for ln in text.splitlines()) == 2


# --------------------------------------------------------------------------- AP3: diff


@shared_threads
def test_diff_shows_added_changed_and_removed_nested_keys(shared: dict[str, Any], lgp) -> None:
    root = shared["root"]
    a = shared["k"]
    b = checkpoint_before(shared["history"], "c")
    out = ok(lgp("diff", "done", a, b, cwd=root)).stdout
    lines = out.splitlines()
    assert '~ profile.name: "ada" → "Ada"' in lines
    assert '+ profile.langs[1]: "rust"' in lines
    assert "- profile.draft: true" in lines
    assert "+ score: 4" in lines
    assert "[lgp] 2 added, 1 removed, 1 changed" in lines
    assert not any(ln.startswith(("+ x", "- x", "~ x")) for ln in lines)  # x did not change

    data = json.loads(ok(lgp("diff", "done", a, b, "--json", cwd=root)).stdout)
    assert (data["from"], data["to"]) == (a, b)
    assert sorted((c["kind"], c["path"], c["before"], c["after"]) for c in data["changes"]) == [
        ("added", "profile.langs[1]", None, "rust"),
        ("added", "score", None, 4),
        ("changed", "profile.name", "ada", "Ada"),
        ("removed", "profile.draft", True, None),
    ]

    # the other way round, and a checkpoint against itself
    head = shared["head"]
    back = json.loads(ok(lgp("diff", "done", head, a, "--json", cwd=root)).stdout)["changes"]
    assert {c["path"]: c["kind"] for c in back} == {
        "profile.langs[1]": "removed",
        "profile.name": "changed",
        "profile.draft": "added",
        "score": "removed",
        "result": "removed",
    }
    same = ok(lgp("diff", "done", a, a, cwd=root)).stdout
    assert "[lgp] No differences." in same.splitlines()


# --------------------------------------------------------------------------- AP4: crash, Ctrl+C


def test_kill_9_leaves_an_abandoned_run_that_resume_finishes(project: Path, lgp) -> None:
    with start_slow_run(project, "k1") as proc:
        # while its process lives, another process neither reaps the run...
        (live,) = runs_json(lgp, project, "--thread", "k1")
        assert live["status"] == "running"
        # ...and already reads the events it has written so far
        so_far = [
            json.loads(ln)
            for ln in ok(lgp("events", live["run_id"], "--json", cwd=project)).stdout.splitlines()
        ]
        assert proc.returncode is None, "the slow node should still be running"
        assert proc.stop(signal.SIGKILL) == -signal.SIGKILL
    assert [e["seq"] for e in so_far] == list(range(1, len(so_far) + 1))
    assert [(e["type"], e["node"]) for e in so_far][-1] == ("node.started", "slow")
    (record,) = runs_json(lgp, project, "--thread", "k1")
    assert record["run_id"] == live["run_id"]
    assert record["status"] == "abandoned"
    assert record["error"]["error_type"] == "Abandoned"
    text = ok(lgp("runs", "--thread", "k1", cwd=project)).stdout
    assert "abandoned" in text
    assert nodes_log(project) == ["a", "slow"]

    open_gate(project / "slow_step.open")
    resumed = ok(lgp("resume", "k1", cwd=project))
    assert result_of(resumed.stdout) == {"x": 12}
    assert nodes_log(project) == ["a", "slow", "slow", "c"]  # "a" did not run again
    statuses = [(r["kind"], r["status"]) for r in runs_json(lgp, project, "--thread", "k1")]
    assert statuses == [("resume", "completed"), ("run", "abandoned")]


def test_ctrl_c_cancels_the_run_and_resume_finishes_it(project: Path, lgp) -> None:
    with start_slow_run(project, "k2") as proc:
        started = time.monotonic()
        code = proc.stop(signal.SIGINT, timeout=30)
        out = "\n".join(proc.rest())
    assert code == 130, proc.text
    assert time.monotonic() - started < 2.5  # it did not wait for the node (held at its gate)
    assert "Cancelled: interrupted by the user (Ctrl+C)" in out
    assert "continue with: lgp resume k2" in out
    (record,) = runs_json(lgp, project, "--thread", "k2")
    assert record["status"] == "cancelled"
    events = [
        json.loads(ln)
        for ln in ok(lgp("events", record["run_id"], "--json", cwd=project)).stdout.splitlines()
    ]
    assert events[-1]["type"] == "run.cancelled"
    state = json.loads(ok(lgp("state", "k2", "--json", cwd=project)).stdout)
    assert state["next"] == ["slow"]  # the checkpoints before the cancel are kept

    open_gate(project / "slow_step.open")
    resumed = ok(lgp("resume", "k2", cwd=project))
    assert result_of(resumed.stdout) == {"x": 12}
    assert nodes_log(project) == ["a", "slow", "slow", "c"]


# --------------------------------------------------------------------------- AP5: events


@shared_threads
def test_events_after_n_are_exactly_the_later_ones(shared: dict[str, Any], lgp) -> None:
    root = shared["root"]
    (record,) = shared["a1"]["runs_after_second"]  # interrupted, then resumed: one run
    run_id = record["run_id"]
    everything = [
        json.loads(ln) for ln in ok(lgp("events", run_id, "--json", cwd=root)).stdout.splitlines()
    ]
    last = everything[-1]["seq"]
    assert [e["seq"] for e in everything] == list(range(1, last + 1))
    assert everything[-1]["type"] == "run.completed"
    assert record["last_seq"] == last
    for after in (7, last - 1, last + 5):
        proc = ok(lgp("events", run_id, "--after", str(after), "--json", cwd=root))
        got = [json.loads(ln) for ln in proc.stdout.splitlines()]
        assert [e["seq"] for e in got] == list(range(after + 1, last + 1)), after
        assert got == everything[after:]  # the same events, byte for byte, in every process
    # an id prefix works too, and the human listing has one line per event
    text = ok(lgp("events", run_id[:8], "--after", "3", cwd=root)).stdout.splitlines()
    assert [int(ln.split()[0]) for ln in text] == list(range(4, last + 1))


@shared_threads
def test_events_of_an_unknown_run(project: Path, shared: dict[str, Any], lgp) -> None:
    assert_one_line_error(lgp("events", "nope", cwd=project), "unknown run")  # no database
    assert_one_line_error(lgp("events", "nope", cwd=shared["root"]), "unknown run")


# --------------------------------------------------------------------------- AP6: bad input


# Run on the shared project: ``done`` is finished, ``asking`` waits at its interrupt;
# ``{k}`` is the checkpoint of ``done`` before node b, ``{head}`` its last one.
BAD_INPUT = {
    "resume-unknown-thread": (["resume", "nope", "--value", '"yes"'], "unknown thread"),
    "replay-unknown-thread": (["replay", "nope", "--checkpoint", UNKNOWN_CP], "unknown thread"),
    "fork-unknown-thread": (
        ["fork", "nope", "--checkpoint", UNKNOWN_CP, "--update", "{}"],
        "unknown thread",
    ),
    "state-unknown-thread": (["state", "nope"], "unknown thread"),
    "history-unknown-thread": (["history", "nope"], "unknown thread"),
    "diff-unknown-thread": (["diff", "nope", UNKNOWN_CP, UNKNOWN_CP], "unknown thread"),
    "replay-unknown-checkpoint": (
        ["replay", "done", "--checkpoint", UNKNOWN_CP],
        "unknown checkpoint",
    ),
    "fork-unknown-checkpoint": (
        ["fork", "done", "--checkpoint", UNKNOWN_CP, "--update", '{"x": 1}'],
        "unknown checkpoint",
    ),
    "state-unknown-checkpoint": (
        ["state", "done", "--checkpoint", UNKNOWN_CP],
        "unknown checkpoint",
    ),
    "diff-unknown-checkpoint": (["diff", "done", "{head}", UNKNOWN_CP], "unknown checkpoint"),
    "resume-not-interrupted": (["resume", "done"], "not interrupted"),
    "resume-not-interrupted-value": (["resume", "done", "--value", '"x"'], "not interrupted"),
    "resume-missing-value": (["resume", "asking"], "waiting for a value"),
    "resume-malformed-value": (["resume", "asking", "--value", "{yes"], "invalid JSON"),
    "fork-malformed-update": (
        ["fork", "done", "--checkpoint", "{k}", "--update", "{x: 1"],
        "invalid JSON",
    ),
    "fork-update-not-object": (
        ["fork", "done", "--checkpoint", "{k}", "--update", "[1]"],
        "object of state keys",
    ),
    "fork-bad-as-node": (
        ["fork", "done", "--checkpoint", "{k}", "--update", '{"x": 5}', "--as-node", "nope"],
        "unknown node 'nope'",
    ),
    "fork-unknown-state-key": (
        ["fork", "done", "--checkpoint", "{k}", "--update", '{"nope": 1}'],
        "unknown state key",
    ),
    "run-unknown-interrupt-before": (
        ["run", "counter.py", "--thread", "done", "--interrupt-before", "nope"],
        "unknown node",
    ),
    "run-unknown-interrupt-after": (
        ["run", "counter.py", "--thread", "new", "--interrupt-after", "nope"],
        "unknown node",
    ),
}


@shared_threads
@pytest.mark.parametrize(("args", "needle"), list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    shared: dict[str, Any], lgp, args: list[str], needle: str
) -> None:
    root = shared["root"]
    names = {"{k}": shared["k"], "{head}": shared["head"]}
    args = [names.get(a, a) for a in args]
    before = db_counts(root)
    log_before = nodes_log(root)
    assert_one_line_error(lgp(*args, cwd=root), needle)
    assert db_counts(root) == before
    assert nodes_log(root) == log_before


def test_thread_commands_on_a_fresh_project_create_nothing(
    project: Path, lgp, tree_snapshot
) -> None:
    before = tree_snapshot(project)
    for args in (
        ["resume", "t"],
        ["replay", "t", "--checkpoint", UNKNOWN_CP],
        ["fork", "t", "--checkpoint", UNKNOWN_CP, "--update", "{}"],
        ["state", "t"],
        ["history", "t"],
        ["diff", "t", "a", "b"],
    ):
        proc = lgp(*args, cwd=project)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("[lgp] ❌"), proc.stderr
    assert tree_snapshot(project) == before
    assert not (project / ".lgp").exists()


# --------------------------------------------------------------------------- breakpoints


@pytest.mark.parametrize(
    ("flag", "expect_log"), [("--interrupt-before", ["a"]), ("--interrupt-after", ["a", "b"])]
)
def test_static_breakpoints_stop_and_resume_continues(
    project: Path, lgp, flag: str, expect_log: list[str]
) -> None:
    flow = add_flow(project, "counter.py")
    stop = ok(lgp("run", flow, "--thread", "bp", "--input", '{"x": 1}', flag, "b", cwd=project))
    assert "status: interrupted" in stop.stdout
    assert "Interrupt: (breakpoint)" in stop.stdout
    assert "[lgp] Resume with: lgp resume bp" in stop.stdout.splitlines()
    assert nodes_log(project) == expect_log
    (record,) = runs_json(lgp, project, "--thread", "bp")
    assert record["status"] == "interrupted"
    done = ok(lgp("resume", "bp", cwd=project))
    assert result_of(done.stdout)["result"] == 20
    assert nodes_log(project) == ["a", "b", "c"]
    (record,) = runs_json(lgp, project, "--thread", "bp")
    assert record["status"] == "completed"


# --------------------------------------------------------------------------- subgraphs


@pytest.fixture
def subgraph_thread(project: Path, lgp) -> Path:
    flow = add_flow(project, "asks_in_subgraph.py")
    stop = ok(lgp("run", flow, "--thread", "s1", "--input", '{"x": 1}', cwd=project))
    assert "sub/s1" in stop.stdout and "status: interrupted" in stop.stdout
    return project


def test_state_subgraphs_shows_the_subgraph_state(subgraph_thread: Path, lgp) -> None:
    root = subgraph_thread
    plain = json.loads(ok(lgp("state", "s1", "--json", cwd=root)).stdout)
    assert plain["values"] == {"x": 2}
    assert "subgraphs" not in plain
    deep = json.loads(ok(lgp("state", "s1", "--subgraphs", "--json", cwd=root)).stdout)
    assert deep["subgraphs"] == {"sub": {"x": 3, "inner": "s1 done"}}
    assert deep["interrupts"][0]["value"] == {"q": "inner?", "x": 3}
    text = ok(lgp("state", "s1", "--subgraphs", cwd=root)).stdout
    assert "[lgp] Subgraph sub:" in text.splitlines()
    assert '"inner": "s1 done"' in text


def test_history_subgraphs_lists_the_subgraph_checkpoints(subgraph_thread: Path, lgp) -> None:
    root = subgraph_thread
    data = json.loads(ok(lgp("history", "s1", "--subgraphs", "--json", cwd=root)).stdout)
    assert [c["next"] for c in data["checkpoints"]] == [["__start__"], ["a"], ["sub"]]
    ((ns, inner),) = data["subgraphs"].items()
    assert ns.startswith("sub:")
    assert [c["next"] for c in inner] == [["__start__"], ["s1"], ["s2"]]
    assert inner[-1]["writes"] == ["s1"]
    text = ok(lgp("history", "s1", "--subgraphs", cwd=root)).stdout
    assert f"[lgp] Subgraph sub ({ns}): 3 checkpoint(s)" in text.splitlines()
    for c in inner:
        assert c["checkpoint_id"] in text
    plain = ok(lgp("history", "s1", cwd=root)).stdout
    assert not any(c["checkpoint_id"] in plain for c in inner)

    done = ok(lgp("resume", "s1", "--value", '"deep"', cwd=root))
    assert result_of(done.stdout) == {"x": 30, "inner": "s1 done", "answer": "deep"}
    after = json.loads(ok(lgp("history", "s1", "--subgraphs", "--json", cwd=root)).stdout)
    assert len(after["subgraphs"][ns]) == 4


def test_history_of_a_send_fan_out_names_the_branch_node(project: Path, lgp) -> None:
    flow = add_flow(project, "fan_out.py")
    done = ok(lgp("run", flow, "--thread", "f1", cwd=project))
    assert result_of(done.stdout)["results"] == [10, 20]
    history = history_json(lgp, project, "f1")
    after_a = next(c for c in history if c["writes"] == ["a"])
    assert after_a["next"] == ["work"]
    assert history[-1]["writes"] == ["work"]
    assert "0000000000" not in ok(lgp("history", "f1", cwd=project)).stdout


def test_diff_reads_chat_messages_one_line_each(project: Path, lgp) -> None:
    """A chat thread's diff: each new message by role, the tool call and its result
    named, not the message dicts path by path."""
    flow = add_flow(project, "chat_review.py")
    question = '{"messages": [{"role": "user", "content": "what is 40 + 2?"}]}'
    stop = lgp("run", flow, "--thread", "chat", "--input", question, cwd=project)
    assert stop.returncode == 0, stop.stderr
    history = history_json(lgp, project, "chat")
    first, last = history[0]["checkpoint_id"], history[-1]["checkpoint_id"]
    lines = ok(lgp("diff", "chat", first, last, cwd=project)).stdout.splitlines()
    assert lines[1:] == [
        "+ messages: +1 human: what is 40 + 2?",
        "+ messages: +1 ai: let me add → add(a=40, b=2)",
        "+ messages: +1 tool (add): 42",
        "+ messages: +1 ai: 40 + 2 = 42.⏎Anything else?",
        "[lgp] 4 added, 0 removed, 0 changed",
    ], lines
