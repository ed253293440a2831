"""The fake OpenAI server against the real clients (``openai``, LangChain's
``ChatOpenAI``) over real sockets: what the provider layer will see from OpenAI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from tests.servers.openai_fake import FakeOpenAI

USER: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What is the weather in Paris today?"}
]
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


def client(fake: FakeOpenAI, **kw: Any) -> openai.AsyncOpenAI:
    kw.setdefault("api_key", fake.api_key)
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 10)
    return openai.AsyncOpenAI(base_url=fake.base_url, **kw)


async def stream_chunks(fake: FakeOpenAI, **kw: Any) -> list[Any]:
    async with client(fake) as c:
        stream = await c.chat.completions.create(model="gpt-4o-mini", stream=True, **kw)
        return [chunk async for chunk in stream]


# --------------------------------------------------------------------------- replies


@pytest.mark.asyncio
async def test_stream_sends_words_then_finish_then_usage(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(
        {
            "content": "Sunny and mild, 21 degrees.",
            "usage": {"prompt_tokens": 42, "completion_tokens": 9, "cached_tokens": 16},
        }
    )
    chunks = await stream_chunks(fake_openai, messages=USER, stream_options={"include_usage": True})

    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.content for c in chunks[1:] if c.choices]
    words = [d for d in deltas if d]
    assert words == ["Sunny ", "and ", "mild, ", "21 ", "degrees."]
    assert [c.choices[0].finish_reason for c in chunks[:-1]][-1] == "stop"
    assert {c.model for c in chunks} == {"gpt-4o-mini"}
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (42, 9)
    assert usage_chunk.usage.total_tokens == 51
    assert usage_chunk.usage.prompt_tokens_details is not None
    assert usage_chunk.usage.prompt_tokens_details.cached_tokens == 16

    (request,) = fake_openai.requests()
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    assert request["messages"] == USER
    assert request["authorization"] == f"Bearer {fake_openai.api_key}"
    assert request["outcome"] == "ok"
    assert request["started_at"] <= request["first_token_at"] <= time.time()
    assert fake_openai.pending() == {"responses": [], "faults": []}


@pytest.mark.asyncio
async def test_default_reply_and_usage_are_computed(fake_openai: FakeOpenAI) -> None:
    """Nothing scripted: "<model> says: <8 words>", prompt tokens = words sent,
    completion tokens = content deltas; without include_usage no usage chunk."""
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "one two three four five six seven eight nine ten"},
    ]
    async with client(fake_openai) as c:
        completion = await c.chat.completions.create(model="fake-model", messages=messages)
    reply = "fake-model says: one two three four five six seven eight"
    assert completion.object == "chat.completion"
    assert completion.model == "fake-model"
    assert completion.choices[0].message.content == reply
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (13, 10)

    chunks = await stream_chunks(fake_openai, messages=messages)
    assert all(c.choices and c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == reply.replace(
        "fake-model", "gpt-4o-mini"
    )


@pytest.mark.asyncio
async def test_streamed_tool_calls_reassemble(fake_openai: FakeOpenAI) -> None:
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}},
        {"name": "get_time", "arguments": {}},
    ]
    fake_openai.script({"tool_calls": calls})
    chunks = await stream_chunks(
        fake_openai, messages=USER, tools=[WEATHER_TOOL], stream_options={"include_usage": True}
    )

    assembled: dict[int, dict[str, Any]] = {}
    fragments: dict[int, int] = {}
    for chunk in chunks:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if call.index not in assembled:  # the first delta of a call names it
                assert call.id and call.type == "function" and call.function is not None
                assert call.function.name and call.function.arguments == ""
                assembled[call.index] = {"id": call.id, "name": call.function.name, "args": ""}
                fragments[call.index] = 0
            else:
                assert call.id is None and call.function is not None
                assert call.function.name is None
                assembled[call.index]["args"] += call.function.arguments
                fragments[call.index] += 1
    got = [
        {"name": a["name"], "arguments": json.loads(a["args"])}
        for _, a in sorted(assembled.items())
    ]
    assert got == calls
    assert len({a["id"] for a in assembled.values()}) == 2
    assert all(n >= 2 for n in fragments.values())
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert fake_openai.requests()[0]["tools"] == [WEATHER_TOOL]


@pytest.mark.asyncio
async def test_non_stream_tool_calls_and_models(fake_openai: FakeOpenAI) -> None:
    fake_openai.script({"content": None, "tool_calls": [{"name": "get_weather", "arguments": {}}]})
    async with client(fake_openai) as c:
        completion = await c.chat.completions.create(
            model="gpt-4o", messages=USER, tools=[WEATHER_TOOL]
        )
        models = await c.models.list()
    message = completion.choices[0].message
    assert message.content is None
    assert message.tool_calls is not None
    (call,) = message.tool_calls
    assert call.type == "function"
    assert (call.function.name, call.function.arguments) == ("get_weather", "{}")
    assert completion.choices[0].finish_reason == "tool_calls"
    assert "gpt-4o-mini" in [m.id for m in models.data]


@pytest.mark.asyncio
async def test_scripts_match_by_messages_and_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(
        {"content": "for the planner", "match": "plan the trip"},
        {"content": "for gpt-4o", "model": "gpt-4o"},
        {"content": "first come"},
    )

    async def ask(model: str, text: str) -> str | None:
        async with client(fake_openai) as c:
            completion = await c.chat.completions.create(
                model=model, messages=[{"role": "user", "content": text}]
            )
        return completion.choices[0].message.content

    assert await ask("gpt-4o-mini", "hello") == "first come"
    assert await ask("gpt-4o", "hello") == "for gpt-4o"
    assert await ask("gpt-4o-mini", "please plan the trip") == "for the planner"
    assert await ask("gpt-4o-mini", "hello") == "gpt-4o-mini says: hello"


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"status": 401}, openai.AuthenticationError),
        ({"status": 403}, openai.PermissionDeniedError),
        ({"status": 429, "retry_after": 3}, openai.RateLimitError),
        ({"status": 500}, openai.InternalServerError),
        ({"status": 503}, openai.InternalServerError),
        ({"status": 400, "code": "context_length_exceeded"}, openai.BadRequestError),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.asyncio
async def test_status_faults_raise_openai_errors(
    fake_openai: FakeOpenAI, spec: dict[str, Any], error: type[Exception], stream: bool
) -> None:
    fake_openai.fault(kind="status", **spec)
    with pytest.raises(error) as caught:
        if stream:
            await stream_chunks(fake_openai, messages=USER)
        else:
            async with client(fake_openai) as c:
                await c.chat.completions.create(model="gpt-4o-mini", messages=USER)
    exc = caught.value
    assert isinstance(exc, openai.APIStatusError)
    assert exc.status_code == spec["status"]
    if spec["status"] == 429:
        assert exc.response.headers["retry-after"] == "3"
    else:
        assert "retry-after" not in exc.response.headers
    if spec.get("code") == "context_length_exceeded":
        assert exc.code == "context_length_exceeded"
        assert "maximum context length" in exc.message
    assert [r["outcome"] for r in fake_openai.requests()] == [f"fault:{spec['status']}"]


@pytest.mark.asyncio
async def test_a_wrong_api_key_is_refused(fake_openai: FakeOpenAI) -> None:
    for key in ("sk-wrong", fake_openai.api_key):
        try:
            async with client(fake_openai, api_key=key) as c:
                await c.chat.completions.create(model="gpt-4o-mini", messages=USER)
        except openai.AuthenticationError as exc:
            assert exc.code == "invalid_api_key"
            assert key == "sk-wrong"
    log = fake_openai.requests()
    assert [(r["authorization"], r["outcome"]) for r in log] == [
        ("Bearer sk-wrong", "auth:401"),
        (f"Bearer {fake_openai.api_key}", "ok"),
    ]


async def stalled_call(fake: FakeOpenAI, stream: bool, timeout: float) -> None:
    """A request that the stall fault (matching "stall me") holds."""
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "stall me"}]
    async with client(fake, timeout=timeout) as c:
        if not stream:
            await c.chat.completions.create(model="gpt-4o-mini", messages=messages)
            return
        response = await c.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True
        )
        async for _ in response:  # the headers came: the wait is for a chunk
            pass


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.asyncio
async def test_a_stall_times_out(fake_openai: FakeOpenAI, stream: bool) -> None:
    fake_openai.fault(kind="stall", match="stall me")
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await stalled_call(fake_openai, stream, timeout=0.4)
    assert time.monotonic() - started >= 0.4
    assert [r["outcome"] for r in fake_openai.requests()] == ["fault:stall"]


@pytest.mark.asyncio
async def test_a_stall_blocks_no_other_request(fake_openai: FakeOpenAI) -> None:
    fake_openai.fault(kind="stall", match="stall me")
    task = asyncio.create_task(stalled_call(fake_openai, True, timeout=30))
    for _ in range(500):  # until the server holds it
        if fake_openai.requests():
            break
        await asyncio.sleep(0.01)
    async with client(fake_openai) as c:
        completion = await c.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert completion.choices[0].message.content
    assert not task.done()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert [r["outcome"] for r in fake_openai.requests()] == ["fault:stall", "ok"]


@pytest.mark.asyncio
async def test_malformed_json_raises_a_json_error(fake_openai: FakeOpenAI) -> None:
    """openai 3 does not wrap a chunk or body that is not JSON: json.JSONDecodeError
    (a ValueError) reaches the caller, after the good deltas of a stream."""
    fake_openai.fault(kind="malformed_json", times=2)
    seen: list[str] = []
    with pytest.raises(json.JSONDecodeError):
        async with client(fake_openai) as c:
            stream = await c.chat.completions.create(
                model="gpt-4o-mini", messages=USER, stream=True
            )
            async for chunk in stream:
                seen.append(chunk.choices[0].delta.content or "")
    assert "".join(seen) == "gpt-4o-mini "
    with pytest.raises(json.JSONDecodeError):
        async with client(fake_openai) as c:
            await c.chat.completions.create(model="gpt-4o-mini", messages=USER)
    log = fake_openai.requests()
    assert [r["outcome"] for r in log] == ["fault:malformed_json"] * 2
    assert log[0]["first_token_at"] is not None


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.asyncio
async def test_a_disconnect_is_a_connection_error(fake_openai: FakeOpenAI, stream: bool) -> None:
    fake_openai.fault(kind="disconnect")
    with pytest.raises(openai.APIConnectionError) as caught:
        async with client(fake_openai) as c:
            await c.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=stream)
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert [r["outcome"] for r in fake_openai.requests()] == ["fault:disconnect"]


@pytest.mark.asyncio
async def test_faults_count_down_before_scripts(fake_openai: FakeOpenAI) -> None:
    fake_openai.script({"content": "scripted"})
    fake_openai.fault(kind="status", status=500, times=2, match="flaky")

    async def ask(text: str) -> str:
        try:
            async with client(fake_openai) as c:
                completion = await c.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
                )
        except openai.InternalServerError:
            return "500"
        return completion.choices[0].message.content or ""

    assert [await ask(t) for t in ("flaky", "steady", "flaky", "flaky")] == [
        "500",
        "scripted",
        "500",
        "gpt-4o-mini says: flaky",
    ]
    assert [r["n"] for r in fake_openai.requests()] == [1, 2, 3, 4]
    assert fake_openai.pending() == {"responses": [], "faults": []}


def test_control_api_refuses_bad_specs(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(AssertionError, match="status"):
        fake_openai.fault(kind="status")  # no status
    with pytest.raises(AssertionError, match="kind"):
        fake_openai.fault(kind="explode")
    with pytest.raises(AssertionError, match="contnet"):
        fake_openai.script({"contnet": "typo"})
    assert fake_openai.pending() == {"responses": [], "faults": []}


# --------------------------------------------------------------------------- LangChain


@pytest.mark.asyncio
async def test_chat_openai_streams_usage_and_tool_calls(fake_openai: FakeOpenAI) -> None:
    llm = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=fake_openai.base_url,
        api_key=fake_openai.api_key,
        stream_usage=True,
        max_retries=0,
    )
    fake_openai.script(
        {
            "content": "It is sunny in Paris.",
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "cached_tokens": 3},
        }
    )
    total: AIMessageChunk | None = None
    count = 0
    async for chunk in llm.astream("What is the weather in Paris?"):
        total = chunk if total is None else total + chunk
        count += 1
    assert total is not None and count > 3
    assert total.content == "It is sunny in Paris."
    assert total.usage_metadata is not None
    assert total.usage_metadata["input_tokens"] == 11
    assert total.usage_metadata["output_tokens"] == 7
    assert total.usage_metadata["total_tokens"] == 18
    assert total.usage_metadata.get("input_token_details") == {"cache_read": 3}

    fake_openai.script(
        {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}]},
        {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Lyon"}}]},
    )
    with_tools = llm.bind_tools([dict(WEATHER_TOOL)])
    streamed: AIMessageChunk | None = None
    async for piece in with_tools.astream("Weather in Paris for two days?"):
        assert isinstance(piece, AIMessageChunk)
        streamed = piece if streamed is None else streamed + piece
    invoked = await with_tools.ainvoke("Weather in Lyon?")
    assert streamed is not None
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [
        ("get_weather", {"city": "Paris", "days": 2})
    ]
    assert [(c["name"], c["args"]) for c in invoked.tool_calls] == [
        ("get_weather", {"city": "Lyon"})
    ]

    log = fake_openai.requests()
    assert [r["stream"] for r in log] == [True, True, False]
    assert log[0]["stream_options"] == {"include_usage": True}
    assert log[1]["tools"][0]["function"]["name"] == "get_weather"


# --------------------------------------------------------------------------- timing


@pytest.mark.asyncio
async def test_delays_and_a_server_of_ones_own(fake_openai: FakeOpenAI) -> None:
    """--delay-ms holds back every first byte; a script's delay_ms replaces it and
    chunk_delay_ms spaces the chunks. stop() leaves no process behind."""
    fake = FakeOpenAI.start(delay_ms=250)  # no key required
    try:
        fake.script({"content": "quick", "delay_ms": 0}, {"content": "a b c", "chunk_delay_ms": 60})
        async with client(fake, api_key="anything") as c:
            for _ in range(3):
                stream = await c.chat.completions.create(
                    model="gpt-4o-mini", messages=USER, stream=True
                )
                async for _chunk in stream:
                    pass
        waits = [r["first_token_at"] - r["started_at"] for r in fake.requests()]
        assert waits[0] < 0.2
        assert waits[1] >= 0.3  # default delay, then the role chunk and 60 ms
        assert waits[2] >= 0.24  # (timers may fire a millisecond early)
        assert fake.requests()[0]["authorization"] == "Bearer anything"
    finally:
        fake.stop()
    assert fake.process.returncode is not None
    assert fake_openai.requests() == []  # the shared server saw none of it
