"""Chat messages read by role and content (``human: ...``, ``ai: ... → tool(args)``,
``tool (name): ...``), never as reprs or dict dumps: in the run log, the interrupt
dialog and the checkpoint browser. Against tests/workflows/chat_review.py and a real
SQLite file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.widgets import Input, Tree

from lgp_engine import Settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.interrupt_dialog import InterruptDialog

from .conftest import CHAT_QUESTION as QUESTION
from .conftest import SIZE, browse, fill, interrupt_dialog_ready, log_text, wait_until

CONVERSATION = [
    "human: what is 40 + 2?",
    "ai: let me add → add(a=40, b=2)",
    "tool (add): 42",
    "ai: 40 + 2 = 42.⏎Anything else?",
]
REPRS = ("HumanMessage(", "AIMessage(", "additional_kwargs", "response_metadata")


async def run_chat(app: WorkbenchApp, pilot: Any) -> None:
    """Run chat_review with QUESTION on chat-t in ``app``, until its interrupt dialog."""
    await wait_until(pilot, lambda: app.ready, what="the workflow")
    await fill(pilot, app.query_one("#run-input", Input), json.dumps(QUESTION))
    await fill(pilot, app.query_one("#thread-input", Input), "chat-t")
    await pilot.press("ctrl+r")
    await interrupt_dialog_ready(pilot, app)


def tree_nodes(tree: Tree[Any]) -> list[Any]:
    out: list[Any] = []

    def walk(node: Any) -> None:
        for child in node.children:
            out.append(child)
            walk(child)

    walk(tree.root)
    return out


def labels(tree: Tree[Any]) -> list[str]:
    return [str(node.label) for node in tree_nodes(tree)]


@pytest.mark.asyncio
async def test_a_chat_run_reads_by_role_in_the_log_and_the_interrupt_dialog(
    chat_project: Settings,
) -> None:
    app = WorkbenchApp(chat_project, target="workflows/chat_review.py")
    async with app.run_test(size=SIZE) as pilot:
        await run_chat(app, pilot)

        # the dialog: the message asked about is its text, whole, its two lines as lines
        # (as the value viewer shows values; strict JSON would show a \n)
        dialog = app.screen
        assert isinstance(dialog, InterruptDialog)
        assert dialog.pretty.splitlines() == [
            "{",
            '  "question": "Send this answer?",',
            '  "message": ai: 40 + 2 = 42.',
            "    Anything else?",
            "}",
        ]
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, InterruptDialog))

        # the log: the run's input and each node's update by role
        text = log_text(app)
        assert 'input {"messages": ["human: what is 40 + 2?"]}' in text
        assert "✓ chat (" in text and '{"messages": ["ai: let me add → add(a=40, b=2)"]}' in text
        assert '{"messages": ["tool (add): 42"]}' in text
        assert '{"messages": ["ai: 40 + 2 = 42.⏎Anything else?"]}' in text
        assert 'at review: [{"question": "Send this answer?", "message": "ai: 40 + 2' in text
        assert not any(r in text for r in REPRS), text


@pytest.mark.asyncio
async def test_the_browser_shows_messages_by_role_in_the_state_and_the_diff(
    chatted: Settings,
) -> None:
    app = WorkbenchApp(chatted)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.ready)
        browser = await browse(pilot, app)
        tree = browser.query_one("#cp-state", Tree)
        await wait_until(
            pilot, lambda: "messages [4]" in labels(tree), what="the newest state's messages"
        )
        shown = labels(tree)
        at = shown.index("messages [4]")
        assert shown[at + 1 : at + 5] == [f"[{i}]: {line}" for i, line in enumerate(CONVERSATION)]
        assert "message: ai: 40 + 2 = 42.⏎Anything else?" in shown  # in the interrupt
        assert not any(r in label for label in shown for r in REPRS)
        assert browser.diff_lines == ["+ messages: +1 ai: 40 + 2 = 42.⏎Anything else?"]
