"""SVG snapshots of the workbench's main screens at fixed terminal sizes.

Everything in view is deterministic: runs are replayed into the app as the real
event messages with fixed timings, and the checkpoint browser reads a real SQLite
file whose checkpoint ids were rewritten to fixed ones (ids carry their creation
time, which would otherwise show). Update after an intended change with
``pytest tests/tui --snapshot-update`` and look at the SVGs before committing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from textual.pilot import Pilot

from lgp_engine import (
    RunEvent,
    Runner,
    Settings,
    load_workflow,
    resolve_in_project,
    to_jsonable,
)
from lgp_tui.app import WorkbenchApp
from lgp_tui.messages import RunEnded, RunEventReceived
from lgp_tui.screens.checkpoint_browser import CheckpointBrowser
from lgp_tui.screens.fork_dialog import ForkDialog
from lgp_tui.screens.help_screen import HelpScreen
from lgp_tui.screens.template_gallery import TemplateGallery
from lgp_tui.screens.value_viewer import ValueViewer
from lgp_tui.widgets.run_log.run_log import RunLog
from tests.workflows import copy_workflows

from .conftest import SIZE, browse, interrupt_dialog_ready, loaded_graph, wait_until

SMALL = (80, 24)
THREAD = "snap-t"


async def loaded(app: WorkbenchApp, pilot: Pilot) -> None:
    """The workflow's graph drawn and the stores open (they open in a worker thread,
    and the status bar and the Run button change when they are: on a loaded machine
    that can come after the graph)."""
    await loaded_graph(app, pilot)
    await wait_until(pilot, lambda: app.runner is not None, what="the stores to open")
    await pilot.pause()


async def still(app: WorkbenchApp, pilot: Pilot) -> None:
    """Stop the text cursors blinking (a snapshot taken mid-blink would differ), then
    wait until the run log has taken in every event and laid itself out: on a loaded
    machine one pause was not always enough (its scrollbar differed)."""
    for screen in app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            widget.cursor_blink = False
    logs = list(app.query(RunLog))
    last = None
    for _ in range(100):
        await pilot.pause()
        now = [
            (len(log.entries), log.scroll_y, log.max_scroll_y, log.virtual_size, log.size)
            for log in logs
        ]
        if now == last:
            break
        last = now


def scene(app: WorkbenchApp, setup):
    """``run_before`` for snap_compare: ``setup``, then a still frame."""

    async def run_before(pilot: Pilot) -> None:
        await setup(pilot)
        await still(app, pilot)

    return run_before


def basic_run() -> list[RunEvent]:
    """The events of one basic_workflow run, as the engine sends them (fixed timings)."""

    def ev(seq: int, kind: str, node: str | None = None, **data: object) -> RunEvent:
        return RunEvent(
            run_id="run-1", seq=seq, type=kind, thread_id=THREAD, node=node, data=dict(data), ts=0.0
        )

    messages = ["greet: hello (run #1)"]
    return [
        ev(1, "run.started", workflow="basic_workflow", input={"input": "hello"}),
        ev(2, "node.started", "greet"),
        ev(
            3,
            "node.finished",
            "greet",
            duration_ms=1.2,
            update={"run_count": 1, "messages": messages},
        ),
        ev(4, "node.started", "analyze"),
        ev(
            5,
            "node.finished",
            "analyze",
            duration_ms=0.8,
            update={"analysis": {"word_count": 1, "char_count": 5, "uppercase": "HELLO"}},
        ),
        ev(6, "node.started", "respond"),
    ]


async def play(app: WorkbenchApp, pilot: Pilot, events: list[RunEvent], *, end: bool) -> None:
    for event in events:
        app.post_message(RunEventReceived(event))
    if end:
        app.post_message(RunEnded())
    await pilot.pause()
    await pilot.pause()


def freeze_checkpoint_ids(db: Path) -> None:
    """Rewrite checkpoint ids to fixed ones in the same order (ids embed a timestamp),
    in the checkpoints and in the runs and events that name them."""
    with closing(sqlite3.connect(db)) as conn, conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT checkpoint_id FROM checkpoints ORDER BY checkpoint_id"
            )
        ]
        for i, old in enumerate(ids, start=1):
            new = f"1f0c0000-0000-6000-8000-{i:012x}"
            conn.execute(
                "UPDATE checkpoints SET checkpoint_id = ? WHERE checkpoint_id = ?", (new, old)
            )
            conn.execute(
                "UPDATE checkpoints SET parent_checkpoint_id = ? WHERE parent_checkpoint_id = ?",
                (new, old),
            )
            conn.execute("UPDATE writes SET checkpoint_id = ? WHERE checkpoint_id = ?", (new, old))
            # and where the run store names them (a fork's lineage reads its run's start)
            conn.execute(
                "UPDATE lgp_runs SET checkpoint_id = ? WHERE checkpoint_id = ?", (new, old)
            )
            conn.execute("UPDATE lgp_events SET payload = replace(payload, ?, ?)", (old, new))


@pytest.fixture
def forked(settings: Settings) -> Settings:
    """basic_workflow run once on THREAD, then forked from its greet checkpoint."""
    workflow = load_workflow(resolve_in_project("basic_workflow", settings))
    with Runner.open(settings) as runner:
        events = list(runner.start(workflow, {"input": "hello"}, thread_id=THREAD))
        greet = next(
            e.data["checkpoint_id"]
            for e in events
            if e.type == "checkpoint" and e.data["step"] == 1
        )
        list(runner.fork(workflow, THREAD, greet, {"input": "forked"}))
    freeze_checkpoint_ids(settings.resolve(settings.checkpointer.path))
    return settings


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_initial_screen(snap_compare, settings: Settings, size: tuple[int, int]) -> None:
    app = WorkbenchApp(settings)
    assert snap_compare(
        app, terminal_size=size, run_before=scene(app, lambda pilot: loaded(app, pilot))
    )


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_run_in_progress(snap_compare, settings: Settings, size: tuple[int, int]) -> None:
    app = WorkbenchApp(settings)

    async def running(pilot: Pilot) -> None:
        await loaded(app, pilot)
        await play(app, pilot, basic_run(), end=False)

    assert snap_compare(app, terminal_size=size, run_before=scene(app, running))


def test_interrupt_dialog(snap_compare, settings: Settings) -> None:
    app = WorkbenchApp(settings, target="approval_workflow")

    async def interrupted(pilot: Pilot) -> None:
        await loaded(app, pilot)
        events = [
            RunEvent(
                run_id="run-2",
                seq=1,
                type="run.started",
                thread_id=THREAD,
                ts=0.0,
                data={"workflow": "approval_workflow", "input": {"topic": "docs"}},
            ),
            RunEvent(
                run_id="run-2",
                seq=2,
                type="interrupt",
                thread_id=THREAD,
                node="approve",
                ts=0.0,
                data={
                    "interrupts": [
                        {
                            "id": "i-1",
                            "value": {
                                "question": "Approve this draft?",
                                "draft": "Draft about docs: everything is ready to ship.",
                            },
                        }
                    ]
                },
            ),
        ]
        await play(app, pilot, events, end=True)
        await interrupt_dialog_ready(pilot, app)
        await pilot.press(*'"yes"')

    assert snap_compare(app, terminal_size=SIZE, run_before=scene(app, interrupted))


async def open_browser(app: WorkbenchApp, pilot: Pilot) -> CheckpointBrowser:
    await loaded(app, pilot)
    browser = await browse(pilot, app)
    await wait_until(pilot, lambda: browser.state is not None, what="the newest state")
    browser.query_one("#cp-history").focus()
    await pilot.pause()
    return browser


def test_checkpoint_browser_with_a_fork(snap_compare, forked: Settings) -> None:
    app = WorkbenchApp(forked)
    assert snap_compare(
        app, terminal_size=SIZE, run_before=scene(app, lambda p: open_browser(app, p))
    )


def test_fork_dialog(snap_compare, forked: Settings) -> None:
    app = WorkbenchApp(forked)

    async def forking(pilot: Pilot) -> None:
        await open_browser(app, pilot)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, ForkDialog))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=scene(app, forking))


def test_template_gallery(snap_compare, settings: Settings) -> None:
    app = WorkbenchApp(settings)

    async def gallery(pilot: Pilot) -> None:
        await loaded(app, pilot)
        await pilot.press("ctrl+t")
        await wait_until(
            pilot, lambda: isinstance(app.screen, TemplateGallery) and bool(app.screen.templates)
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=scene(app, gallery))


def test_help_screen(snap_compare, settings: Settings) -> None:
    app = WorkbenchApp(settings)

    async def help_(pilot: Pilot) -> None:
        await loaded(app, pilot)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=scene(app, help_))


def chat_run() -> list[RunEvent]:
    """A chat run's events as the engine sends them (messages as their dicts, fixed
    times): a tool call, its result, and a long answer, then the final state."""

    def ev(seq: int, kind: str, node: str | None = None, **data: object) -> RunEvent:
        return RunEvent(
            run_id="run-3", seq=seq, type=kind, thread_id=THREAD, node=node, data=data, ts=0.0
        )

    question = HumanMessage("What is 40 + 2, and why does it matter?", id="m1")
    call = AIMessage(
        "Let me add that up first.",
        id="m2",
        tool_calls=[{"name": "add", "args": {"a": 40, "b": 2}, "id": "call-1"}],
    )
    result = ToolMessage("42", tool_call_id="call-1", name="add", id="m3")
    answer = AIMessage(
        "40 + 2 = 42. It matters because 42 is, according to a well-known novel, the "
        "answer to the ultimate question of life, the universe and everything; the "
        "question itself was never found.\nAnything else?",
        id="m4",
    )
    messages = [question, call, result, answer]
    return [
        ev(1, "run.started", workflow="chat", input=to_jsonable({"messages": [question]})),
        ev(2, "node.finished", "chat", duration_ms=1.5, update=to_jsonable({"messages": [call]})),
        ev(3, "node.finished", "tool", duration_ms=0.4, update=to_jsonable({"messages": [result]})),
        ev(
            4,
            "node.finished",
            "answer",
            duration_ms=2.1,
            update=to_jsonable({"messages": [answer]}),
        ),
        ev(5, "run.completed", duration_ms=9.0, output=to_jsonable({"messages": messages})),
    ]


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_value_viewer(snap_compare, settings: Settings, size: tuple[int, int]) -> None:
    """``v`` on the completed run's entry: its output whole, the conversation by role,
    the long answer wrapped, "42" found (the current match and the others)."""
    app = WorkbenchApp(settings)

    async def viewing(pilot: Pilot) -> None:
        await loaded(app, pilot)
        await play(app, pilot, chat_run(), end=True)
        app.query_one(RunLog).focus()
        await pilot.press("end", "v")
        await wait_until(pilot, lambda: isinstance(app.screen, ValueViewer), what="the viewer")
        await pilot.pause()
        await pilot.press("4", "2", "enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=scene(app, viewing))


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC here (the store browser shows local times)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def memories(settings: Settings, utc: None) -> Settings:
    """tests/workflows/remember.py run three times (two users), the store's times
    rewritten to fixed ones (they are the clock's when written)."""
    copy_workflows(settings.project_dir / "workflows", "remember.py")
    workflow = load_workflow(resolve_in_project("workflows/remember.py", settings))
    notes = [
        {"user": "ada", "note": "I drink green tea every morning", "topic": "food"},
        {"user": "ada", "note": "My cat is called Miso and sleeps all day", "topic": "pets"},
        {"user": "bob", "note": "Bob likes jazz", "topic": "music"},
    ]
    with Runner.open(settings) as runner:
        for n, note in enumerate(notes):
            list(runner.start(workflow, note, thread_id=f"{THREAD}-{n}"))
    db = settings.resolve(settings.checkpointer.path)
    with closing(sqlite3.connect(db)) as conn, conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM store ORDER BY key")]
        for minute, key in enumerate(keys):
            when = f"2026-01-01 09:{30 + minute:02d}:00"
            conn.execute(
                "UPDATE store SET created_at = ?, updated_at = ? WHERE key = ?", (when, when, key)
            )
    return settings


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_store_browser(snap_compare, memories: Settings, size: tuple[int, int]) -> None:
    """ctrl+g: ada's namespace selected, her memories listed, the first one's value."""
    from lgp_tui.screens.store_browser import StoreBrowser

    app = WorkbenchApp(memories, target="workflows/remember.py")

    async def browsing(pilot: Pilot) -> None:
        await loaded(app, pilot)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, StoreBrowser), what="the browser")
        browser = app.screen
        assert isinstance(browser, StoreBrowser)
        await wait_until(pilot, lambda: len(browser.namespaces) == 2, what="the namespaces")
        await pilot.press("down")  # memories.ada
        await wait_until(
            pilot,
            lambda: browser.in_namespace == ("memories", "ada") and len(browser.items) == 2,
            what="ada's memories",
        )
        await pilot.press("enter")  # to the items
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=scene(app, browsing))


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_chat_view(snap_compare, chatted: Settings, size: tuple[int, int]) -> None:
    """ctrl+n on chat_review's thread, waiting at its review: the conversation by role, the
    AI message's tool call unfolded (arguments, result) and selected, the question the
    thread waits at under it."""
    from textual.widgets import Input

    from lgp_tui.screens.chat_screen import ChatScreen

    app = WorkbenchApp(chatted, target="workflows/chat_review.py")

    async def chatting(pilot: Pilot) -> None:
        await loaded(app, pilot)
        app.query_one("#thread-input", Input).value = "chat-t"
        await pilot.press("ctrl+n")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, ChatScreen) and app.screen.loaded,
            what="the chat read",
        )
        await pilot.press("up", "down", "enter")  # the AI message with the call: unfolded
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=scene(app, chatting))


def subgraph_run() -> list[RunEvent]:
    """The events of research_flow while its subgraph runs (fixed timings): plan done,
    in research search done and summarize running."""

    def ev(seq: int, kind: str, node: str | None = None, **data: object) -> RunEvent:
        return RunEvent(
            run_id="run-sub",
            seq=seq,
            type=kind,
            thread_id=THREAD,
            node=node,
            data=dict(data),
            ts=0.0,
        )

    sources = ["owls handbook", "owls survey", "owls notes"]
    return [
        ev(1, "run.started", workflow="research_flow", input={"topic": "owls"}),
        ev(2, "node.started", "plan", path=[]),
        ev(3, "node.finished", "plan", path=[], duration_ms=0.9, update={"notes": ["plan: owls"]}),
        ev(4, "node.started", "research", path=[]),
        ev(5, "node.started", "search", path=["research"]),
        ev(
            6,
            "node.finished",
            "search",
            path=["research"],
            duration_ms=1.4,
            update={"sources": sources},
        ),
        ev(7, "node.started", "summarize", path=["research"]),
    ]


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_subgraph_view(
    snap_compare, settings: Settings, tui_project: Path, size: tuple[int, int]
) -> None:
    """research_flow in the graph pane with xray on (x): the research subgraph's inner
    nodes under it, live from the run's events (search done, summarize running); a
    breakpoint before review set with b (drawn on it, and in the status bar); the log
    with the inner nodes' events indented under research."""
    copy_workflows(tui_project / "workflows", "research_flow.py")
    app = WorkbenchApp(settings, target="workflows/research_flow.py")

    async def xrayed(pilot: Pilot) -> None:
        await loaded(app, pilot)
        await play(app, pilot, subgraph_run(), end=False)
        await pilot.press("f9", "x", "end", "b")

    assert snap_compare(app, terminal_size=size, run_before=scene(app, xrayed))


def agent_run() -> list[RunEvent]:
    """A basic_workflow run whose greet node is a model agent (a reply asking for a
    tool, the tool, the answer; two calls) and whose analyze node runs a Claude Code
    session, still going: the recorded session of tests/agent_session.py up to its
    failed Bash call, with the context its replies reported (fixed timings)."""
    from tests.agent_session import session_events

    def ev(seq: int, kind: str, node: str | None = None, **data: object) -> RunEvent:
        return RunEvent(
            run_id="run-agents", seq=seq, type=kind, thread_id=THREAD, node=node,
            data=dict(data), ts=0.0,
        )  # fmt: skip

    def call(input_tokens: int, output_tokens: int, cost: float, ms: float) -> dict[str, object]:
        return {
            "input_tokens": input_tokens, "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens, "cache_read_tokens": 0,
            "cache_write_tokens": 0, "model": "gpt-4o-mini", "provider": "openai",
            "cost_usd": cost, "cost_model": "per_token", "duration_ms": ms,
        }  # fmt: skip

    calls = [call(1200, 18, 0.0001908, 410.0), call(1260, 12, 0.000196, 380.0)]
    usage = {
        "input_tokens": 2460, "output_tokens": 30, "total_tokens": 2490, "cache_read_tokens": 0,
        "cache_write_tokens": 0, "cost_usd": 0.0003868, "calls": 2, "llm_calls": calls,
    }  # fmt: skip
    delta = {"message_type": "AIMessageChunk", "path": []}
    model = [
        ev(1, "run.started", workflow="basic_workflow", input={"input": "weather in Paris?"}),
        ev(2, "node.started", "greet", path=[]),
        ev(3, "message.delta", "greet", id="m1", content="", usage=None, **delta),
        ev(
            4,
            "tool.called",
            "greet",
            path=[],
            server="weather",
            tool="get_weather",
            arguments={"city": "Paris"},
            call_id="c1",
            turn=1,
        ),
        ev(
            5,
            "tool.result",
            "greet",
            path=[],
            server="weather",
            tool="get_weather",
            call_id="c1",
            is_error=False,
            duration_ms=12.0,
            size=16,
            text="18°C, light rain",
            turn=1,
        ),
        ev(6, "message.delta", "greet", id="m2", content="It is 18°C ", usage=None, **delta),
        ev(7, "message.delta", "greet", id="m2", content="and raining.", usage=None, **delta),
        ev(
            8,
            "node.finished",
            "greet",
            path=[],
            duration_ms=850.0,
            update={"messages": ["It is 18°C and raining."]},
            usage=usage,
        ),
        ev(9, "node.started", "analyze", path=[]),
    ]
    session = []
    for index, event in enumerate(session_events("run-agents", THREAD, node="analyze")[:6]):
        data = dict(event.data)
        if event.type in ("agent.message", "agent.tool_use"):
            data["context_tokens"] = 24_000 + index * 1000
        session.append(
            RunEvent("run-agents", 10 + index, event.type, THREAD, data, "analyze", ts=0.0)
        )
    return model + session


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_agent_panel(snap_compare, settings: Settings, size: tuple[int, int]) -> None:
    """The agent panel (f10) in the source pane's place, opened by the Claude Code
    session's start: analyze's session live (the failed Bash call's result unfolded
    and selected), the agents of the run above it (greet, a model agent, done), the
    session's figures and context meter; the context meter in the status bar too."""
    app = WorkbenchApp(settings)

    async def watching(pilot: Pilot) -> None:
        from textual.widgets import OptionList

        from lgp_tui.widgets.agents.agent_panel import AgentPanel

        await loaded(app, pilot)
        await play(app, pilot, agent_run(), end=False)
        panel = app.query_one(AgentPanel)
        await wait_until(pilot, lambda: len(panel.lines) == 6, what="the session")
        listing = app.query_one("#agent-entries", OptionList)
        listing.focus()
        listing.highlighted = 5
        await pilot.press("enter")
        await wait_until(pilot, lambda: panel.lines[5].startswith("▾"), what="the unfolded result")
        log = app.query_one(RunLog)  # following: at its end once laid out
        await wait_until(pilot, lambda: log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y)
        last = None
        for _ in range(100):  # the list laid out again and scrolled to the whole entry
            await pilot.pause()
            now = (listing.scroll_y, listing.max_scroll_y, listing.virtual_size, panel.header)
            now += (log.scroll_y, log.max_scroll_y)
            if now == last:
                break
            last = now

    assert snap_compare(app, terminal_size=size, run_before=scene(app, watching))


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
def test_schema_form(
    snap_compare, settings: Settings, tui_project: Path, size: tuple[int, int]
) -> None:
    """f8 on typed_input: its input (a required question, a choice, a number with a
    default, a flag) and its runtime context as typed fields, the question filled, a
    bad number said."""
    copy_workflows(tui_project / "workflows", "typed_input.py")
    app = WorkbenchApp(settings, target="workflows/typed_input.py")

    async def filling(pilot: Pilot) -> None:
        from textual.widgets import Input

        from lgp_tui.screens.input_form import InputForm

        await loaded(app, pilot)
        app.query_one("#run-input", Input).value = "{}"
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, InputForm), what="the form")
        form = app.screen
        await wait_until(pilot, lambda: bool(form.query("#form-buttons")), what="its fields")
        form.query_one("#input-question", Input).value = "why is the sky blue?"
        form.query_one("#input-repeat", Input).value = "two"
        form.query_one("#input-question", Input).focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=scene(app, filling))
