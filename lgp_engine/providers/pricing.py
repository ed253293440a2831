"""What a model call costs: the bundled price table, extended by config.

Prices are USD per million tokens (``pricing.yaml`` beside this module, then the
``pricing:`` section of the environment's config). Cached input tokens are priced
at the cached rate when the table has one; local endpoints cost $0. The same rows
say each model's context window (``context_window``, from its model card).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources

import yaml

from .base import Usage
from .settings import PriceSettings


@functools.cache
def bundled_prices() -> dict[str, PriceSettings]:
    """The table that ships with the package."""
    text = resources.files(__package__).joinpath("pricing.yaml").read_text(encoding="utf-8")
    return {name: PriceSettings(**row) for name, row in (yaml.safe_load(text) or {}).items()}


class PriceTable:
    """Prices by model name: the bundled table with ``overrides`` on top."""

    def __init__(self, overrides: Mapping[str, PriceSettings] | None = None) -> None:
        bundled = bundled_prices()
        self.prices = {**bundled, **(overrides or {})}
        for name, price in (overrides or {}).items():  # a new price keeps the known window
            known = bundled.get(name)
            if price.context_window is None and known is not None and known.context_window:
                self.prices[name] = price.model_copy(
                    update={"context_window": known.context_window}
                )
        # longest names first, so `gpt-4o-mini-2024...` finds gpt-4o-mini before gpt-4o
        self._prefixes = sorted(self.prices, key=len, reverse=True)

    def find(self, model: str | None) -> PriceSettings | None:
        """The price of ``model``: exact name, else the longest listed prefix."""
        if not model:
            return None
        if model in self.prices:
            return self.prices[model]
        bare = model.rsplit("/", 1)[-1]  # "openai/gpt-4o" as some gateways name it
        for name in self._prefixes:
            if bare.startswith(name):
                return self.prices[name]
        return None

    def context_window(self, model: str | None) -> int | None:
        """The tokens one call of ``model`` takes in (prompt and answer), if the table
        knows: found as :meth:`find` finds prices (a config entry may add it)."""
        price = self.find(model)
        return price.context_window if price is not None else None

    def cost(
        self,
        model: str | None,
        input_tokens: int,
        output_tokens: int,
        *,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float | None:
        """USD for these tokens on ``model``; None when the model is not priced.

        ``input_tokens`` includes the cached ones (as OpenAI reports them)."""
        price = self.find(model)
        if price is None:
            return None
        cached_rate = price.cached_input_per_million
        cached = min(cache_read_tokens, input_tokens) if cached_rate is not None else 0
        usd = (input_tokens - cached) * price.input_per_million
        usd += cached * (cached_rate or 0.0)
        usd += cache_write_tokens * (price.cache_write_per_million or 0.0)
        usd += output_tokens * price.output_per_million
        return usd / 1_000_000

    def price_usage(self, usage: Usage, *, local: bool) -> Usage:
        """``usage`` with its cost filled in (``cost_model`` says how)."""
        if local:
            return replace(usage, cost_usd=0.0, cost_model="local")
        usd = self.cost(
            usage.model,
            usage.input_tokens,
            usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
        )
        if usd is None:
            return replace(usage, cost_usd=0.0, cost_model="unpriced")
        return replace(usage, cost_usd=usd, cost_model="per_token")


def format_usd(amount: float) -> str:
    """``$0.00`` for nothing, more digits for the small amounts models cost."""
    if amount == 0:
        return "$0.00"
    if amount < 0.01:
        return f"${amount:.6f}"
    return f"${amount:.4f}" if amount < 1 else f"${amount:.2f}"
