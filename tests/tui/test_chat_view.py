"""The chat view (ctrl+n): a thread's messages as a conversation, by role, tool calls folded
under the AI message that made them; a message sent from it runs the workflow on the
thread (the log, graph and status bar follow), the model's tokens appear as they
stream, and an earlier human message edited and sent again starts a new branch.
Against real workflows (tests/workflows/chat_review.py, echo_chat.py) and a real
SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from textual.widgets import Input

from lgp_engine import (
    Runner,
    Settings,
    flatten_tree,
    history_tree,
    load_workflow,
    messages_at,
    open_checkpoints,
    resolve_in_project,
)
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.chat_screen import ChatScreen
from lgp_tui.widgets.chat.chat_log import ChatLog
from lgp_tui.widgets.status.status_bar import StatusBar
from tests.workflows import copy_workflows

from .conftest import SIZE, fill, interrupt_dialog_ready, log_text, wait_until
from .test_chat_messages import REPRS

CHAT_REVIEW = [
    "human  what is 40 + 2?",
    "ai     let me add",
    "       ▸ add(a=40, b=2) ⇒ 42",
    "ai     40 + 2 = 42.",
    "       Anything else?",
]


@pytest.fixture
def echo_project(settings: Settings, tui_project: Path) -> Settings:
    """The project with tests/workflows/echo_chat.py in its workflows/."""
    copy_workflows(tui_project / "workflows", "echo_chat.py")
    return settings


def say(settings: Settings, thread_id: str, *texts: str | list[Any]) -> None:
    """Send each of ``texts`` (a text, or a list of messages) to echo_chat on
    ``thread_id``, one run each, before the app opens."""
    workflow = load_workflow(resolve_in_project("workflows/echo_chat.py", settings))
    with Runner.open(settings) as runner:
        for text in texts:
            sent = text if isinstance(text, list) else [{"role": "user", "content": text}]
            events = list(runner.start(workflow, {"messages": sent}, thread_id=thread_id))
            assert events[-1].type == "run.completed", events[-1]


@pytest.fixture
def echo_t(echo_project: Settings) -> Settings:
    """Three exchanges with echo_chat on thread echo-t (one calls its tool)."""
    say(echo_project, "echo-t", "hello", "weather in Paris?", "thanks")
    return echo_project


@pytest.fixture
def big(echo_project: Settings) -> Settings:
    """Thread ``big``: 10,000 messages (2,499 questions answered through a tool call,
    then a few more), from one run of echo_chat."""
    messages: list[Any] = []
    for i in range(2499):
        call = {"name": "get_weather", "args": {"city": f"c{i}"}, "id": f"call-{i}"}
        messages += [
            HumanMessage(f"question {i}: the weather in c{i}?"),
            AIMessage("Let me look that up.", tool_calls=[call]),
            ToolMessage("18 °C", tool_call_id=f"call-{i}", name="get_weather"),
            AIMessage(f"It is 18 °C in c{i}."),
        ]
    messages += [HumanMessage("hi"), AIMessage("hello"), HumanMessage("bye")]
    say(echo_project, "big", messages)  # and echo_chat's answer to "bye"
    return echo_project


def shown(chat: ChatScreen) -> list[str]:
    """The conversation's rows as drawn, without the cursor's bar and blank rows."""
    return [line[1:] for line in chat.log_view.plain_lines() if line.strip()]


async def open_chat(app: WorkbenchApp, pilot: Any, thread_id: str | None = None) -> ChatScreen:
    """Wait for the app, put ``thread_id`` in the run bar, press ctrl+n and wait for the
    thread to be read."""
    await wait_until(pilot, lambda: app.ready, what="the workflow and the stores")
    if thread_id is not None:
        await fill(pilot, app.query_one("#thread-input", Input), thread_id)
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen), what="the chat view")
    chat = app.screen
    assert isinstance(chat, ChatScreen)
    await wait_until(pilot, lambda: chat.loaded, what="the thread read")
    await pilot.pause()
    return chat


async def send(pilot: Any, chat: ChatScreen, text: str) -> None:
    await fill(pilot, chat.query_one("#chat-input", Input), text)
    await pilot.press("enter")


def checkpoints(settings: Settings, thread_id: str) -> int:
    with open_checkpoints(settings) as store:
        return store.thread(thread_id).checkpoints


@pytest.mark.asyncio
async def test_the_chat_shows_a_thread_by_role_and_unfolds_tool_calls(chatted: Settings) -> None:
    app = WorkbenchApp(chatted, target="workflows/chat_review.py")
    async with app.run_test(size=SIZE) as pilot:
        chat = await open_chat(app, pilot, "chat-t")
        assert shown(chat) == CHAT_REVIEW
        assert not any(r in line for line in shown(chat) for r in REPRS)
        assert chat.log_view.border_title == "Chat · chat_review · thread chat-t"
        assert chat.log_view.border_subtitle == "4 messages"  # the tool's, under its call
        assert chat.status.startswith("⏸ Thread chat-t waits at review: Send this answer?")

        # up from the box: the newest human message; down to the call; enter unfolds it
        await pilot.press("up")
        log = chat.log_view
        assert log.has_focus and log.current_turn() is log.turns[0]
        await pilot.press("down", "enter")
        assert shown(chat)[1:7] == [
            "ai     let me add",
            "       ▾ add",
            "           a: 40",
            "           b: 2",
            "         ⇒ 42",
            "ai     40 + 2 = 42.",
        ]
        await pilot.press("enter")  # and folds it again
        assert shown(chat) == CHAT_REVIEW

        # v reads the message whole, its tool result with it
        await pilot.press("v")
        from lgp_tui.screens.value_viewer import ValueViewer

        await wait_until(pilot, lambda: isinstance(app.screen, ValueViewer), what="the viewer")
        viewer = app.screen
        assert isinstance(viewer, ValueViewer)
        assert viewer.text.splitlines() == [
            "[",
            "  ai: let me add",
            "    → add(a=40, b=2)",
            "  tool (add): 42",
            "]",
        ]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is chat)


@pytest.mark.asyncio
async def test_a_thread_waiting_at_an_interrupt_is_answered_not_sent_a_message(
    chatted: Settings,
) -> None:
    before = checkpoints(chatted, "chat-t")
    app = WorkbenchApp(chatted, target="workflows/chat_review.py")
    async with app.run_test(size=SIZE) as pilot:
        chat = await open_chat(app, pilot, "chat-t")
        await send(pilot, chat, "and 2 + 2?")
        await interrupt_dialog_ready(pilot, app)  # the answer is asked for instead
        assert chat.status == (
            "⏸ Not sent: thread chat-t waits at review: Send this answer? · f6 answers it"
        )
        assert app._job is None and "run.started" not in log_text(app)
        assert chat.query_one("#chat-input", Input).value == "and 2 + 2?"  # kept
        assert checkpoints(chatted, "chat-t") == before

        # answered: the thread goes on (the review node ends it), then is read again
        await pilot.press(*'"yes"', "enter")
        await wait_until(pilot, lambda: app.screen is chat, what="the dialog closed")
        await wait_until(pilot, lambda: chat.status == "✓ run completed", what="the run's end")
        await wait_until(pilot, lambda: not chat.running and not chat.waiting)
        assert app.query_one(StatusBar).status == "completed"
        assert shown(chat) == CHAT_REVIEW
        assert checkpoints(chatted, "chat-t") > before


@pytest.mark.asyncio
async def test_a_message_sent_from_the_chat_streams_in_and_runs_as_the_run_bar_does(
    echo_project: Settings, tui_project: Path
) -> None:
    hold = tui_project / "workflows" / "echo_chat.hold"
    app = WorkbenchApp(echo_project, target="workflows/echo_chat.py")
    async with app.run_test(size=SIZE) as pilot:
        chat = await open_chat(app, pilot)  # no thread in the run bar: a new conversation
        assert chat.thread_id is None and shown(chat) == []
        assert chat.log_view.border_title == "Chat · echo_chat · new thread"

        hold.touch()  # the model stops after its first word until the test has looked
        try:
            await send(pilot, chat, "hello there")
            await wait_until(
                pilot,
                lambda: shown(chat) == ["human  hello there", "ai     You ▍"],
                what="the first token, streaming",
            )
            assert chat.query_one("#chat-input", Input).value == ""
            assert chat.status == "● chat is writing…"
            assert chat.thread_id is not None  # the run's new thread
            assert app.query_one(StatusBar).status == "running"  # the app's run, as ctrl+r's
        finally:
            hold.unlink()
        await wait_until(pilot, lambda: not chat.running and chat.loaded and chat.head is not None)
        await wait_until(pilot, lambda: shown(chat)[-1] == "ai     You said: hello there")
        assert shown(chat) == ["human  hello there", "ai     You said: hello there"]
        assert 'input {"messages": ["human: hello there"]}' in log_text(app)
        thread_id = chat.thread_id

        # a tool call: it shows folded with its result under the message that made it
        await send(pilot, chat, "weather in Oslo?")
        await wait_until(pilot, lambda: not chat.running and len(chat.messages) == 6)
        await wait_until(pilot, lambda: len(shown(chat)) == 6)
        assert shown(chat)[2:] == [
            "human  weather in Oslo?",
            "ai     Let me look that up.",
            '       ▸ get_weather(city="Oslo") ⇒ 4 °C and raining',
            "ai     The weather there: 4 °C and raining.",
        ]

        # closing the chat leaves the run bar on its thread
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChatScreen))
        assert app.query_one("#thread-input", Input).value == thread_id

    with open_checkpoints(echo_project) as store:
        assert thread_id is not None
        stored = messages_at(store, thread_id).messages or []
    assert [(m["type"], m["content"]) for m in stored] == [
        ("human", "hello there"),
        ("ai", "You said: hello there"),
        ("human", "weather in Oslo?"),
        ("ai", "Let me look that up."),
        ("tool", "4 °C and raining"),
        ("ai", "The weather there: 4 °C and raining."),
    ]


@pytest.mark.asyncio
async def test_an_earlier_message_edited_and_resent_starts_a_new_branch(
    echo_t: Settings,
) -> None:
    with open_checkpoints(echo_t) as store:
        old_head = messages_at(store, "echo-t").checkpoint_id
    app = WorkbenchApp(echo_t, target="workflows/echo_chat.py")
    async with app.run_test(size=SIZE) as pilot:
        chat = await open_chat(app, pilot, "echo-t")
        assert len(shown(chat)) == 8

        # up: the newest human message ("thanks"); three turns up: "weather in Paris?"
        await pilot.press("up", "up", "up", "up")
        assert chat.log_view.current_turn().view.content == "weather in Paris?"  # type: ignore[union-attr]
        await pilot.press("e")
        box = chat.query_one("#chat-input", Input)
        assert box.has_focus and box.value == "weather in Paris?"
        assert box.border_title == (
            "Edit message 3 · enter resends it as a new branch · esc: don't"
        )
        await fill(pilot, box, "weather in Lima?")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Lima?" in str(chat.messages), what="the new branch")
        await wait_until(pilot, lambda: len(shown(chat)) == 6 and not chat.running)
        assert shown(chat) == [
            "human  hello",
            "ai     You said: hello",
            "human  weather in Lima?",
            "ai     Let me look that up.",
            '       ▸ get_weather(city="Lima") ⇒ 22 °C, clouds',
            "ai     The weather there: 22 °C, clouds.",
        ]
        assert box.value == "" and box.border_title == "Message"

        # the first message too: the branch grows from the thread's first checkpoint
        await pilot.press("up", "home")
        assert chat.log_view.current_turn().index == 0  # type: ignore[union-attr]
        await pilot.press("e")
        await fill(pilot, box, "hi again")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(chat.messages) == 2, what="the second new branch")
        await wait_until(pilot, lambda: len(shown(chat)) == 2 and not chat.running)
        assert shown(chat) == ["human  hi again", "ai     You said: hi again"]

    # the old conversation is still in the thread's history, a branch beside the new ones
    with open_checkpoints(echo_t) as store:
        rows = flatten_tree(history_tree(store.history("echo-t", limit=1000)))
        old = messages_at(store, "echo-t", old_head).messages or []
    assert sum(1 for prefix, _info, _depth in rows if "─" in prefix) >= 3  # three branches
    assert [m["content"] for m in old if m["type"] == "human"] == [
        "hello",
        "weather in Paris?",
        "thanks",
    ]


@pytest.mark.asyncio
async def test_esc_while_editing_stops_editing_and_a_non_human_message_is_not_edited(
    echo_t: Settings,
) -> None:
    app = WorkbenchApp(echo_t, target="workflows/echo_chat.py")
    async with app.run_test(size=SIZE) as pilot:
        chat = await open_chat(app, pilot, "echo-t")
        await pilot.press("up", "down", "e")  # the AI's answer
        assert chat.editing is None
        assert chat.status == "Only a human message of the thread can be edited and sent again."
        await pilot.press("up", "e")
        assert chat.editing is not None
        await pilot.press("escape")  # stops editing; the chat stays open
        assert chat.editing is None and app.screen is chat
        assert chat.query_one("#chat-input", Input).value == ""
        await pilot.press("escape")  # now closes it
        await wait_until(pilot, lambda: not isinstance(app.screen, ChatScreen))


@pytest.mark.asyncio
async def test_ctrl_n_is_for_workflows_whose_state_has_messages(settings: Settings) -> None:
    app = WorkbenchApp(settings, target="workflows/basic_workflow.py")
    copy_workflows(settings.project_dir / "workflows", "tiny.py")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        assert "ctrl+n" in app.screen.active_bindings  # basic_workflow has a messages list
        app.load("workflows/tiny.py")
        await wait_until(pilot, lambda: app.workflow is not None and app.workflow.name == "tiny")
        await pilot.pause()
        assert "ctrl+n" not in app.screen.active_bindings
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not isinstance(app.screen, ChatScreen)


@pytest.mark.asyncio
async def test_a_10000_message_thread_draws_only_the_rows_in_view(big: Settings) -> None:
    """The conversation is laid out whole (every turn has its rows, the scrollbar is
    right) but only the rows in view are ever drawn."""
    app = WorkbenchApp(big, target="workflows/echo_chat.py")
    async with app.run_test(size=SIZE) as pilot:
        chat = await open_chat(app, pilot, "big")
        log = chat.query_one(ChatLog)
        assert len(chat.messages) == 10_000
        assert len(log.turns) == 7501  # the tool results are under their calls
        assert log.border_subtitle == "10,000 messages"
        height = log.scrollable_content_region.height
        rows = log.virtual_size.height
        # each exchange: a blank row, the question, the call (its result on its line), the answer
        assert rows == 2499 * 5 + 5 and log.scroll_y == log.max_scroll_y
        assert 0 < len(log._drawn) <= 2 * height  # the rows in view (as it opened, and at the end)
        assert log.plain_lines(rows - 1) == [" ai     You said: bye"]

        await pilot.press("up", "home")
        await pilot.pause()
        assert log.scroll_y == 0 and 0 < len(log._drawn) <= 2 * height
        assert log.plain_lines(0, 1) == ["▌human  question 0: the weather in c0?"]
