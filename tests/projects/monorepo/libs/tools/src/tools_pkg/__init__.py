"""Pricing tools."""

from .pricing import quote

__all__ = ["quote"]
