"""messages_at: a thread's chat messages read for a chat view, on a real SQLite file.
On SQLite they are decoded from the checkpoint as their dict forms (no LangChain
object rebuilt); they must read exactly as state_at's objects do."""

from __future__ import annotations

from pathlib import Path

import pytest

from lgp_engine import (
    NotFoundError,
    Runner,
    as_message,
    load_settings,
    load_workflow,
    messages_at,
    resolve_in_project,
    state_at,
)
from tests.workflows import copy_workflows

QUESTION = {"messages": [{"role": "user", "content": "what is 40 + 2?"}]}


def test_messages_at_reads_what_state_at_reads_without_rebuilding_objects(project: Path) -> None:
    copy_workflows(project / "workflows", "chat_review.py", "tiny.py")
    settings = load_settings(project_dir=project)
    chat = load_workflow(resolve_in_project("workflows/chat_review.py", settings))
    tiny = load_workflow(resolve_in_project("workflows/tiny.py", settings))
    with Runner.open(settings) as runner:
        list(runner.start(chat, QUESTION, thread_id="chat-t"))
        list(runner.start(tiny, {"n": 1}, thread_id="tiny-t"))
        store = runner.store
        fast = messages_at(store, "chat-t")
        slow = state_at(store, "chat-t")
        assert fast.checkpoint_id == slow.checkpoint_id and fast.parent_id == slow.parent_id
        assert fast.messages is not None and all(isinstance(m, dict) for m in fast.messages)
        assert [as_message(m) for m in fast.messages] == [
            as_message(m) for m in slow.values["messages"]
        ]
        assert [as_message(m).text() for m in fast.messages] == [  # type: ignore[union-attr]
            "human: what is 40 + 2?",
            "ai: let me add → add(a=40, b=2)",
            "tool (add): 42",
            "ai: 40 + 2 = 42.⏎Anything else?",
        ]
        assert fast.next == ("review",) and fast.interrupts == slow.interrupts
        assert fast.interrupts[0]["value"]["question"] == "Send this answer?"

        # an earlier checkpoint: fewer messages; a state without the key: None
        earlier = messages_at(store, "chat-t", slow.parent_id)
        assert earlier.messages is not None and len(earlier.messages) == 3
        assert messages_at(store, "tiny-t").messages is None
        with pytest.raises(NotFoundError):
            messages_at(store, "no-such-thread")
