"""describe_diff: differences between two states as a person reads them."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from lgp_engine import describe_diff

CALL = {"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}


def texts(before: object, after: object, limit: int = 300) -> list[str]:
    return [line.text for line in describe_diff(before, after, limit)]


def test_messages_one_line_each_by_role_with_tool_names_and_sizes() -> None:
    before = {"messages": [HumanMessage("weather?", id="h1")]}
    after = {
        "messages": [
            HumanMessage("weather?", id="h1"),
            AIMessage("", tool_calls=[CALL], id="a1"),
            ToolMessage("x" * 1600, tool_call_id="c1", name="get_weather", id="t1"),
        ]
    }
    lines = texts(before, after, limit=60)
    assert lines[0] == '+ messages: +1 ai → get_weather(city="Paris")'
    assert lines[1].startswith("+ messages: +1 tool (get_weather, 1.6 kB): xxx")
    assert len(lines[1]) <= len("+ messages: +1 ") + 60
    # and the other way round: removed
    assert texts(after, before)[0] == '- messages: -1 ai → get_weather(city="Paris")'
    # a message dict of any shape reads the same
    assert texts({"messages": []}, {"messages": [{"role": "user", "content": "hi"}]}) == [
        "+ messages: +1 human: hi"
    ]


def test_a_changed_message_is_its_text_before_and_after() -> None:
    before = {"messages": [HumanMessage("what is 2+2?", id="h1")]}
    after = {"messages": [HumanMessage("what is 3+3?", id="h1")]}
    lines = describe_diff(before, after)
    assert [(line.kind, line.path, line.text) for line in lines] == [
        ("changed", "messages[0]", "~ messages[0]: human: what is 2+2? → human: what is 3+3?")
    ]


def test_other_values_by_path() -> None:
    before = {"n": 1, "profile": {"langs": ["py"]}, "gone": True, "words": ["a", "b"]}
    after = {"n": 2, "profile": {"langs": ["py", "rust"]}, "new": {"x": 1}, "words": ["a", "b"]}
    assert texts(before, after) == [
        "- gone: true",
        "~ n: 1 → 2",
        '+ new: {"x": 1}',
        '+ profile.langs[1]: "rust"',
    ]
    assert texts({"a": 1}, {"a": 1}) == []
    assert texts(None, {"a": 1}) == ["+ a: 1"]  # a first checkpoint: all new
