"""Self-healing: which failures a run retries from its last checkpoint, and when.

A run that fails because something outside it failed for a while (a provider's
``rate_limit``, ``unavailable``, ``timeout`` or ``stalled``, a lost database
connection) is continued from its last checkpoint by the runner, after an
exponential backoff with jitter, at most ``max_retries`` times; LangGraph does not
run again the nodes whose writes were saved. A bug in a node (any other error) is
not retried: it would fail the same way.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings

#: Provider error kinds that may pass by themselves.
RETRYABLE_KINDS = frozenset({"rate_limit", "unavailable", "timeout", "stalled"})

#: Database errors of a lost or refused connection (not of a bad statement).
_CONNECTION_ERRORS = frozenset({"OperationalError", "InterfaceError", "AdminShutdown"})
_CONNECTION_WORDS = re.compile(
    r"connect|closed|terminat|server|database is locked|timeout|broken pipe", re.IGNORECASE
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon a failed run is retried (``runs.max_retries``,
    ``runs.retry_backoff_s``, ``runs.retry_backoff_max_s``)."""

    max_retries: int = 3
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        runs = settings.runs
        return cls(runs.max_retries, runs.retry_backoff_s, runs.retry_backoff_max_s)

    def delay(self, attempt: int) -> float:
        """Seconds before retry ``attempt`` (1, 2...): the base doubled each time, capped,
        then between half and all of it (jitter: replicas retrying together spread out)."""
        ceiling = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        return round(ceiling * random.uniform(0.5, 1.0), 3)


def retryable(failure: Mapping[str, Any]) -> bool:
    """Whether a ``run.failed`` payload is a failure that may pass by itself."""
    if failure.get("kind") in RETRYABLE_KINDS:
        return True
    return failure.get("error_type") in _CONNECTION_ERRORS and bool(
        _CONNECTION_WORDS.search(str(failure.get("message") or ""))
    )
