"""Tests for lgp_engine.timetravel: state diffs, the history tree and state at a checkpoint.

The diff and tree functions are checked on hand-made values; ``state_at`` and the
tree of a real thread (a run, a replay and a fork) on a SQLite checkpoint file
written by the :class:`Runner`.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lgp_engine.checkpointing import CheckpointInfo
from lgp_engine.config import Settings
from lgp_engine.errors import NotFoundError
from lgp_engine.loader import LoadedWorkflow, load_workflow, resolve_target
from lgp_engine.runner import Runner
from lgp_engine.timetravel import (
    Change,
    diff_checkpoints,
    diff_values,
    flatten_tree,
    history_tree,
    state_at,
)

# --------------------------------------------------------------------------- diff_values


def kinds(changes: list[Change]) -> dict[str, tuple[str, Any, Any]]:
    return {c.path: (c.kind, c.before, c.after) for c in changes}


def test_identical_values_have_no_changes() -> None:
    value = {"a": {"b": [1, {"c": None}], "d": "x"}, "e": [], "f": 1.5, "g": True}
    assert diff_values(value, value) == []
    assert diff_values(value, {**value}) == []
    assert diff_values({}, {}) == []
    assert diff_values([1, 2], [1, 2]) == []


def test_added_removed_and_changed_top_level_keys() -> None:
    changes = diff_values({"keep": 1, "old": 2, "mod": 3}, {"keep": 1, "new": 4, "mod": 5})
    assert kinds(changes) == {
        "mod": ("changed", 3, 5),
        "new": ("added", None, 4),
        "old": ("removed", 2, None),
    }
    assert [c.path for c in changes] == ["mod", "new", "old"]  # sorted by key


def test_nested_dict_and_list_paths() -> None:
    before = {"a": {"b": [1, 2, 3], "c": {"d": "x"}}, "items": [{"n": 1}, {"n": 2}]}
    after = {
        "a": {"b": [1, 20, 3, 4], "c": {"d": "x", "e": True}},
        "items": [{"n": 1}, {"n": 2, "m": "new"}],
    }
    assert kinds(diff_values(before, after)) == {
        "a.b[1]": ("changed", 2, 20),
        "a.b[3]": ("added", None, 4),
        "a.c.e": ("added", None, True),
        "items[1].m": ("added", None, "new"),
    }


def test_removed_list_items_and_nested_keys() -> None:
    before = {"a": {"b": [1, 2, 3], "gone": {"deep": 1}}}
    after = {"a": {"b": [1]}}
    assert kinds(diff_values(before, after)) == {
        "a.b[1]": ("removed", 2, None),
        "a.b[2]": ("removed", 3, None),
        "a.gone": ("removed", {"deep": 1}, None),
    }


@pytest.mark.parametrize(
    ("before", "after"),
    [(1, "1"), (True, 1), (0, False), (1, 1.0), (None, 0), ("", None), ([], {}), ({"x": 1}, [1])],
    ids=[
        "int-str",
        "bool-int",
        "int-bool",
        "int-float",
        "none-int",
        "str-none",
        "list-dict",
        "dict-list",
    ],
)
def test_type_changes_count_as_changed(before: Any, after: Any) -> None:
    assert diff_values({"k": before}, {"k": after}) == [Change("changed", "k", before, after)]


def test_scalar_roots_and_path_prefix() -> None:
    assert diff_values(1, 2) == [Change("changed", "(root)", 1, 2)]
    assert diff_values({"x": 1}, {"x": 2}, "state") == [Change("changed", "state.x", 1, 2)]
    assert diff_values([1], [1, 2]) == [Change("added", "[1]", None, 2)]


def test_non_json_values_are_compared_by_their_json_form() -> None:
    stamp = dt.datetime(2024, 1, 2, 3, 4, 5)
    assert diff_values({"t": stamp, "s": {2, 1}}, {"t": stamp, "s": {1, 2}}) == []
    (change,) = diff_values({"t": stamp}, {"t": stamp + dt.timedelta(seconds=1)})
    assert (change.kind, change.path, change.before) == ("changed", "t", stamp.isoformat())


# --------------------------------------------------------------------------- history tree


def info(cid: str, parent: str | None, step: int = 0) -> CheckpointInfo:
    return CheckpointInfo(cid, parent, step, "loop", (), (), None)


def rows(infos: list[CheckpointInfo]) -> list[tuple[str, str, int]]:
    return [
        (prefix, c.checkpoint_id, depth) for prefix, c, depth in flatten_tree(history_tree(infos))
    ]


def test_straight_history_is_one_column() -> None:
    infos = [info("03", "02"), info("01", None), info("02", "01")]  # any order, e.g. newest first
    roots = history_tree(infos)
    assert [r.info.checkpoint_id for r in roots] == ["01"]
    assert rows(infos) == [("", "01", 0), ("", "02", 0), ("", "03", 0)]


def test_branches_are_drawn_with_tees_and_elbows() -> None:
    infos = [
        info("01", None),
        info("02", "01"),
        info("03", "02"),
        info("04", "03"),
        info("05", "04"),  # the original branch
        info("06", "03"),  # a replay from 03
        info("07", "03"),
        info("08", "07"),  # a fork from 03
    ]
    assert rows(list(reversed(infos))) == [
        ("", "01", 0),
        ("", "02", 0),
        ("", "03", 0),
        ("├─ ", "04", 1),
        ("│  ", "05", 1),
        ("├─ ", "06", 1),
        ("└─ ", "07", 1),
        ("   ", "08", 1),
    ]


def test_nested_branches_keep_the_outer_rail() -> None:
    infos = [
        info("01", None),
        info("02", "01"),
        info("03", "02"),
        info("04", "02"),
        info("05", "01"),
        info("06", "05"),
        info("07", "05"),
    ]
    assert rows(infos) == [
        ("", "01", 0),
        ("├─ ", "02", 1),
        ("│  ├─ ", "03", 2),
        ("│  └─ ", "04", 2),
        ("└─ ", "05", 1),
        ("   ├─ ", "06", 2),
        ("   └─ ", "07", 2),
    ]


def test_checkpoints_whose_parent_is_missing_become_roots() -> None:
    # a page of history: the parent of "05" is not in the list
    infos = [info("05", "04"), info("06", "05"), info("09", "08")]
    assert [r.info.checkpoint_id for r in history_tree(infos)] == ["05", "09"]
    assert rows(infos) == [("", "05", 0), ("", "06", 0), ("", "09", 0)]


def test_empty_history() -> None:
    assert history_tree([]) == []
    assert flatten_tree([]) == []


# --------------------------------------------------------------------------- a real thread

FLOW = """\
from typing import Annotated, Any, TypedDict
import operator

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

ASK = {ask!r}


class State(TypedDict, total=False):
    x: int
    profile: dict
    tags: Annotated[list, operator.add]
    answer: Any


def a(state):
    return {{"x": state.get("x", 0) + 1, "profile": {{"name": "ada", "langs": ["py"]}},
            "tags": ["a"]}}


def b(state):
    answer = interrupt({{"question": "ok?", "x": state["x"]}}) if ASK else None
    return {{"profile": {{"name": "ada", "langs": ["py", "rust"], "level": state["x"]}},
            "tags": ["b"], "answer": answer}}


def c(state):
    return {{"x": state["x"] * 10}}


g = StateGraph(State)
g.add_node("a", a)
g.add_node("b", b)
g.add_node("c", c)
g.add_edge(START, "a")
g.add_edge("a", "b")
g.add_edge("b", "c")
g.add_edge("c", END)
workflow = g
"""


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    with Runner.open(Settings(project_dir=tmp_path)) as r:
        yield r


def flow(tmp_path: Path, *, ask: bool = False) -> LoadedWorkflow:
    path = tmp_path / ("ask_flow.py" if ask else "flow.py")
    path.write_text(textwrap.dedent(FLOW.format(ask=ask)), encoding="utf-8")
    return load_workflow(resolve_target(str(path)))


def checkpoint_ids(events: list[Any]) -> dict[int, str]:
    """step -> checkpoint id of the root graph, from one run's events."""
    return {
        e.data["step"]: e.data["checkpoint_id"]
        for e in events
        if e.type == "checkpoint" and not e.data["path"]
    }


@pytest.fixture
def branched(runner: Runner, tmp_path: Path) -> dict[str, Any]:
    """A thread with the original run, a replay from step 1 and a fork from step 2."""
    wf = flow(tmp_path)
    original = list(runner.start(wf, {"x": 1}, thread_id="t1"))
    ids = checkpoint_ids(original)
    replay = list(runner.replay(wf, "t1", ids[1]))
    fork = list(runner.fork(wf, "t1", ids[2], {"x": 50}, as_node="b"))
    assert [e[-1].type for e in (original, replay, fork)] == ["run.completed"] * 3
    return {"ids": ids, "replay": replay, "fork": fork}


def test_tree_of_a_thread_with_a_replay_and_a_fork(
    runner: Runner, branched: dict[str, Any]
) -> None:
    history = runner.store.history("t1")
    flat = flatten_tree(history_tree(history))
    listed = [c.checkpoint_id for _, c, _ in flat]
    assert sorted(listed) == sorted(c.checkpoint_id for c in history)  # each exactly once
    assert len(listed) == len(set(listed))
    position = {cid: i for i, cid in enumerate(listed)}
    for _, c, _ in flat:  # parents come before their children
        if c.parent_id:
            assert position[c.parent_id] < position[c.checkpoint_id]
    for prefix, _c, depth in flat:
        assert re.fullmatch(r"((│  |   )*(├─ |└─ |│  |   ))?", prefix), prefix
        assert len(prefix) == 3 * depth
    ids = branched["ids"]
    # step 1 (replay) and step 2 (fork) are branch points: a tee and an elbow each
    by_id = {c.checkpoint_id: (prefix, depth) for prefix, c, depth in flat}
    children_1 = [c for c in history if c.parent_id == ids[1]]
    children_2 = [c for c in history if c.parent_id == ids[2]]
    assert len(children_1) == 2 and len(children_2) == 2
    heads = sorted(by_id[c.checkpoint_id][0][-3:] for c in children_1 + children_2)
    assert heads == sorted(["├─ ", "├─ ", "└─ ", "└─ "])
    assert by_id[ids[-1]] == ("", 0) and by_id[ids[1]] == ("", 0)
    assert max(depth for _, _, depth in flat) == 2  # the fork sits on the original branch


def test_state_at_head_and_at_a_checkpoint(runner: Runner, tmp_path: Path) -> None:
    wf = flow(tmp_path)
    events = list(runner.start(wf, {"x": 1}, thread_id="t1"))
    ids = checkpoint_ids(events)
    head = state_at(runner.store, "t1")
    assert head.checkpoint_id == ids[3]
    assert head.values == {
        "x": 20,
        "tags": ["a", "b"],
        "answer": None,
        "profile": {"name": "ada", "langs": ["py", "rust"], "level": 2},
    }
    assert (head.step, head.source, head.parent_id, head.next) == (3, "loop", ids[2], ())
    assert head.interrupts == []
    after_a = state_at(runner.store, "t1", ids[1])
    assert after_a.checkpoint_id == ids[1]
    assert after_a.values == {"x": 2, "tags": ["a"], "profile": {"name": "ada", "langs": ["py"]}}
    assert (after_a.step, after_a.parent_id, after_a.next) == (1, ids[0], ("b",))
    first = state_at(runner.store, "t1", ids[-1])
    assert (first.source, first.parent_id, first.next) == ("input", None, ("__start__",))
    assert not any(k.startswith(("__", "branch:")) for k in first.values)
    assert after_a.metadata["lgp_run_id"] == events[0].run_id


def test_state_at_unknown_checkpoint_or_thread_is_not_found(runner: Runner, tmp_path: Path) -> None:
    list(runner.start(flow(tmp_path), {"x": 1}, thread_id="t1"))
    with pytest.raises(NotFoundError, match="unknown checkpoint"):
        state_at(runner.store, "t1", "1f000000-0000-6000-8000-000000000000")
    with pytest.raises(NotFoundError, match="unknown thread"):
        state_at(runner.store, "nope")


def test_state_at_lists_interrupts_while_interrupted(runner: Runner, tmp_path: Path) -> None:
    wf = flow(tmp_path, ask=True)
    events = list(runner.start(wf, {"x": 1}, thread_id="t1"))
    stop = events[-1]
    assert stop.type == "interrupt"
    snap = state_at(runner.store, "t1")
    assert snap.interrupts == stop.data["interrupts"]
    assert snap.interrupts[0]["value"] == {"question": "ok?", "x": 2}
    assert snap.interrupts[0]["id"]
    assert snap.next == ("b",)
    list(runner.resume(wf, "t1", "fine"))
    done = state_at(runner.store, "t1")
    assert done.interrupts == [] and done.values["answer"] == "fine"
    # the checkpoint that waited still shows what it asked
    assert state_at(runner.store, "t1", snap.checkpoint_id).interrupts == snap.interrupts


def test_diff_checkpoints_of_a_thread(runner: Runner, tmp_path: Path) -> None:
    events = list(runner.start(flow(tmp_path), {"x": 1}, thread_id="t1"))
    ids = checkpoint_ids(events)
    first, second, changes = diff_checkpoints(runner.store, "t1", ids[1], ids[2])
    assert (first.checkpoint_id, second.checkpoint_id) == (ids[1], ids[2])
    assert kinds(changes) == {
        "answer": ("added", None, None),
        "profile.langs[1]": ("added", None, "rust"),
        "profile.level": ("added", None, 2),
        "tags[1]": ("added", None, "b"),
    }
    _, _, back = diff_checkpoints(runner.store, "t1", ids[3], ids[1])
    assert kinds(back)["x"] == ("changed", 20, 2)
    assert kinds(back)["profile.level"] == ("removed", 2, None)
    assert diff_checkpoints(runner.store, "t1", ids[2], ids[2])[2] == []
    with pytest.raises(NotFoundError):
        diff_checkpoints(runner.store, "t1", ids[1], "1f000000-0000-6000-8000-000000000000")
