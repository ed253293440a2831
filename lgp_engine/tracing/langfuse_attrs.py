"""Langfuse's span attributes: their names (as ``langfuse.LangfuseOtelSpanAttributes``
has them; a test checks) and an observation's attributes written as the SDK's own
observation classes write them. No SDK import here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Langfuse's span attribute names (langfuse.LangfuseOtelSpanAttributes)
TRACE_NAME = "langfuse.trace.name"
TRACE_SESSION_ID = "session.id"
TRACE_TAGS = "langfuse.trace.tags"
TRACE_METADATA = "langfuse.trace.metadata"
OBSERVATION_TYPE = "langfuse.observation.type"
OBSERVATION_INPUT = "langfuse.observation.input"
OBSERVATION_OUTPUT = "langfuse.observation.output"
OBSERVATION_METADATA = "langfuse.observation.metadata"
OBSERVATION_LEVEL = "langfuse.observation.level"
OBSERVATION_STATUS_MESSAGE = "langfuse.observation.status_message"
OBSERVATION_MODEL = "langfuse.observation.model.name"
OBSERVATION_USAGE_DETAILS = "langfuse.observation.usage_details"
OBSERVATION_COST_DETAILS = "langfuse.observation.cost_details"
ENVIRONMENT = "langfuse.environment"
AS_ROOT = "langfuse.internal.as_root"


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def as_json(value: Any) -> str:
    """A value as the SDK serializes one (compact JSON, strings included)."""
    return _ENCODER.encode(value)


def _payload(value: Any) -> str:
    """An input or output as the SDK writes one: a string as it is, else JSON."""
    return value if isinstance(value, str) else as_json(value)


def metadata_attributes(prefix: str, metadata: Mapping[str, Any]) -> dict[str, str]:
    """``metadata`` as attributes, one per key (None values left out, as the SDK does)."""
    return {f"{prefix}.{k}": as_json(v) for k, v in metadata.items() if v is not None}


def observation(
    *,
    kind: str | None = None,
    input: Any = None,  # noqa: A002 - the SDK's name
    output: Any = None,
    metadata: Mapping[str, Any] | None = None,
    level: str | None = None,
    status_message: str | None = None,
    model: str | None = None,
    usage_details: Mapping[str, int] | None = None,
    cost_details: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The attributes of an observation (what is None is left out), as the SDK's
    ``start_observation``/``update`` write them."""
    plain = {
        OBSERVATION_TYPE: kind,
        OBSERVATION_LEVEL: level,
        OBSERVATION_STATUS_MESSAGE: status_message,
        OBSERVATION_MODEL: model,
    }
    encoded = {
        OBSERVATION_INPUT: input,
        OBSERVATION_OUTPUT: output,
        OBSERVATION_USAGE_DETAILS: usage_details,
        OBSERVATION_COST_DETAILS: cost_details,
    }
    out: dict[str, Any] = {k: v for k, v in plain.items() if v is not None}
    out.update({k: _payload(v) for k, v in encoded.items() if v is not None})
    if metadata:
        out.update(metadata_attributes(OBSERVATION_METADATA, metadata))
    return out
