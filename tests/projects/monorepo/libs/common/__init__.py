"""Helpers shared by every app of the monorepo (a plain folder, no packaging)."""

from common.text import slugify

__all__ = ["slugify"]
