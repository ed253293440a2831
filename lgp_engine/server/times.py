"""Times in responses: one format everywhere, ISO 8601 in UTC (``...+00:00``)."""

from __future__ import annotations

import datetime as dt


def iso(value: float | dt.datetime | None) -> str | None:
    """An ISO 8601 UTC time from epoch seconds or a datetime (None stays None)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    return dt.datetime.fromtimestamp(value, dt.UTC).isoformat()


def now_iso() -> str:
    """Now, as :func:`iso` writes it."""
    return dt.datetime.now(dt.UTC).isoformat()
