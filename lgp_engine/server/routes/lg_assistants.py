"""LangGraph Agent Server compatible routes (filled in by the compat work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
