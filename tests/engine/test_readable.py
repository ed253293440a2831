"""Chat messages read by role and content in every shape they reach a front end in,
and ``lgp run``/``lgp state`` on a chat workflow showing them so."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.load import dumpd
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)

from lgp_engine import as_message, inline, message_text, pretty, readable, to_jsonable
from tests.workflows import copy_workflows

CALL = AIMessage(
    content="let me add", tool_calls=[{"name": "add", "args": {"a": 40, "b": 2}, "id": "c1"}]
)


def test_each_kind_of_message_reads_as_role_and_content() -> None:
    cases = [
        (HumanMessage("what is 40 + 2?"), "human: what is 40 + 2?"),
        (CALL, "ai: let me add → add(a=40, b=2)"),
        (ToolMessage("42", tool_call_id="c1", name="add"), "tool (add): 42"),
        (
            ToolMessage("boom", tool_call_id="c1", name="add", status="error"),
            "tool (add) error: boom",
        ),
        (ToolMessage("42", tool_call_id="c1"), "tool: 42"),
        (SystemMessage("be brief"), "system: be brief"),
        (AIMessageChunk(content="hel"), "ai: hel"),
        (AIMessage("", name="researcher"), "ai (researcher): (empty)"),
        (ChatMessage(role="critic", content="fine"), "critic: fine"),
        (RemoveMessage(id="m1"), "remove: m1"),
        (
            SystemMessage([{"type": "text", "text": "look"}, {"type": "image_url", "url": "x"}]),
            "system: look⏎[image]",
        ),
    ]
    for message, expected in cases:
        assert message_text(message) == expected, message
        # as events and the API carry it (its dict), and as LangChain serializes it
        assert message_text(to_jsonable(message)) == expected, message
        assert message_text(dumpd(message)) == expected, message


def test_input_shapes_and_openai_tool_calls_read_the_same() -> None:
    assert message_text({"role": "user", "content": "hey"}) == "human: hey"
    assert message_text({"type": "human", "content": "hey"}) == "human: hey"
    openai_call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "x", "type": "function", "function": {"name": "f", "arguments": '{"q": "w"}'}}
        ],
    }
    assert message_text(openai_call) == 'ai: → f(q="w")'


def test_dicts_that_are_not_messages_stay_dicts() -> None:
    for value in (
        {"type": "human", "content": "x", "score": 3},  # a key no message has
        {"content": "x"},
        {"role": "user"},
        {"lc": 1, "type": "constructor", "id": ["x", "Thing"], "kwargs": {}},
        "human: hi",
        3,
    ):
        assert as_message(value) is None, value
    assert inline({"type": "human", "content": "x", "score": 3}) == (
        '{"type": "human", "content": "x", "score": 3}'
    )


def test_long_text_and_arguments_fit_one_line_but_read_whole_in_pretty() -> None:
    long = AIMessage(
        content="first line\nsecond line",
        tool_calls=[{"name": "search", "args": {"q": "x" * 200}, "id": "c2"}],
    )
    one = message_text(long)
    assert one is not None
    assert one.startswith('ai: first line⏎second line → search(q="xxx')
    assert one.endswith("…)")
    assert "\n" not in one
    whole = message_text(long, one_line=False)
    assert whole == f'ai: first line\nsecond line\n→ search(q="{"x" * 200}")'


def test_values_holding_messages() -> None:
    state = {"n": 1, "messages": [HumanMessage("hi"), CALL, ToolMessage("42", tool_call_id="c1")]}
    assert readable(state) == {
        "n": 1,
        "messages": ["human: hi", "ai: let me add → add(a=40, b=2)", "tool: 42"],
    }
    assert json.loads(inline(to_jsonable(state))) == readable(state)
    assert inline(HumanMessage("hi")) == "human: hi"  # alone: not a JSON string
    assert inline({"long": "x" * 50}, 20) == '{"long": "xxxxxxxxx…'


def test_pretty_is_indented_json_with_messages_and_text_blocks_as_read() -> None:
    state = {
        "messages": [HumanMessage("hi"), AIMessage("two\nlines"), CALL],
        "answer": "line 1\nline 2",
        "empty": {},
        "items": [1, {"b": None}],
    }
    assert pretty(state).splitlines() == [
        "{",
        '  "messages": [',
        "    human: hi",
        "    ai: two",
        "      lines",
        "    ai: let me add",
        "      → add(a=40, b=2)",
        "  ],",
        '  "answer": """',
        "    line 1",
        "    line 2",
        '    """,',
        '  "empty": {},',
        '  "items": [',
        "    1,",
        "    {",
        '      "b": null',
        "    }",
        "  ]",
        "}",
    ]
    assert pretty(to_jsonable(state)) == pretty(state)
    assert pretty("plain") == '"plain"'


def test_lgp_run_and_state_show_messages_by_role(project: Path, lgp) -> None:
    copy_workflows(project / "workflows", "customs.py")
    given = json.dumps({"n": 1, "messages": [{"role": "user", "content": "hey"}]})
    ran = lgp("run", "workflows/customs.py", "--input", given, "--thread", "m1", cwd=project)
    assert ran.returncode == 0, ran.stderr
    (result,) = [ln for ln in ran.stdout.splitlines() if ln.startswith("Result: ")]
    assert json.loads(result.removeprefix("Result: ")) == {
        "n": 1,
        "sent": 1,
        "messages": ["human: hey", "ai: hello there friend"],
    }
    state = lgp("state", "m1", cwd=project)
    assert state.returncode == 0, state.stderr
    assert "    human: hey\n    ai: hello there friend\n" in state.stdout
    assert "HumanMessage" not in state.stdout and "additional_kwargs" not in state.stdout
