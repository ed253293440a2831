"""``lgp run --watch`` as a real subprocess: edit files on disk, read its output
line by line (generous timeouts), stop it with SIGINT, then check the thread with
the ordinary ``lgp`` commands."""

from __future__ import annotations

import json
import re
import signal
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import start_lgp, wait_until

TIMEOUT = 20.0

HOT = """\
import time
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

import helpers


class State(TypedDict, total=False):
    x: int
    out: str
    extra: str
    answer: str


def first(state):
    {body}
    return {{"out": {out}}}

{more}
builder = StateGraph(State)
builder.add_node("first", first)
{wiring}
workflow = builder
"""


def hot(out: str = '"v1"', *, body: str = "pass", more: str = "", wiring: str = "") -> str:
    wiring = wiring or 'builder.add_edge(START, "first")\nbuilder.add_edge("first", END)'
    return HOT.format(out=out, body=body, more=more, wiring=wiring)


class Watch:
    """``lgp run ARGS --watch``, its stdout and stderr read line by line."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.process = start_lgp("run", *args, "--watch", cwd=cwd)
        self.err = self.process.stderr

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> list[str]:
        """Lines after the previous ``expect`` up to and including the first one
        matching ``pattern``."""
        return self.process.expect(pattern, timeout)

    def stop(self) -> int:
        """Ctrl+C; the exit code."""
        return self.process.stop(signal.SIGINT, TIMEOUT)

    def rest(self) -> list[str]:
        return self.process.rest(TIMEOUT)


@pytest.fixture
def watches() -> Iterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for w in started:
        w.process.kill()


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def result(lines: list[str]) -> dict:
    (line,) = [ln for ln in lines if ln.startswith("Result: ")]
    return json.loads(line.removeprefix("Result: "))


def json_of(lgp, project: Path, *args: str):  # type: ignore[no-untyped-def]
    done = lgp(*args, "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_watch_reruns_each_edit_on_the_same_thread(project: Path, lgp, watches) -> None:
    flow = project / "workflows" / "hot.py"
    helper = project / "workflows" / "helpers.py"
    write(helper, 'TAG = "h1"\n')
    write(flow, hot())
    w = Watch(project, "workflows/hot.py", "--thread", "w1", "--input", '{"x": 1}')
    watches.append(w)
    assert result(w.expect("^Result: ")) == {"x": 1, "out": "v1"}
    lines = w.expect(r"Watching: ")
    assert any("Hot reload: ON" in ln for ln in lines)
    assert "workflows/hot.py" in lines[-1] and "workflows/helpers.py" in lines[-1]
    assert "config/experiment.yaml" in lines[-1]
    w.expect("Ctrl\\+C to stop")
    first_checkpoints = [c["checkpoint_id"] for c in json_of(lgp, project, "history", "w1")]

    # 1. change a node's output
    write(flow, hot('"v2"'))
    lines = w.expect("^Result: ")
    assert re.search(r"File changed detected \(\d+ ms\): workflows/hot.py", "\n".join(lines))
    assert any(re.search(r"Reloading workflow\.\.\. \(\d+ ms\)", ln) for ln in lines)
    assert any("Executing..." in ln for ln in lines) and any("✅ Complete" in ln for ln in lines)
    assert any("Thread: w1" in ln for ln in lines)
    assert result(lines) == {"x": 1, "out": "v2"}

    # 2. add a node
    write(
        flow,
        hot(
            '"v3"',
            more='def second(state):\n    return {"extra": "added"}\n',
            wiring='builder.add_node("second", second)\n'
            'builder.add_edge(START, "first")\n'
            'builder.add_edge("first", "second")\n'
            'builder.add_edge("second", END)',
        ),
    )
    lines = w.expect("^Result: ")
    assert any("✓ second" in ln for ln in lines)
    assert result(lines) == {"x": 1, "out": "v3", "extra": "added"}

    # 3. break the syntax: the error with file and line, and no rerun
    broken = hot('"broken"').replace("def first(state):", "def first(state)")
    lineno = broken.splitlines().index("def first(state)") + 1
    write(flow, broken)
    lines = w.expect("Still running the previous version")
    text = "\n".join(lines)
    assert "Reloading workflow... failed" in text
    assert re.search(rf"❌ Workflow load error: .*hot\.py:{lineno}: syntax error", text)
    assert "Executing..." not in text

    # 4. fix it: recovery
    write(flow, hot('"fixed"'))
    assert result(w.expect("^Result: "))["out"] == "fixed"

    # 5. change the helper module it imports
    write(flow, hot("helpers.TAG"))
    assert result(w.expect("^Result: "))["out"] == "h1"
    write(helper, 'TAG = "h2"\n')
    lines = w.expect("^Result: ")
    assert any("File changed detected" in ln and "helpers.py" in ln for ln in lines)
    assert result(lines)["out"] == "h2"

    assert w.stop() == 130
    assert any("Stopped watching" in ln for ln in w.rest())
    runs = json_of(lgp, project, "runs", "--thread", "w1")
    assert len(runs) == 6 and {r["status"] for r in runs} == {"completed"}
    history = [c["checkpoint_id"] for c in json_of(lgp, project, "history", "w1")]
    assert set(first_checkpoints) < set(history)  # nothing from before the edits is lost


def test_watch_json_emits_reload_events(project: Path, watches) -> None:
    flow = project / "workflows" / "hot.py"
    write(project / "workflows" / "helpers.py", 'TAG = "h1"\n')
    write(flow, hot())
    w = Watch(project, "workflows/hot.py", "--json")
    watches.append(w)
    first = [json.loads(ln) for ln in w.expect('"type": ?"run.completed"')]
    thread = first[0]["thread_id"]
    w.process.wait_for(lambda: any("Watching:" in ln for ln in w.err), TIMEOUT, "Watching:")
    assert any("Hot reload: ON" in ln for ln in w.err)

    write(flow, hot('"json"'))
    events = [json.loads(ln) for ln in w.expect('"type": ?"run.completed"')]
    types = [e["type"] for e in events]
    assert types[:3] == ["reload.started", "reload.succeeded", "run.started"]
    started, succeeded = events[0], events[1]
    assert started["data"]["changed"] == [str(flow.resolve())]
    assert started["data"]["detected_at"] <= succeeded["ts"] <= events[2]["ts"]
    assert succeeded["data"]["load_ms"] >= 0
    assert events[-1]["data"]["output"]["out"] == "json"
    assert {e["thread_id"] for e in events[2:]} == {thread}

    write(flow, "this is not python\n")
    (failed,) = [json.loads(ln) for ln in w.expect('"type": ?"reload.failed"')][-1:]
    assert failed["data"]["file"] == str(flow.resolve()) and failed["data"]["line"] == 1
    assert w.stop() == 130


def test_watch_does_not_rerun_a_thread_waiting_at_an_interrupt(project: Path, lgp, watches) -> None:
    flow = project / "workflows" / "hot.py"
    write(project / "workflows" / "helpers.py", 'TAG = "h1"\n')
    write(flow, hot('"asked " + interrupt("ok?")'))
    w = Watch(project, "workflows/hot.py", "--thread", "w2")
    watches.append(w)
    lines = w.expect("Ctrl\\+C to stop")
    assert any("Interrupted" in ln for ln in lines)

    write(flow, hot('"new code got " + interrupt("ok?")'))
    lines = w.expect("Resume with: lgp resume w2 --value")
    assert any("waiting at an interrupt" in ln for ln in lines)
    assert not any("Executing..." in ln for ln in lines)
    assert w.stop() == 130

    resumed = lgp("resume", "w2", "--value", '"yes"', cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert result(resumed.stdout.splitlines())["out"] == "new code got yes"


def test_ctrl_c_during_a_rerun_cancels_it_and_exits_130(project: Path, lgp, watches) -> None:
    flow = project / "workflows" / "hot.py"
    write(project / "workflows" / "helpers.py", 'TAG = "h1"\n')
    write(flow, hot())
    w = Watch(project, "workflows/hot.py", "--thread", "w3")
    watches.append(w)
    w.expect("Ctrl\\+C to stop")
    # the rerun's node says it started, then holds at a gate that never opens
    started_file, gate = project / "first.started", project / "first.open"
    hold = (
        "import os\n\n\n"
        "def hold():\n"
        f"    open({str(started_file)!r}, 'w').close()\n"
        f"    while not os.path.exists({str(gate)!r}):\n"
        "        time.sleep(0.01)\n"
    )
    write(flow, hot('"slow"', body="hold()", more=hold))
    w.expect("Executing...")
    wait_until(started_file.exists, TIMEOUT, "the rerun's node")
    started = time.monotonic()
    assert w.stop() == 130
    assert time.monotonic() - started < TIMEOUT
    assert any("Cancelled" in ln for ln in w.rest())
    runs = json_of(lgp, project, "runs", "--thread", "w3")
    assert [r["status"] for r in runs] == ["cancelled", "completed"]


def test_a_run_that_failed_in_a_node_resumes_from_there_with_the_fix(
    project: Path, lgp, watches
) -> None:
    flow = project / "workflows" / "hot.py"
    write(project / "workflows" / "helpers.py", 'TAG = "h1"\n')
    calls = project / "first_calls.txt"
    first_body = f"open({str(calls)!r}, 'a').write('first\\n')"
    failing = 'def second(state):\n    raise ValueError("bug in second")\n'
    fixed = 'def second(state):\n    return {"extra": "fixed"}\n'
    wiring = (
        'builder.add_node("second", second)\nbuilder.add_edge(START, "first")\n'
        'builder.add_edge("first", "second")\nbuilder.add_edge("second", END)'
    )
    write(flow, hot('"v1"', body=first_body, more=failing, wiring=wiring))
    w = Watch(project, "workflows/hot.py", "--thread", "w4")
    watches.append(w)
    lines = w.expect("Ctrl\\+C to stop")
    assert any("Failed in node 'second'" in ln for ln in lines)

    write(flow, hot('"v1"', body=first_body, more=fixed, wiring=wiring))
    lines = w.expect("^Result: ")
    assert any("resuming from that checkpoint with the new code" in ln for ln in lines)
    assert any("Resuming..." in ln for ln in lines)
    assert result(lines) == {"out": "v1", "extra": "fixed"}
    assert calls.read_text().splitlines() == ["first"]  # `first` did not run again

    write(flow, hot('"v2"', body=first_body, more=fixed, wiring=wiring))
    assert result(w.expect("^Result: "))["out"] == "v2"  # completed: a plain rerun again
    assert calls.read_text().splitlines() == ["first", "first"]
    assert w.stop() == 130
    runs = json_of(lgp, project, "runs", "--thread", "w4")
    assert [r["status"] for r in runs] == ["completed", "completed", "failed"]
