"""The tokens and cost of a run as the HTTP API answers them (both APIs).

A run record keeps the usage the runner summed (:class:`lgp_engine.events.UsageTotals`
without the per-call list); clients get it as :class:`RunUsage`: every count present,
and nothing a damaged or older record holds besides them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ModelUsage(BaseModel):
    """Tokens, calls and USD of model calls, as the endpoints reported them and the
    price table priced them (local models cost 0)."""

    # every field is in every answer (the defaults only fill in what a record lacks)
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    input_tokens: int = Field(0, ge=0, description="Prompt tokens, cached ones included.")
    output_tokens: int = Field(0, ge=0)
    total_tokens: int = Field(0, ge=0)
    cache_read_tokens: int = Field(0, ge=0, description="Input tokens served from a cache.")
    cache_write_tokens: int = Field(0, ge=0)
    cost_usd: float = Field(0.0, ge=0)
    calls: int = Field(0, ge=0, description="How many model calls.")


class SubscriptionCost(BaseModel):
    """What a run costs when its agent is billed by a fixed monthly subscription."""

    cost_model: str = Field("fixed_subscription")
    monthly_cost: float = Field(ge=0, description="USD a month.")
    workflow_invocations: int = Field(ge=1, description="Runs of the workflow this month.")
    cost_per_invocation: float = Field(ge=0, description="monthly_cost / workflow_invocations.")


class RunUsage(ModelUsage):
    """The model calls of a run: totals, and the same by ``provider:model``."""

    by_model: dict[str, ModelUsage] = Field(
        default_factory=dict, description="By ``provider:model`` (``openai:gpt-4o-mini``)."
    )
    subscription: SubscriptionCost | None = Field(
        None, description="Set when the run's agent is billed by a fixed subscription."
    )


def public_usage(raw: Any) -> dict[str, Any] | None:
    """A run record's usage as :class:`RunUsage` JSON; None when it has none (or the
    record holds something that is not a usage total)."""
    if not isinstance(raw, dict):
        return None
    try:
        return RunUsage.model_validate(raw).model_dump()
    except ValidationError:
        return None
