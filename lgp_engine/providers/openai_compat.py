"""Models behind OpenAI's Chat Completions API: OpenAI, Ollama, vLLM and any
compatible endpoint, as LangChain ``ChatOpenAI`` models.

Why ``langchain-openai`` for all of them (Ollama included, through its ``/v1``
endpoint) rather than ``langchain-ollama``: one code path and one wire protocol to
test; Ollama's OpenAI endpoint streams, reports usage with
``stream_options.include_usage`` and calls tools. And because the model is a
LangChain chat model called with the node's config, its tokens reach LangGraph's
``messages`` stream (``message.delta`` events, the API's ``messages`` mode) exactly
as a hand-written node's would.

One call = one attempt loop: retries with exponential backoff and full jitter for
429 (honouring ``Retry-After``), 5xx, timeouts and lost connections, at most
``max_retries`` more times; every other failure ends at once. Failures become a
:class:`ProviderError` of a canonical kind with a message naming the endpoint and
what to do.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import weakref
from collections.abc import Mapping
from typing import Any

from .base import LLMProvider, ProviderError, Usage
from .repair import OutputSchema, repair_prompt
from .replay import RECORDED_USAGE, RECORDING, model_request, where
from .runtime import Binding, Endpoint, RunScope
from .tools import ToolBox

RETRYABLE = frozenset({"rate_limit", "unavailable", "timeout", "malformed_output"})
BACKOFF_BASE_S = 0.5
LABELS = {"openai": "OpenAI", "ollama": "Ollama", "vllm": "vLLM"}

# One model client per event loop and settings: an HTTP connection pool belongs to
# the loop that opened it (the CLI runs each run on its own loop, the server on one).
_MODELS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Any]] = (
    weakref.WeakKeyDictionary()
)


def chat_model(endpoint: Endpoint, binding: Binding) -> Any:
    """The ``ChatOpenAI`` for ``endpoint`` on the running loop (made once per loop)."""
    import openai
    from langchain_openai import ChatOpenAI

    timeout = binding.timeout_s or endpoint.settings.timeout_s
    key = (endpoint.label, endpoint.settings, timeout, binding.temperature, binding.max_tokens)
    models = _MODELS.setdefault(asyncio.get_running_loop(), {})
    model = models.get(key)
    if model is None:
        secret = endpoint.settings.api_key
        api_key = secret.get_secret_value() if secret is not None else ""
        options: dict[str, Any] = {}
        if binding.temperature is not None:
            options["temperature"] = binding.temperature
        if binding.max_tokens is not None:
            options["max_tokens"] = binding.max_tokens
        model = ChatOpenAI(
            model=endpoint.model,
            base_url=endpoint.base_url,
            api_key=api_key or "not-needed",  # local servers take any key; the client wants one
            streaming=True,
            stream_usage=True,
            max_retries=0,  # our own loop retries: it knows Retry-After and the budget
            timeout=timeout,
            http_async_client=openai.DefaultAsyncHttpxClient(timeout=timeout),
            **options,
        )
        models[key] = model
    return model


class OpenAICompatProvider(LLMProvider):
    """Carries out an agent role's task on one Chat Completions endpoint: the
    tool-calling loop, output-schema repair, usage and budget."""

    def __init__(
        self,
        binding: Binding,
        endpoint: Endpoint,
        scope: RunScope,
        *,
        system_prompt: str | None = None,
        output_schema: OutputSchema | None = None,
        tools: ToolBox | None = None,
        keep_messages: bool = False,
    ) -> None:
        self.binding = binding
        self.endpoint = endpoint
        self.scope = scope
        self.system_prompt = system_prompt
        self.output_schema = output_schema
        self.tools = tools
        self.keep_messages = keep_messages

    def get_provider_name(self) -> str:
        return self.endpoint.provider

    def get_cost_estimate(self, input_tokens: int, output_tokens: int) -> float:
        if self.endpoint.local:
            return 0.0
        return (
            self.scope.runtime.prices.cost(self.endpoint.model, input_tokens, output_tokens) or 0.0
        )

    async def execute_task(
        self, task: str, state: dict[str, Any], config: dict[str, Any]
    ) -> dict[str, Any]:
        from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

        role = self.binding.role
        system = self.system_prompt or ""
        if self.output_schema is not None:
            system = f"{system}\n\n{self.output_schema.instructions()}".strip()
        messages: list[Any] = [SystemMessage(system)] if system else []
        messages.append(HumanMessage(task))
        first = len(messages) - 1  # the exchange kept in state starts at the task
        model = chat_model(self.endpoint, self.binding)
        if self.output_schema is not None and self.endpoint.settings.structured_output:
            # the endpoint's own JSON-schema mode, where configured; the answer is
            # still checked (and repaired) like any other
            response_format = {
                "type": "json_schema",
                "json_schema": {
                    "name": _schema_name(self.output_schema.name),
                    "schema": self.output_schema.json_schema,
                },
            }
            model = model.bind(response_format=response_format)
        specs = self.tools.specs if self.tools else []
        bound = model.bind_tools(specs) if specs else model
        reply = await self._call(bound, messages, config)
        iterations = 0
        while reply.tool_calls and self.tools is not None:
            if iterations >= self.binding.max_tool_iterations:
                messages.append(reply)
                messages += [
                    ToolMessage(
                        "Error: the tool-call limit of this agent is reached; answer now "
                        "with what you have.",
                        tool_call_id=c.get("id") or "",
                    )
                    for c in reply.tool_calls
                ]
                reply = await self._call(model, messages, config)  # no tools on offer
                break
            iterations += 1
            messages.append(reply)
            for call in reply.tool_calls:
                text, is_error = await self.tools.call(call, config, turn=iterations)
                status = "error" if is_error else "success"
                messages.append(ToolMessage(text, tool_call_id=call.get("id") or "", status=status))
            reply = await self._call(bound, messages, config)
        messages.append(reply)
        answer: Any = _text(reply)
        if self.output_schema is not None:
            answer = await self._validated(model, messages, answer, config)
        update: dict[str, Any] = {f"{role}_output": answer}
        if self.keep_messages:
            update["messages"] = [self._safe_message(m) for m in messages[first:]]
        return update

    async def _validated(
        self, model: Any, messages: list[Any], text: str, config: dict[str, Any]
    ) -> Any:
        from langchain_core.messages import HumanMessage

        assert self.output_schema is not None
        for attempt in range(self.binding.max_repairs + 1):
            value, errors = self.output_schema.check(text)
            if not errors:
                return value
            if attempt == self.binding.max_repairs:
                break
            self.scope.report(
                "agent.repair",
                {"attempt": attempt + 1, "errors": errors, "schema": self.output_schema.name},
                config,
            )
            messages.append(HumanMessage(repair_prompt(errors)))
            reply = await self._call(model, messages, config)
            messages.append(reply)
            text = _text(reply)
        raise ProviderError(
            "malformed_output",
            f"{self.binding.role!r} did not give a valid {self.output_schema.name} after "
            f"{self.binding.max_repairs} repair attempt(s): {'; '.join(errors[:3])}",
            provider=self.endpoint.provider,
            model=self.endpoint.model,
            role=self.binding.role,
            hint=f"make the prompt clearer, or raise agents.{self.binding.role}.max_repairs",
            errors=errors,
        )

    def _safe_message(self, message: Any) -> Any:
        """A message for the state (checkpoints): tool arguments redacted."""
        calls = getattr(message, "tool_calls", None)
        if not calls:
            return message
        redact = self.scope.redact
        safe = [{**c, "args": redact(c.get("args") or {})} for c in calls]
        return message.model_copy(
            update={"tool_calls": safe, "additional_kwargs": {}, "invalid_tool_calls": []}
        )

    async def _call(self, model: Any, messages: list[Any], config: dict[str, Any]) -> Any:
        """One model call with retries; records its usage, and the call (see
        :mod:`.replay`); returns the AI message. In a recorded replay the recording
        answers it (no request is sent, nothing is spent)."""
        ep = self.endpoint
        settings = ep.settings
        options = {"temperature": self.binding.temperature, "max_tokens": self.binding.max_tokens}
        bound = getattr(model, "kwargs", None)
        request = model_request(
            ep.model, messages, bound if isinstance(bound, dict) else {}, options, self.scope.redact
        )
        if self.scope.replay is not None:
            node, path = where(config)
            found = self.scope.replay.model(node, path, request)
            if found is not None:
                return self._replayed(found, request, config)
        timeout = self.binding.timeout_s or settings.timeout_s
        estimate = self.get_cost_estimate(_rough_tokens(messages), 0)
        self.scope.check_budget(estimate, role=self.binding.role, endpoint=ep)
        call_config = _tagged(config, self.binding.role, ep)
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    reply = await model.ainvoke(messages, call_config)
            except Exception as exc:
                kind, retry_after, detail = classify(exc)
                detail = self.scope.redact.text(detail)  # servers echo keys in errors
                if kind in RETRYABLE and attempt <= settings.max_retries:
                    await asyncio.sleep(backoff(attempt, retry_after, settings.max_backoff_s))
                    continue
                raise self._error(kind, detail, attempt, timeout) from exc
            break
        duration = round((time.perf_counter() - started) * 1000, 3)
        usage = self.scope.runtime.prices.price_usage(
            usage_of(reply, ep, duration, attempt), local=ep.local
        )
        self.scope.record(usage, config)
        self._record(request, reply, usage.to_dict(), config)
        return reply

    def _record(
        self,
        request: dict[str, Any],
        reply: Any,
        usage: dict[str, Any],
        config: dict[str, Any],
        *,
        replayed: bool = False,
    ) -> None:
        data: dict[str, Any] = {
            "kind": "model",
            "role": self.binding.role,
            "provider": self.endpoint.provider,
            "request": request,
            "reply": reply_fields(reply),
            "usage": usage,
        }
        if replayed:
            data["replayed"] = True
        self.scope.report(RECORDING, data, config)

    def _replayed(
        self, found: dict[str, Any], request: dict[str, Any], config: dict[str, Any]
    ) -> Any:
        """The recorded reply as this call's; its usage reported as recorded, not spent."""
        from langchain_core.messages import AIMessage

        reply = AIMessage(**dict(found.get("reply") or {"content": ""}))
        usage = dict(found.get("usage") or {})
        self.scope.report(RECORDED_USAGE, {**usage, "reply_id": reply.id}, config)
        self._record(request, reply, usage, config, replayed=True)
        return reply

    def _error(self, kind: str, detail: str, attempts: int, timeout: float) -> ProviderError:
        ep = self.endpoint
        role = self.binding.role
        label = LABELS.get(ep.kind, ep.provider)
        where = f"{label} at {ep.base_url}"
        conf = self.scope.runtime.config_name
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        messages = {
            "unavailable": (
                f"{label} is not reachable at {ep.base_url}: start it with 'ollama serve' "
                f"or set {ep.config_key}.base_url in {conf}"
                if ep.kind == "ollama" and "status" not in detail
                else f"{where} is unavailable ({detail}; {tries}): check that it runs, "
                f"or set {ep.config_key}.base_url in {conf}"
            ),
            "auth": f"{where} refused the API key ({detail}): set {ep.config_key}.api_key "
            f"in {conf} (e.g. from an environment variable)",
            "rate_limit": f"{where} rate-limited {ep.model} ({detail}; {tries}): wait, "
            f"lower the request rate, or add fallbacks under agents.{role}.fallbacks",
            "timeout": f"{where} did not answer {ep.model} within {timeout:g} s ({tries}): "
            f"raise {ep.config_key}.timeout_s or agents.{role}.timeout_s",
            "context_length": f"the prompt of {role!r} does not fit the context window of "
            f"{ep.model} ({detail}): shorten the task or choose a model with a larger window",
            "malformed_output": f"{where} sent a reply that is not valid Chat Completions "
            f"JSON ({detail}; {tries})",
            "bad_request": f"{where} rejected the request for {ep.model} ({detail})"
            + (f": pull the model with 'ollama pull {ep.model}'" if ep.kind == "ollama" else ""),
        }
        return ProviderError(
            kind,  # type: ignore[arg-type]
            messages.get(kind, f"{where}: {detail}"),
            provider=ep.provider,
            model=ep.model,
            role=role,
            attempts=attempts,
        )


def classify(exc: BaseException) -> tuple[str, float | None, str]:
    """The canonical kind of a failed call, the server's Retry-After (seconds) and a
    short description."""
    import openai

    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return "timeout", None, "timed out"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = f"status {status}: {_api_message(exc)}"
        if status in (401, 403):
            return "auth", None, detail
        if status == 429:
            return "rate_limit", _retry_after(exc), detail
        if status == 408 or status >= 500:
            return "unavailable", _retry_after(exc), detail
        code = str(getattr(exc, "code", "") or "")
        text = _api_message(exc).lower()
        if "context_length" in code or "context length" in text or "maximum context" in text:
            return "context_length", None, detail
        return "bad_request", None, detail
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return "unavailable", None, f"connection failed: {type(cause or exc).__name__}"
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError | ValueError):
        return "malformed_output", None, f"{type(exc).__name__}: {str(exc)[:200]}"
    if isinstance(exc, ProviderError):
        return exc.kind, None, exc.message
    raise exc


def backoff(attempt: int, retry_after: float | None, cap: float) -> float:
    """Seconds to wait before attempt ``attempt + 1``: the server's Retry-After when it
    gave one, else exponential with full jitter; never more than ``cap``."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    return random.uniform(0, min(cap, BACKOFF_BASE_S * 2 ** (attempt - 1)))


def usage_of(reply: Any, endpoint: Endpoint, duration_ms: float, attempts: int) -> Usage:
    """The usage the endpoint reported for ``reply`` (zeros when it reported none)."""
    meta: Mapping[str, Any] = getattr(reply, "usage_metadata", None) or {}
    details: Mapping[str, Any] = meta.get("input_token_details") or {}
    response: Mapping[str, Any] = getattr(reply, "response_metadata", None) or {}
    extra: dict[str, Any] = {"attempts": attempts} if attempts > 1 else {}
    if not meta:
        extra["reported"] = False
    return Usage(
        input_tokens=int(meta.get("input_tokens") or 0),
        output_tokens=int(meta.get("output_tokens") or 0),
        total_tokens=int(meta.get("total_tokens") or 0),
        cache_read_tokens=int(details.get("cache_read") or 0),
        cache_write_tokens=int(details.get("cache_creation") or 0),
        model=str(response.get("model_name") or endpoint.model),
        provider=endpoint.provider,
        duration_ms=duration_ms,
        extra=extra,
    )


#: The fields of an AI message a recording keeps (and a replay gives back).
REPLY_FIELDS = (
    "content",
    "additional_kwargs",
    "response_metadata",
    "name",
    "id",
    "tool_calls",
    "invalid_tool_calls",
    "usage_metadata",
)


def reply_fields(reply: Any) -> dict[str, Any]:
    """A model's reply as a recording keeps it (JSON; redacted when reported)."""
    from ..jsonable import to_jsonable

    out: dict[str, Any] = {}
    for name in REPLY_FIELDS:
        value = getattr(reply, name, None)
        if value is not None:
            out[name] = to_jsonable(value)
    return out


def _schema_name(name: str) -> str:
    """A schema name as OpenAI accepts it (``[a-zA-Z0-9_-]``, 64 at most)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "answer"


def _tagged(config: dict[str, Any], role: str, endpoint: Endpoint) -> dict[str, Any]:
    """The node's config for a model call, with metadata naming the agent."""
    meta = {
        **(config.get("metadata") or {}),
        "lgp_agent": role,
        "lgp_provider": endpoint.provider,
        "lgp_model": endpoint.model,
    }
    return {**config, "metadata": meta}


def _text(message: Any) -> str:
    content = getattr(message, "content", "")
    if isinstance(content, str):
        return content
    parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
    return "".join(parts)


def _rough_tokens(messages: list[Any]) -> int:
    """About how many tokens the prompt is (4 characters a token), for the budget."""
    return sum(len(_text(m)) for m in messages) // 4 + 1


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return str(getattr(exc, "message", exc))[:300]


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    raw = response.headers.get("retry-after") if response is not None else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
